"""A finished run's test confusion matrix, with the most-confused pairs and
per-class accuracy beside class size (does the imbalance hurt?)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from kerasketch.errors import KerasketchError
from kerasketch.runs import confusion, folders
from kerasketch.runs.documents import Evaluation

from .. import fmt
from ..present import imbalance_short
from ..runstate import RunState
from ..store import RunStore
from ..widgets.class_tables import ConfusedPairsTable, PerClassTable
from ..widgets.heatmap import ConfusionHeatmap


def read_evaluation(state: RunState) -> Evaluation | None:
    """eval.json where it can be read (the matrix is shown without it otherwise)."""
    if state.run_dir is None:
        return None
    try:
        return folders.read_evaluation(state.run_dir)
    except KerasketchError:
        return None


def read_confusion(state: RunState) -> tuple[list[str], list[list[int]]] | str:
    """(class names, rows of counts), or why there is none."""
    if state.run_dir is None:
        return "this run has no folder"
    try:
        loaded = folders.read_confusion(state.run_dir)
    except KerasketchError as err:
        return err.message
    if loaded is None:
        return "no confusion matrix yet: a run writes confusion.csv when it finishes (evaluation on the test split)"
    return loaded


class ConfusionScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "sort", "Sort classes"),
        Binding("d", "diagonal", "Diagonal", show=False),
    ]

    def __init__(self, key: str, store: RunStore):
        super().__init__()
        self.key = key
        self.store = store
        self.state: RunState | None = None

    def compose(self) -> ComposeResult:
        self.state = self.store.get(self.key)
        state = self.state
        yield Header()
        loaded = read_confusion(state) if state is not None else "the run is gone"
        evaluation = read_evaluation(state) if state is not None else None
        yield Static(self._title(state, evaluation), id="confusion-title")
        if isinstance(loaded, str):
            yield Static(Text(loaded, style="yellow"), id="confusion-missing")
            yield Footer(compact=True)
            return
        names, matrix = loaded
        per_class: list[Any] = (evaluation or {}).get("per_class") or [
            {
                "class": n,
                "train_count": None,
                "test_support": sum(row),
                "accuracy": (row[i] / sum(row)) if sum(row) else None,
            }
            for i, (n, row) in enumerate(zip(names, matrix))
        ]
        with Horizontal(id="confusion-body"):
            with Vertical(id="matrix-panel"):
                yield ConfusionHeatmap(names, matrix, id="heatmap")
                yield Static(id="cell-info")
            with Vertical(id="class-panel"):
                imbalance = dict((evaluation or {}).get("imbalance") or {})
                yield Static(imbalance_short(imbalance.get("spearman_size_vs_accuracy"), imbalance), id="imbalance")
                yield ConfusedPairsTable(confusion.most_confused(names, matrix, n=20), id="pairs")
                yield PerClassTable(per_class, id="per-class")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self.query("#heatmap"):
            self.query_one("#matrix-panel").border_title = "Confusion matrix"
            self.query_one("#matrix-panel").border_subtitle = "colour: share of the row"
            self.query_one("#pairs").border_title = "most confused"
            self.query_one("#per-class").border_title = "per class (s: sort)"
            heatmap = self.query_one(ConfusionHeatmap)
            heatmap.focus()
            self._describe(heatmap, *heatmap.cursor)

    def _title(self, state: RunState | None, evaluation: Evaluation | None) -> Text:
        if state is None:
            return Text("unknown run", style="red")
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(state.name, style="bold")
        test = (evaluation or {}).get("test") or {}
        if test:
            text.append(f" · test acc {fmt.num(test.get('accuracy'))} · {test.get('samples', '?')} drawings")
        if state.synthetic:
            text.append(" · SYNTHETIC", style="yellow")
        return text

    def _describe(self, heatmap: ConfusionHeatmap, row: int, col: int) -> None:
        if not heatmap.n:
            return
        count, total = heatmap.matrix[row][col], heatmap.row_sums[row]
        verdict = "correct" if row == col else "confused" if count else "never confused"
        info = Text()
        info.append(f"{heatmap.names[row]} → {heatmap.names[col]}: ", style="bold")
        info.append(f"{count} of {total} ({fmt.pct(count / total) if total else '-'}) {verdict}")
        self.query_one("#cell-info", Static).update(info)

    def on_confusion_heatmap_cell_highlighted(self, event: ConfusionHeatmap.CellHighlighted) -> None:
        self._describe(event.heatmap, event.row, event.col)

    def action_sort(self) -> None:
        if not self.query("#per-class"):
            return
        table = self.query_one(PerClassTable)
        order = PerClassTable.SORTS
        table.sort_rows(order[(order.index(table.sort_by) + 1) % len(order)])
        self.notify(f"classes sorted by {table.sort_by.replace('_', ' ')}", timeout=2)

    def action_diagonal(self) -> None:
        if self.query("#heatmap"):
            self.query_one(ConfusionHeatmap).action_diagonal()
