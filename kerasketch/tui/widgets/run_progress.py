"""Where a run is: its status in words, the epoch and the step within it, best so far, patience left."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from kerasketch.runs.events import Status

from .. import fmt
from ..runstate import RunState


def progress_text(state: RunState, width: int = 80) -> Text:
    text = Text()
    planned = state.epochs_planned
    if state.status in (Status.STARTING, Status.PREPARING):
        # The child's own words say more than "preparing": "preparing data", "reading cat.npy 3/10".
        text.append(f"… {state.message or 'starting Python and Keras'}", style=fmt.status_style(state.status))
        text.append("\nthe first epoch starts once the data is ready and Keras is loaded", style="dim")
        return text
    text.append(state.status_label, style=fmt.status_style(state.status))
    if state.active and planned:
        batch = state.batch if state.batch and state.batch.epoch > state.epochs_done else None
        epoch = batch.epoch if batch else min(state.epochs_done + 1, planned)
        steps = (batch.steps if batch else None) or state.steps
        share = batch.step / max(steps or 1, 1) if batch else 0.0
        text.append(f"  epoch {epoch}/{planned} ")
        text.append(fmt.bar(share, max(min(width - 60, 30), 8)), style="green")
        text.append(f" step {batch.step if batch else 0}/{steps or '?'}")
        if batch:
            m = batch.metrics
            text.append(f"  loss {fmt.num(m.get('loss'))}  acc {fmt.num(m.get('accuracy'))}", style="dim")
    else:
        text.append(f"  {state.epochs_done}/{planned or '?'} epochs")
        if state.seconds is not None:
            text.append(f" in {fmt.seconds(state.seconds)}")
    text.append("\n")
    if state.best_val_accuracy is not None:
        text.append("best val_acc ")
        text.append(fmt.num(state.best_val_accuracy), style="bold")
        text.append(f" at epoch {state.best_epoch}")
    else:
        text.append("best val_acc -", style="dim")
    if state.patience_left is not None:
        total = state.patience
        text.append(f" · patience left {state.patience_left}" + (f" of {total}" if total is not None else ""))
    if state.test_accuracy is not None:
        text.append(" · test acc ")
        text.append(fmt.num(state.test_accuracy), style="bold")
    if state.active and state.message and state.message != "training":
        text.append(f" · {state.message}", style="italic")
    return text


class RunProgress(Static):
    """Two fixed lines, redrawn only when their text changes and without a new layout:
    this is what moves with every batch event, so it must cost next to nothing."""

    DEFAULT_CSS = """
    RunProgress { height: 2; }
    """

    _last: Text | None = None

    def show(self, state: RunState) -> None:
        text = progress_text(state, self.size.width or 80)
        if text != self._last:
            self._last = text
            self.update(text, layout=False)
