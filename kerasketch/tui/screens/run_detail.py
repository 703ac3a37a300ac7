"""One run, live or past: progress, curves, the epoch table, evaluation, config and log.

A past run is replayed from its ``events.jsonl`` into the same state a live
run builds, so both look the same. Live updates arrive through
:meth:`RunScreen.runs_changed`, already throttled by the app; the curves and
the table are touched only when an epoch ends, the progress line per batch.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Log, Static, TabbedContent, TabPane

from kerasketch.training import rundir

from .. import fmt
from ..runstate import RunState
from ..widgets.epoch_table import EpochTable
from ..widgets.line_chart import LineChart
from ..widgets.run_progress import RunProgress
from .dashboard import accuracy_series, loss_series

if TYPE_CHECKING:
    from ..app import KerasketchApp

ZOOMS = (None, 20, 10)  # all epochs, the last 20, the last 10


def read_evaluation(state: RunState) -> dict[str, Any] | None:
    if state.run_dir is None:
        return None
    try:
        data = json.loads((state.run_dir / rundir.EVAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_log(state: RunState, lines: int = 200) -> list[str]:
    if state.run_dir is not None:
        try:
            text = (state.run_dir / rundir.LOG).read_text(encoding="utf-8", errors="replace")
            return text.splitlines()[-lines:]
        except OSError:
            pass
    return list(state.output_tail)


def imbalance_words(rho: float | None) -> str:
    """The log's open question, answered in words from the rank correlation."""
    if rho is None:
        return "class sizes are equal (or accuracies are): imbalance cannot be judged from this run"
    strength = (
        "no clear" if abs(rho) < 0.2 else "a weak" if abs(rho) < 0.4 else "a moderate" if abs(rho) < 0.6 else "a strong"
    )
    direction = "larger classes are recognised better" if rho > 0 else "smaller classes are recognised better"
    return f"Spearman {rho:+.2f}: {strength} link between class size and accuracy" + (
        "" if strength == "no clear" else f" ({direction})"
    )


def imbalance_short(rho: float | None) -> str:
    if rho is None:
        return "size vs accuracy: n/a (equal sizes or accuracies)"
    strength = "none" if abs(rho) < 0.2 else "weak" if abs(rho) < 0.4 else "moderate" if abs(rho) < 0.6 else "strong"
    return f"size vs accuracy: Spearman {rho:+.2f} ({strength})"


def evaluation_text(state: RunState, evaluation: dict[str, Any] | None) -> Table | Text:
    if evaluation is None:
        why = "the run has not been evaluated yet" if state.active else "this run has no eval.json (it did not finish)"
        return Text(f"No evaluation: {why}.", style="dim")
    test = evaluation.get("test") or {}
    criterion = evaluation.get("criterion") or {}
    imbalance = evaluation.get("imbalance") or {}
    original = (state.config.get("recipe") or {}).get("original") or {}
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    t.add_row(
        "best val_acc", f"{fmt.num(criterion.get('best_val_accuracy'))} at epoch {criterion.get('best_epoch', '-')}"
    )
    if original:
        t.add_row(
            "original val_acc",
            f"{fmt.num(original.get('val_acc'))} at epoch {original.get('best_epoch', '-')} ({original.get('title', '')}: {original.get('loss', '')}, {original.get('optimizer', '')})",
        )
    t.add_row("test accuracy", fmt.num(test.get("accuracy")))
    t.add_row("test top-3", fmt.num(test.get("top3_accuracy")))
    t.add_row("test macro-F1", fmt.num(test.get("macro_f1")))
    t.add_row("test samples", str(test.get("samples", "-")))
    t.add_row("epochs run", f"{evaluation.get('epochs_run', '-')} in {fmt.seconds(evaluation.get('train_seconds'))}")
    t.add_row(
        "class sizes",
        f"largest {imbalance.get('largest_class', '-')}, smallest {imbalance.get('smallest_class', '-')} (ratio {imbalance.get('ratio', '-')})",
    )
    t.add_row("imbalance", imbalance_words(imbalance.get("spearman_size_vs_accuracy")))
    pairs = evaluation.get("most_confused") or []
    if pairs:
        t.add_row(
            "most confused",
            "\n".join(
                f"{p.get('true')} → {p.get('predicted')}: {p.get('count')} ({fmt.pct(p.get('share'))})"
                for p in pairs[:5]
            ),
        )
    if evaluation.get("synthetic"):
        t.add_row("data", Text("SYNTHETIC shapes: not comparable with the original", style="yellow"))
    t.add_row("", Text("c: the confusion matrix, per-class accuracy and class sizes", style="dim"))
    return t


