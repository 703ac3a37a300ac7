"""One run, live or past: progress, curves, the epoch table, evaluation, config and log.

A past run is replayed from its ``events.jsonl`` into the same state a live
run builds, so both look the same. Live updates arrive through
:meth:`RunScreen.runs_changed`, already throttled by the app; the curves and
the table are touched only when an epoch ends, the progress line per batch.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Log, Static, TabbedContent, TabPane

from kerasketch.errors import KerasketchError
from kerasketch.runs import folders
from kerasketch.runs.documents import Evaluation

from .. import batch_loss, fmt
from ..messages import OpenConfusion, OpenPad, StopRun, WriteReport
from ..present import (
    FAILED,
    TRAIN,
    accuracy_series,
    config_text,
    empty_chart,
    error_text,
    evaluation_text,
    log_lines,
    loss_series,
    problems_text,
    processes_text,
    system_text,
)
from ..runstate import RunState
from ..store import RunStore
from ..widgets.epoch_table import EpochTable
from ..widgets.line_chart import LineChart, Series
from ..widgets.run_progress import RunProgress

ZOOMS = (None, 20, 10)  # all epochs, the last 20, the last 10


def read_evaluation(state: RunState) -> Evaluation | str | None:
    """eval.json, why it cannot be read, or None (no folder, or not evaluated yet)."""
    if state.run_dir is None:
        return None
    try:
        return folders.read_evaluation(state.run_dir)
    except KerasketchError as err:
        return err.message


class RunScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("x", "stop", "Stop run"),
        Binding("c", "confusion", "Confusion"),
        Binding("p", "pad", "Sketch pad"),
        Binding("z", "zoom", "Zoom"),
        Binding("e", "report", "Report"),
        Binding("left_square_bracket", "smoothing(-1)", "Smooth less", show=False),
        Binding("right_square_bracket", "smoothing(1)", "Smooth more", show=False),
        Binding("1", "tab('training')", "Training", show=False),
        Binding("2", "tab('evaluation')", "Evaluation", show=False),
        Binding("3", "tab('config')", "Config", show=False),
        Binding("4", "tab('log')", "Log", show=False),
        Binding("5", "tab('batches')", "Batch loss", show=False),
    ]

    def __init__(self, key: str, store: RunStore):
        super().__init__()
        self.key = key
        self.store = store
        self._epochs_shown = -1
        self._best_shown: int | None = None
        self._status_shown: tuple = ()
        self._title_shown: Text | None = None
        self._zoom = 0
        self.smoothing = batch_loss.DEFAULT_SMOOTHING
        self._batches_shown = -1

    @property
    def state(self) -> RunState | None:
        return self.store.get(self.key)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="run-title")
        with TabbedContent(id="run-tabs", initial="training"):
            with TabPane("1 Training", id="training"):
                yield RunProgress(id="progress")
                with VerticalScroll(id="error-panel"):
                    yield Static(id="error-text")
                with Horizontal(id="charts"):
                    yield LineChart("loss", id="loss-chart")
                    yield LineChart("accuracy", bounds=(0.0, 1.0), id="acc-chart")
                yield EpochTable(id="epochs")
                yield Static(id="system-line")
            with TabPane("2 Evaluation", id="evaluation"), VerticalScroll():
                yield Static(id="evaluation-text")
            with TabPane("3 Config", id="config"), VerticalScroll():
                yield Static(id="config-text")
            with TabPane("4 Log", id="log"):
                yield Log(id="log-view", max_lines=2000)
            with TabPane("5 Batch loss", id="batches"):
                yield Static(id="batch-note")
                yield LineChart("training loss per batch", id="batch-chart")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_all()
        self.query_one(EpochTable).focus()

    # -- updates -------------------------------------------------------------

    def runs_changed(self, keys: set[str] | None) -> None:
        if keys is None or self.key in keys:
            self.refresh_all()

    def on_screen_resume(self) -> None:
        # Only the screen in front is told about changes; catch up when back in front.
        self.refresh_all()

    def refresh_all(self) -> None:
        state = self.state
        if state is None:
            self.query_one("#run-title", Static).update(Text("This run is no longer in the runs folder.", style="red"))
            return
        title = self._title(state)
        if title != self._title_shown:  # fixed height: no new layout needed
            self._title_shown = title
            self.query_one("#run-title", Static).update(title, layout=False)
        self.query_one(RunProgress).show(state)
        if len(state.batch_losses) != self._batches_shown:
            self._draw_batches(state)
        if len(state.epochs) != self._epochs_shown or state.best_epoch != self._best_shown:
            self._epochs_shown, self._best_shown = len(state.epochs), state.best_epoch
            self.query_one(EpochTable).sync(state)
            self._draw_charts(state)
            self._show_system(state)
        # The end event and the child's exit (which brings its stderr, the log of a run
        # that failed before it had a folder) arrive in either order: redraw on both.
        status = (state.status, state.returncode, len(state.problems))
        if status != self._status_shown:
            self._status_shown = status
            self._draw_charts(state)
            failed = state.status in FAILED
            panel = self.query_one("#error-panel")
            panel.display = failed or bool(state.problems)
            if failed:
                self.query_one("#error-text", Static).update(error_text(state))
            elif state.problems:
                self.query_one("#error-text", Static).update(problems_text(state))
            self.query_one("#evaluation-text", Static).update(evaluation_text(state, read_evaluation(state)))
            self.query_one("#config-text", Static).update(config_text(state))
            self._load_log(state)

    def _title(self, state: RunState) -> Text:
        original = state.config.get("recipe", {}).get("original") or {}
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(state.name, style="bold")
        if state.recipe != "?" and not state.name.startswith(state.recipe):
            title.append(f" · {state.recipe}")
        if original:
            title.append(
                f" · {original.get('loss')}, {original.get('optimizer')} · original val_acc {fmt.num(original.get('val_acc'))}",
                style="dim",
            )
        if state.backend:
            title.append(f" · {state.backend}", style="dim")
        if state.world_size > 1:
            title.append(f" · {processes_text(state.config)}", style="dim")
        title.append("\n")
        title.append(fmt.data_summary(state.dataset), style="yellow" if state.synthetic else "")
        return title

    def _draw_charts(self, state: RunState) -> None:
        empty = empty_chart(state)
        self.query_one("#loss-chart", LineChart).set_data(loss_series(state), state.best_epoch, empty=empty)
        self.query_one("#acc-chart", LineChart).set_data(accuracy_series(state), state.best_epoch, empty=empty)

    def _draw_batches(self, state: RunState) -> None:
        """The loss of the batches between batch events, raw (dim) and as an EMA."""
        self._batches_shown = len(state.batch_losses)
        raw = batch_loss.interval_losses(state.batch_losses)
        smooth = batch_loss.ema(raw, self.smoothing)
        series = [Series("raw", "#6c757d", list(raw))]
        if self.smoothing:
            series.append(Series(f"EMA {self.smoothing:g}", TRAIN, list(smooth)))
        epochs = sorted({e for e, _, _ in state.batch_losses})
        span = f"epochs {epochs[0]}-{epochs[-1]}" if len(epochs) > 1 else f"epoch {epochs[0]}" if epochs else ""
        note = Text(no_wrap=True, overflow="ellipsis")
        note.append(f"smoothing: EMA {self.smoothing:g}", style="bold")
        note.append("  ([ less, ] more)", style="dim")
        note.append(f"  ·  {len(raw)} batch events{', ' + span if span else ''}, the mean loss since the last one")
        self.query_one("#batch-note", Static).update(note)
        empty = "waiting for the first batches…" if state.active else "this run recorded no batch events"
        self.query_one("#batch-chart", LineChart).set_data(series, None, empty=empty)

    def action_smoothing(self, direction: int) -> None:
        self.smoothing = batch_loss.step_smoothing(self.smoothing, direction)
        state = self.state
        if state is not None:
            self._draw_batches(state)

    def action_report(self) -> None:
        self.post_message(WriteReport([self.key]))

    def _load_log(self, state: RunState) -> None:
        log = self.query_one("#log-view", Log)
        log.clear()
        lines = log_lines(state)
        log.write_lines(lines or ["(no log yet)"])

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # The log of a live run grows; read it again when it is looked at.
        state = self.state
        if state is not None and event.pane.id == "log":
            self._load_log(state)
        elif state is not None and event.pane.id == "evaluation":
            self.query_one("#evaluation-text", Static).update(evaluation_text(state, read_evaluation(state)))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one(EpochTable)
        if event.data_table is not table:
            return
        last = table.cursor_row >= table.row_count - 1
        selected = None if last else table.selected_epoch
        for chart in self.query(LineChart):
            chart.selected = selected
        state = self.state
        if state is not None:
            self._show_system(state, table.selected_epoch)

    def _show_system(self, state: RunState, epoch: int | None = None) -> None:
        """The system figures of the highlighted epoch (the last one by default); hidden for runs without them."""
        chosen = state.epochs.get(epoch) if epoch is not None else None
        text = system_text(chosen or (state.epoch_list[-1] if state.epoch_list else None), state.world_size)
        line = self.query_one("#system-line", Static)
        line.display = text is not None
        if text is not None:
            line.update(text)

    # -- actions ---------------------------------------------------------------

    def action_stop(self) -> None:
        self.post_message(StopRun(self.key))

    def action_confusion(self) -> None:
        self.post_message(OpenConfusion(self.key))

    def action_pad(self) -> None:
        self.post_message(OpenPad(self.key))

    def action_zoom(self) -> None:
        self._zoom = (self._zoom + 1) % len(ZOOMS)
        for chart in self.query(LineChart):
            chart.window = ZOOMS[self._zoom]
        self.notify(
            f"curves: {'all epochs' if ZOOMS[self._zoom] is None else f'the last {ZOOMS[self._zoom]} epochs'}",
            timeout=2,
        )

    def action_tab(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane
