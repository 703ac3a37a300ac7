"""The first screen: the nine recipes above, every run below.

In a wide terminal a preview of the highlighted run (its progress and
accuracy curves) sits beside the runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

from ..widgets.line_chart import LineChart, Series
from ..widgets.recipe_table import RecipeTable
from ..widgets.run_progress import RunProgress
from ..widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from ..app import KerasketchApp

TRAIN, VAL = "#4ea8de", "#f4a261"  # blue and orange: told apart with most colour vision


def accuracy_series(state) -> list[Series]:
    return [Series("train", TRAIN, state.series("accuracy")), Series("val", VAL, state.series("val_accuracy"))]


def loss_series(state) -> list[Series]:
    return [Series("train", TRAIN, state.series("loss")), Series("val", VAL, state.series("val_loss"))]


class DashboardScreen(Screen):
    BINDINGS = [
        Binding("l", "launch", "Launch"),
        Binding("x", "stop", "Stop run"),
        Binding("c", "confusion", "Confusion"),
        Binding("s", "sort", "Sort"),
        Binding("r", "rescan", "Rescan", show=False),
        Binding("1", "focus('recipes')", "Recipes", show=False),
        Binding("2", "focus('runs')", "Runs", show=False),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    app: KerasketchApp

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="recipes-panel"):
            yield RecipeTable(self.app.recipes, id="recipes")
        with Horizontal(id="runs-row"):
            with Vertical(id="runs-panel"):
                yield RunsTable(id="runs")
            with Vertical(id="preview"):
                yield RunProgress(id="preview-progress")
                yield LineChart("loss", id="preview-loss")
                yield LineChart("accuracy", bounds=(0.0, 1.0), id="preview-accuracy")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#recipes-panel").border_title = "Recipes  (l or enter: launch)"
        self.query_one("#preview").border_title = "Selected run"
        self.query_one("#preview-progress", RunProgress).update("no run selected: the runs folder is empty")
        self.runs_changed(None)
        self.query_one(RecipeTable).focus()

    # -- updates from the app -----------------------------------------------

    def runs_changed(self, keys: set[str] | None) -> None:
        """Some runs changed (``keys``), or the list itself (None)."""
        store = self.app.store
        table = self.query_one(RunsTable)
        if keys is None:
            table.show(store.sorted(self.app.sort_by))
            table.set_sort_label(self.app.sort_by)
            self.query_one(RecipeTable).show_results(store.best_by_recipe(), store.counts_by_recipe())
            self._title_runs()
        else:
            for key in keys:
                state = store.get(key)
                if state is not None:
                    table.update_run(state)
        selected = table.selected_key
        if selected and (keys is None or selected in keys):
            self._preview(selected)

    def on_screen_resume(self) -> None:
        # Only the screen in front is told about changes; catch up when back in front.
        self.runs_changed(None)

    def _title_runs(self) -> None:
        store = self.app.store
        active = len(store.active())
        by = "best val_acc" if self.app.sort_by == "best" else "newest"
        title = f"Runs in {self.app.runs_dir}/  ({len(store.shown())}, {active} going; sorted by {by})"
        self.query_one("#runs-panel").border_title = title
        self.query_one("#runs-panel").border_subtitle = "enter: open · s: sort · x: stop · c: confusion"

    def _preview(self, key: str) -> None:
        state = self.app.store.get(key)
        if state is None or not self.query_one("#preview").display:
            return
        self.query_one("#preview-progress", RunProgress).show(state)
        empty = "waiting for the first epoch…" if state.active else "no epoch was recorded"
        self.query_one("#preview-loss", LineChart).set_data(loss_series(state), state.best_epoch, empty=empty)
        self.query_one("#preview-accuracy", LineChart).set_data(accuracy_series(state), state.best_epoch, empty=empty)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if isinstance(event.data_table, RunsTable) and event.row_key.value:
            self._preview(event.row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, RecipeTable):
            self.app.open_launch(event.row_key.value)
        elif isinstance(event.data_table, RunsTable) and event.row_key.value:
            self.app.open_run(event.row_key.value)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if isinstance(event.data_table, RunsTable) and event.column_key.value in ("best", "started"):
            self.app.set_sort(event.column_key.value)

    # -- actions ---------------------------------------------------------------

    def _selected_run(self) -> str | None:
        key = self.query_one(RunsTable).selected_key
        if key is None:
            self.notify("no run selected (the runs table is empty)", severity="warning")
        return key

    def action_launch(self) -> None:
        self.app.open_launch(self.query_one(RecipeTable).selected_recipe)

    def action_stop(self) -> None:
        if key := self._selected_run():
            self.app.stop_run(key)

    def action_confusion(self) -> None:
        if key := self._selected_run():
            self.app.open_confusion(key)

    def action_sort(self) -> None:
        self.app.set_sort("started" if self.app.sort_by == "best" else "best")

    def action_rescan(self) -> None:
        self.app.rescan(force=True)

    def action_focus(self, which: str) -> None:
        self.query_one(f"#{which}").focus()