def config_text(state: RunState) -> Table | Text:
    config = state.config
    if not config:
        return Text("No config yet (the run writes it once its data is ready).", style="dim")
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    recipe = config.get("recipe") or {}
    data = config.get("data") or {}
    t.add_row("run folder", str(state.run_dir or "-"))
    for key in (
        "name",
        "model",
        "loss",
        "optimizer",
        "optimizer_settings",
        "l2",
        "batch_size",
        "epochs",
        "patience",
        "image_size",
        "weights",
        "model_options",
    ):
        if key in recipe:
            t.add_row(
                f"recipe.{key}", json.dumps(recipe[key]) if isinstance(recipe[key], (dict, list)) else str(recipe[key])
            )
    for key, value in data.items():
        t.add_row(f"data.{key}", json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    t.add_row("dataset", fmt.data_summary(state.dataset or config.get("dataset") or {}))
    params = config.get("params") or {}
    if params:
        t.add_row("parameters", f"{params.get('trainable', 0):,} trainable of {params.get('total', 0):,}")
    for key in ("fingerprint", "device", "created"):
        if key in config:
            t.add_row(key, str(config[key]))
    versions = config.get("versions") or {}
    if versions:
        t.add_row("versions", ", ".join(f"{k} {v}" for k, v in versions.items()))
    return t


def error_text(state: RunState) -> Text:
    text = Text()
    text.append(f"{state.status_label}: ", style="bold red")
    text.append(state.error or "no error message was recorded")
    tail = read_log(state, 12)
    while tail and not tail[0].strip():
        tail.pop(0)
    if tail:
        text.append("\n\nlast lines of the log:\n", style="bold")
        text.append("\n".join(tail), style="dim")
    return text


class RunScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("x", "stop", "Stop run"),
        Binding("c", "confusion", "Confusion"),
        Binding("z", "zoom", "Zoom"),
        Binding("1", "tab('training')", "Training", show=False),
        Binding("2", "tab('evaluation')", "Evaluation", show=False),
        Binding("3", "tab('config')", "Config", show=False),
        Binding("4", "tab('log')", "Log", show=False),
    ]

    app: KerasketchApp

    def __init__(self, key: str):
        super().__init__()
        self.key = key
        self._epochs_shown = -1
        self._best_shown: int | None = None
        self._status_shown: tuple = ()
        self._title_shown: Text | None = None
        self._zoom = 0

    @property
    def state(self) -> RunState | None:
        return self.app.store.get(self.key)

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
            with TabPane("2 Evaluation", id="evaluation"), VerticalScroll():
                yield Static(id="evaluation-text")
            with TabPane("3 Config", id="config"), VerticalScroll():
                yield Static(id="config-text")
            with TabPane("4 Log", id="log"):
                yield Log(id="log-view", max_lines=2000)
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
        if len(state.epochs) != self._epochs_shown or state.best_epoch != self._best_shown:
            self._epochs_shown, self._best_shown = len(state.epochs), state.best_epoch
            self.query_one(EpochTable).sync(state)
            self._draw_charts(state)
        # The end event and the child's exit (which brings its stderr, the log of a run
        # that failed before it had a folder) arrive in either order: redraw on both.
        status = (state.status, state.returncode)
        if status != self._status_shown:
            self._status_shown = status
            self._draw_charts(state)
            failed = state.status in ("failed", "killed", "interrupted", "unreadable")
            panel = self.query_one("#error-panel")
            panel.display = failed
            if failed:
                self.query_one("#error-text", Static).update(error_text(state))
            self.query_one("#evaluation-text", Static).update(evaluation_text(state, read_evaluation(state)))
            self.query_one("#config-text", Static).update(config_text(state))
            self._load_log(state)

    def _title(self, state: RunState) -> Text:
        original = (state.config.get("recipe") or {}).get("original") or {}
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(state.name, style="bold")
        if state.recipe != "?" and not state.name.startswith(state.recipe):
            title.append(f" · {state.recipe}")
        if original:
            title.append(
                f" · {original.get('loss')}, {original.get('optimizer')} · original val_acc {fmt.num(original.get('val_acc'))}",
                style="dim",
            )
        title.append("\n")
        title.append(fmt.data_summary(state.dataset), style="yellow" if state.synthetic else "")
        return title

    def _draw_charts(self, state: RunState) -> None:
        empty = "waiting for the first epoch…" if state.active else "no epoch was recorded"
        self.query_one("#loss-chart", LineChart).set_data(loss_series(state), state.best_epoch, empty=empty)
        self.query_one("#acc-chart", LineChart).set_data(accuracy_series(state), state.best_epoch, empty=empty)

    def _load_log(self, state: RunState) -> None:
        log = self.query_one("#log-view", Log)
        log.clear()
        lines = read_log(state)
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

    # -- actions ---------------------------------------------------------------

    def action_stop(self) -> None:
        self.app.stop_run(self.key)

    def action_confusion(self) -> None:
        self.app.open_confusion(self.key)

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
