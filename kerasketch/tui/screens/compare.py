"""Runs side by side: their validation curves on shared axes and a table of what differs.

Opened from the history with 2 to 10 marked runs. Each run has one colour
and one number; the table's first column is the legend, and each curve
carries its run's number at its best epoch (the highest val_accuracy, the
lowest val_loss), so colour is never the only signal. Epochs are aligned:
the x axis is the epoch number, from 1 to the longest run's last. Live runs
grow as their epochs arrive, through :meth:`CompareScreen.runs_changed`, as
the run screen follows a run.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from .. import compare
from ..messages import OpenRun, WriteReport
from ..runstate import RunState
from ..store import RunStore
from ..widgets.compare_table import CompareRow, CompareTable, marker
from ..widgets.line_chart import LineChart, Series


class CompareScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("t", "toggle_training", "Train curves"),
        Binding("s", "sort", "Sort"),
        Binding("e", "report", "Report"),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (160, "-wide")]  # side by side once the table has 80 columns

    def __init__(self, keys: list[str], store: RunStore):
        super().__init__()
        self.keys = list(keys)
        self.store = store
        self.training = False
        self._results: dict[str, compare.Result] = {}  # of ended runs: their eval.json is read once

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="compare-body"):
            with Vertical(id="compare-charts"):
                yield LineChart("val_accuracy", bounds=(0.0, 1.0), legend=False, id="compare-acc")
                yield LineChart("val_loss", legend=False, id="compare-loss")
            with Vertical(id="compare-table-panel"):
                yield CompareTable(id="compare-table")
                yield Static(id="compare-note")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#compare-table-panel").border_title = f"{len(self.keys)} runs: what differs"
        self.refresh_all()
        self.query_one(CompareTable).focus()

    # -- updates ---------------------------------------------------------------

    def runs_changed(self, keys: set[str] | None) -> None:
        if keys is None or keys & set(self.keys):
            self.refresh_all()

    def on_screen_resume(self) -> None:
        self.refresh_all()

    def states(self) -> list[tuple[int, RunState]]:
        """(number, state) of each run still known, numbered in the order they were marked."""
        out = []
        for i, key in enumerate(self.keys, start=1):
            state = self.store.get(key)
            if state is not None:
                out.append((i, state))
        return out

    def refresh_all(self) -> None:
        runs = self.states()
        self._draw_charts(runs)
        labels_values = compare.differing([s.config for _, s in runs])
        labels = [label for label, _ in labels_values]
        rows = []
        for j, (number, state) in enumerate(runs):
            r = self._results.get(state.key) or compare.result(state)
            if not state.active:
                self._results[state.key] = r
            rows.append(
                CompareRow(
                    key=state.key,
                    number=number,
                    colour=compare.colour(number - 1),
                    name=state.name,
                    started=state.when,
                    settings=[values[j] for _, values in labels_values],
                    best=r.best_val_accuracy,
                    best_epoch=r.best_epoch,
                    test=r.test_accuracy,
                    top3=r.top3_accuracy,
                    seconds=r.seconds,
                )
            )
        self.query_one(CompareTable).show(labels, rows)
        going = sum(1 for _, s in runs if s.active)
        note = "digits on the curves: each run's best epoch" + (" · dashed: training" if self.training else "")
        if going:
            note += f" · {going} still running: the curves grow"
        if not labels:
            note += " · the runs share every setting"
        self.query_one("#compare-note", Static).update(note)

    def _draw_charts(self, runs: list[tuple[int, RunState]]) -> None:
        for chart_id, metric, lowest in (("#compare-acc", "accuracy", False), ("#compare-loss", "loss", True)):
            series: list[Series] = []
            for number, state in runs:
                values = state.series(f"val_{metric}")
                best = compare.best_of(values, lowest=lowest)
                c = compare.colour(number - 1)
                series.append(Series(state.name, c, values, mark=best[0] if best else None, marker=marker(number)))
                if self.training:
                    series.append(Series(f"{state.name} train", c, state.series(metric), dashed=True))
            chart = self.query_one(chart_id, LineChart)
            chart.title = f"val_{metric}" + (" · train dashed" if self.training else "")
            empty = "no epoch yet" if any(s.active for _, s in runs) else "no epoch was recorded"
            chart.set_data(series, None, empty=empty)

    # -- actions ---------------------------------------------------------------

    def action_toggle_training(self) -> None:
        self.training = not self.training
        self.refresh_all()

    def action_sort(self) -> None:
        title = self.query_one(CompareTable).next_sort()
        self.notify(f"sorted by {title}", timeout=2)

    def action_report(self) -> None:
        self.post_message(WriteReport([s.key for _, s in self.states()]))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if isinstance(event.data_table, CompareTable) and event.column_key.value:
            event.data_table.sort_by(event.column_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, CompareTable) and event.row_key.value:
            self.post_message(OpenRun(event.row_key.value))
