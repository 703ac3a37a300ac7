"""One row per finished epoch; the best epoch is marked in words, not only colour.

Rows are appended, never rebuilt. The cursor follows the newest epoch until
the user moves it elsewhere, then stays where they put it.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from .. import fmt
from ..runstate import RunState

COLUMNS = (
    ("epoch", "epoch", 5),
    ("loss", "loss", 7),
    ("acc", "acc", 7),
    ("val_loss", "val_loss", 8),
    ("val_acc", "val_acc", 7),
    ("lr", "lr", 7),
    ("time", "time", 7),
    ("", "best", 6),
)


class EpochTable(DataTable):
    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._best: int | None = None
        self._shown: list[int] = []

    def on_mount(self) -> None:
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def sync(self, state: RunState) -> None:
        follow = not self._shown or self.cursor_row >= len(self._shown) - 1
        for e in state.epoch_list:
            n = e.epoch
            if n in self._shown:
                continue
            m = e.metrics
            self.add_row(
                str(n),
                fmt.num(m.get("loss")),
                fmt.num(m.get("accuracy")),
                fmt.num(m.get("val_loss")),
                fmt.num(m.get("val_accuracy")),
                fmt.lr(e.lr),
                fmt.seconds(e.seconds),
                "",
                key=str(n),
            )
            self._shown.append(n)
        if state.best_epoch != self._best:
            if self._best in self._shown:
                self.update_cell(str(self._best), "best", "")
            if state.best_epoch in self._shown:
                self.update_cell(str(state.best_epoch), "best", Text("★ best", style="bold yellow"))
            self._best = state.best_epoch
        if follow and self._shown:
            self.move_cursor(row=len(self._shown) - 1, animate=False)

    @property
    def selected_epoch(self) -> int | None:
        if not self._shown:
            return None
        return self._shown[min(self.cursor_row, len(self._shown) - 1)]
