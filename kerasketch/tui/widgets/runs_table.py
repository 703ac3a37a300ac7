"""Every run: a mark (space), status in words (and colour), progress, the best and last
val_accuracy and val_loss, test accuracy, when it started, its data and its tags.

Rows are keyed by the store's run keys; a live run's row is updated in place
(no rebuild), so the cursor and the scroll position stay where the user left them.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from kerasketch.runs.events import Status
from kerasketch.training import datakey

from .. import fmt
from ..present import last_value, lowest_value
from ..runstate import RunState
from .keyed_table import KeyedTable

# At 80 columns the table shows up to the test accuracy; the losses and the start time scroll in.
COLUMNS = (
    ("◆", "mark", 1),
    ("status", "status", 13),
    ("recipe", "recipe", 16),
    ("epoch", "epoch", 9),
    ("best val", "best", 8),
    ("last val", "last", 8),
    ("test acc", "test", 8),
    ("min loss", "min_loss", 8),
    ("last loss", "last_loss", 9),
    ("started", "started", 11),
    ("data", "data", 30),  # in view from 200 columns (DashboardScreen -xwide); scrolls in below
    ("tags", "tags", 14),  # in view from 200 columns too; the preview shows them whole, and the note
)
MARK = Text("◆", style="bold magenta")  # not ✓: the status column says ✓ finished


def status_text(state: RunState) -> Text:
    return Text(state.status_label, style=fmt.status_style(state.status))


def epoch_text(state: RunState) -> str:
    planned = state.epochs_planned
    batch = state.batch
    if state.active and batch and batch.epoch > state.epochs_done and planned:
        text = f"{batch.epoch}/{planned} {fmt.pct(batch.step / max(batch.steps or state.steps or 1, 1))}"
        return text if len(text) <= 9 else f"{batch.epoch}/{planned}"  # never a cut-off number
    if state.status == Status.UNREADABLE:
        return "-"
    return f"{state.epochs_done}/{planned}" if planned else str(state.epochs_done)


def cells(state: RunState, marked: bool = False) -> dict[str, object]:
    return {
        "mark": MARK if marked else "",
        "status": status_text(state),
        "recipe": recipe_text(state),
        "epoch": epoch_text(state),
        "best": fmt.num(state.best_val_accuracy),
        "last": fmt.num(last_value(state, "val_accuracy")),
        "test": fmt.num(state.test_accuracy),
        "min_loss": fmt.num(lowest_value(state, "val_loss")),
        "last_loss": fmt.num(last_value(state, "val_loss")),
        "started": fmt.started(state.when),
        "data": data_text(state),
        "tags": annotations_text(state, note=False),
    }


def recipe_text(state: RunState) -> Text | str:
    recipe = state.name if state.status == Status.UNREADABLE else state.recipe
    return Text(recipe, style="dim italic") if state.archived else recipe  # the tags column says "archived"


def annotations_text(state: RunState, note: bool = True) -> Text:
    """Whether it is archived, its tags (#tag) and, with ``note``, its note: what ``kerasketch runs`` wrote."""
    out = Text(no_wrap=True, overflow="ellipsis")
    if state.archived:
        out.append("archived", style="italic")
    if state.tags:
        out.append(" " if out else "").append(" ".join(f"#{t}" for t in state.tags), style="bold cyan")
    if note and state.note:
        out.append(" · " if out else "").append(state.note, style="italic")
    return out


def data_text(state: RunState) -> Text | str:
    """What a run trained on, short: synthetic data and one-class runs must not pass for real ones."""
    if not state.config:
        return "-"
    key = datakey.of_config(state.config)
    classes = (state.dataset or state.config.get("dataset") or {}).get("num_classes")
    style = "bold yellow" if key.synthetic else "bold red" if classes == 1 else ""
    return Text(key.short, style=style) if style else key.short


class RunsTable(KeyedTable):
    BINDINGS = [Binding("space", "toggle_mark", "Mark")]

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.marked: list[str] = []  # in the order marked: the compare screen numbers them so
        self._keys: list[str] = []
        self._shown: dict[str, dict[str, object]] = {}  # what each row shows, to touch only what changed

    def on_mount(self) -> None:
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def show(self, states: list[RunState]) -> None:
        keys = [s.key for s in states]
        if keys == self._keys:
            for s in states:
                self.update_run(s)
            return
        selected = self.selected_key
        self.clear()
        self._shown = {}
        self.marked = [k for k in self.marked if k in keys]
        for s in states:
            c = cells(s, s.key in self.marked)
            self.add_row(*(c[key] for _, key, _ in COLUMNS), key=s.key)
            self._shown[s.key] = c
        self._keys = keys
        if selected in keys:
            self.move_cursor(row=keys.index(selected), animate=False)

    def update_run(self, state: RunState) -> None:
        if state.key not in self._keys:
            return
        shown = self._shown.setdefault(state.key, {})
        for key, value in cells(state, state.key in self.marked).items():
            if shown.get(key) != value:
                shown[key] = value
                self.update_cell(state.key, key, value)

    def action_toggle_mark(self) -> None:
        key = self.selected_key
        if key is None:
            return
        if key in self.marked:
            self.marked.remove(key)
        else:
            self.marked.append(key)
        self._shown.setdefault(key, {})["mark"] = MARK if key in self.marked else ""
        self.update_cell(key, "mark", self._shown[key]["mark"])
        self.post_message(self.MarksChanged(len(self.marked)))
        if self.cursor_row < self.row_count - 1:
            self.move_cursor(row=self.cursor_row + 1)  # as file managers do: mark, move on

    class MarksChanged(Message):
        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def set_sort_label(self, by: str) -> None:
        """Mark the sorted column in its header (▼), in text."""
        for label, key, _ in COLUMNS:
            column = self.columns.get(key)  # type: ignore[call-overload]
            if column is not None and key in ("best", "started"):
                sorted_here = (by == "best" and key == "best") or (by == "started" and key == "started")
                column.label = Text(label + (" ▼" if sorted_here else ""))
        self.refresh()
