"""The recipes: the original log's loss, optimiser and val_acc (a dash for ours) beside our best run
(its best val_acc and val_loss beside their last; those scroll in at 80 columns)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from kerasketch.recipes import registry
from kerasketch.recipes.base import Recipe

from .. import fmt
from ..present import last_value, lowest_value
from ..runstate import RunState

COLUMNS = (
    ("#", "n", 2),
    ("recipe", "recipe", 16),
    ("loss", "loss", 10),
    ("optimiser", "optimizer", 9),
    ("original", "original", 8),
    ("our best", "ours", 11),
    ("runs", "runs", 4),
    ("last val", "last", 8),
    ("min loss", "min_loss", 8),
    ("last loss", "last_loss", 9),
)


class RecipeTable(DataTable):
    DEFAULT_CSS = """
    RecipeTable { height: auto; max-height: 11; }
    """

    def __init__(self, recipes: list[Recipe], **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.recipes = recipes

    def on_mount(self) -> None:
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)
        for r in self.recipes:
            original = fmt.num(r.original.val_acc) if r.original else "-"  # ours have no original
            self.add_row(
                str(registry.number(r)),
                r.name,
                registry.loss_label(r),
                registry.optimizer_label(r),
                original,
                "-",
                "0",
                "-",
                "-",
                "-",
                key=r.name,
            )

    def show_results(self, best: dict[str, RunState], counts: dict[str, int]) -> None:
        """Our best val_acc per recipe ("syn": on the synthetic shapes, not comparable)."""
        for r in self.recipes:
            run = best.get(r.name)
            if run is None:
                ours = Text("-", style="dim")
            else:
                ours = Text(fmt.num(run.best_val_accuracy))
                if run.synthetic:
                    ours.append(" syn", style="dim")
            self.update_cell(r.name, "ours", ours)
            for key, value in (
                ("last", None if run is None else last_value(run, "val_accuracy")),
                ("min_loss", None if run is None else lowest_value(run, "val_loss")),
                ("last_loss", None if run is None else last_value(run, "val_loss")),
            ):
                self.update_cell(r.name, key, fmt.num(value))
            self.update_cell(r.name, "runs", str(counts.get(r.name, 0)))

    @property
    def selected_recipe(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
