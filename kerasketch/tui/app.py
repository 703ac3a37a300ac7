"""The dashboard app: screens, key bindings, and the wiring between runs and screens.

How the pieces talk:

* :class:`~kerasketch.tui.runner.RunManager` starts a child per run and a
  Textual worker per child; the worker posts :class:`RunEvent` per event line
  and :class:`RunExited` when the child ends.
* The app folds each event into that run's :class:`RunState` (the store) and
  marks the run dirty. A single timer, at most four times a second, tells the
  screens which runs changed (``runs_changed``): the cost of the dashboard
  does not grow with the rate of events. (Tests shorten or lengthen it with
  ``ui_interval`` and ``progress_interval``, and wait on ``updates_pending``.)
* Screens are given the store and ask the app for things with the requests
  of :mod:`kerasketch.tui.messages` (open a run, stop it, sort...): no screen
  imports the app or another screen.
* The runs folder is scanned in a thread worker (at start, after a run ends,
  on ``r``, and every few seconds for runs started elsewhere); the result
  comes back as :class:`RunsScanned`.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer

from kerasketch.errors import KerasketchError
from kerasketch.recipes import registry
from kerasketch.runs.events import END_REASONS, SUCCEEDED, Status
from kerasketch.training import runs_admin

from .compare import check_count
from .history import RunsFolder, is_run_folder, load_state
from .launch import LaunchRequest
from .messages import (
    ArchiveRun,
    DeleteRun,
    FilterRuns,
    NoteRun,
    OpenCompare,
    OpenConfusion,
    OpenLaunch,
    OpenPad,
    OpenRun,
    Rescan,
    RunEvent,
    RunExited,
    RunsScanned,
    ShowArchived,
    SortRuns,
    StopRun,
    TagRun,
    WriteReport,
)
from .report_child import ReportJob, ReportOutcome, job_for, run_report
from .runner import RunManager
from .runstate import RunState
from .screens.compare import CompareScreen
from .screens.confusion import ConfusionScreen
from .screens.dashboard import DashboardScreen
from .screens.help import HelpScreen
from .screens.launch_form import LaunchScreen
from .screens.manage import AskLineScreen, DeleteScreen
from .screens.pad import PadScreen
from .screens.quit_confirm import QuitScreen
from .screens.run_detail import RunScreen
from .screens.sweep_trials import SweepScreen
from .store import RunStore

#: How soon screens hear of an epoch, a start or an end (seconds)...
UI_INTERVAL = 0.25
#: ...and of progress within an epoch: once a second is enough to watch, and cheap.
PROGRESS_INTERVAL = 1.0
#: How long quitting waits for stopped runs to record their end.
STOP_GRACE = 20.0


class KerasketchApp(App):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere still find it
    TITLE = "kerasketch"
    SUB_TITLE = "Quick, Draw! experiments"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("question_mark,f1", "help", "Help"),
    ]

    def __init__(
        self,
        runs_dir: Path | str = "runs",
        data: str | None = None,
        *,
        python: str | None = None,
        watch_interval: float = 5.0,
        ui_interval: float = UI_INTERVAL,
        progress_interval: float = PROGRESS_INTERVAL,
        pad: Path | str | None = None,
        reports_dir: Path | str = "reports",
    ):
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.reports_dir = Path(reports_dir)  # where `e` writes, as `kerasketch report`'s default
        self.data = data
        self.recipes = registry.all_recipes()
        self.store = RunStore()
        self.folder = RunsFolder(self.runs_dir)
        self.runner = RunManager(self, self.runs_dir, python)
        self.watch_interval = watch_interval
        self.ui_interval = ui_interval
        self.progress_interval = progress_interval
        self._dirty: set[str] = set()
        self._list_dirty = False
        self._flush_due: float | None = None
        self._flush_timer: Timer | None = None
        self._quitting = False
        self.pad = Path(pad) if pad is not None else None  # a run folder whose pad opens at start
        self.last_report: ReportOutcome | None = None  # the outcome of the last `e`, for the tests

    @property
    def sort_by(self) -> str:
        return self.store.sort_by

    def get_default_screen(self) -> Screen:
        # The first read of the runs folder is synchronous, so that the first
        # frame already lists the runs; later reads happen in a thread.
        self.store.disk, _ = self.folder.scan()
        return DashboardScreen(self.store, self.recipes, self.runs_dir)

    def on_mount(self) -> None:
        if self.watch_interval:
            self.set_interval(self.watch_interval, self.rescan)
        if self.pad is not None:
            self.push_screen(PadScreen(self.pad, python=self.runner.python))

    # -- the runs folder ---------------------------------------------------

    def rescan(self, force: bool = False) -> None:
        # Folders of this dashboard's running children: their events arrive on the pipe.
        skip = frozenset(str(s.run_dir) for s in self.store.live.values() if s.active and s.run_dir is not None)
        self._scan(skip, force)

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False)
    def _scan(self, skip: frozenset[str], force: bool) -> None:
        runs, changed = self.folder.scan(skip=skip, force=force)
        self.post_message(RunsScanned(runs, changed))

    def on_runs_scanned(self, message: RunsScanned) -> None:
        if message.changed or set(message.runs) != set(self.store.disk):
            self.store.disk = message.runs
            for state in self.store.live.values():  # a child's run shows its folder's tags and note too
                found = self.store.disk.get(str(state.run_dir)) if state.run_dir is not None else None
                if found is not None:
                    state.tags, state.note = list(found.tags), found.note
            self._list_dirty = True
            self._schedule_flush()

    # -- runs of this dashboard ----------------------------------------------

    def launch(self, request: LaunchRequest) -> RunState:
        child = self.runner.launch(request)
        state = RunState(key=child.key, name=request.recipe, recipe=request.recipe, live=True)
        self.store.add_live(state)
        self._list_dirty = True
        self._schedule_flush()
        return state

    def on_run_event(self, message: RunEvent) -> None:
        state = self.store.get(message.key)
        if state is None:
            return
        before = state.status
        kind = state.apply(message.event)
        child = self.runner.children.get(message.key)
        if child is not None and child.stop_requested_at is not None and state.active:
            state.status = Status.STOPPING  # a late batch event must not say "running" again
        self._dirty.add(message.key)
        if kind in ("start", "end"):
            self._list_dirty = True  # a folder now belongs to this run / the results changed
        if kind == "end" and before != state.status:
            self._announce(state)
        self._schedule_flush(self.progress_interval if kind == "batch" else self.ui_interval)

    def on_run_exited(self, message: RunExited) -> None:
        state = self.store.get(message.key)
        if state is None:
            return
        was_active = state.active
        state.exited(message.returncode, message.output_tail, message.error)
        if message.error and state.run_dir is not None:
            # The pipe broke but the folder was still written: its verdict is the truth.
            on_disk = load_state(state.run_dir)
            if on_disk.status in END_REASONS:
                state.status, state.error = on_disk.status, on_disk.error or state.error
                state.test_accuracy = on_disk.test_accuracy
        if was_active:
            self._announce(state)
        self._dirty.add(message.key)
        self._list_dirty = True
        self._schedule_flush()
        if state.run_dir is not None:
            self.rescan(force=True)  # eval.json and the folder's own status

    def _announce(self, state: RunState) -> None:
        if state.status in (Status.FAILED, Status.KILLED):
            first = (state.error or "").splitlines()[0] if state.error else "no message"
            self.notify(f"{state.name}: {state.status_label} — {first}", severity="error", timeout=10)
        elif state.status == Status.CANCELLED:
            self.notify(f"{state.name}: cancelled", severity="warning")
        elif state.status in SUCCEEDED:
            self.notify(f"{state.name}: {state.status_label}, best val_acc {state.best_val_accuracy or 0:.4f}")

    def stop_run(self, key: str) -> None:
        state = self.store.get(key)
        if state is None:
            return
        if key not in self.runner.children:
            if state.status == Status.RUNNING:
                self.notify(
                    "this run was started outside the dashboard; stop it where it runs (or kill its pid)",
                    severity="warning",
                )
            else:
                self.notify(f"{state.name} is not running ({state.status_label})", severity="warning")
            return
        done = self.runner.stop(key)
        if done == "stopping":
            state.status = Status.STOPPING
            self.notify(f"stopping {state.name} (SIGTERM); x again to kill it", timeout=4)
        elif done == "killed":
            self.notify(f"killed {state.name} (SIGKILL)", severity="warning")
        else:
            self.notify(f"{state.name} is not running ({state.status_label})", severity="warning")
        self._dirty.add(key)
        self._schedule_flush()

    # -- telling the screens ------------------------------------------------

    def _schedule_flush(self, delay: float | None = None) -> None:
        """One flush for everything that changes before it; an urgent change may bring it forward."""
        delay = self.ui_interval if delay is None else delay
        due = time.monotonic() + delay
        if self._flush_due is not None and self._flush_due <= due:
            return
        if self._flush_timer is not None:
            self._flush_timer.stop()
        self._flush_due = due
        self._flush_timer = self.set_timer(delay, self.flush_updates)

    @property
    def updates_pending(self) -> bool:
        """Whether changes wait for the timer to reach the screens (tests wait for this to clear)."""
        return self._flush_due is not None

    def flush_updates(self) -> None:
        """Tell the screen in front what changed since the last time."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
        self._flush_due = self._flush_timer = None
        keys = None if self._list_dirty else set(self._dirty)
        self._dirty.clear()
        self._list_dirty = False
        if not self.screen_stack:
            return  # the app is shutting down: a timer or a child's last event came after the screens went
        # Only the screen in front: the others catch up when they are shown again
        # (on_screen_resume), so hidden screens cost nothing while a run goes.
        changed = getattr(self.screen, "runs_changed", None)
        if changed is not None:
            try:
                changed(keys)
            except Exception as err:
                self.log.error(f"runs_changed failed on {self.screen}: {err!r}")
                self.notify(f"display error: {type(err).__name__}: {err}", severity="error")

    def set_sort(self, by: str) -> None:
        self.store.sort_by = by
        self._list_dirty = True
        self._schedule_flush()

    # -- what screens ask for -------------------------------------------------

    def on_open_launch(self, message: OpenLaunch) -> None:
        self.open_launch(message.recipe)

    def on_open_run(self, message: OpenRun) -> None:
        self.open_run(message.key)

    def on_open_confusion(self, message: OpenConfusion) -> None:
        self.open_confusion(message.key)

    def on_open_pad(self, message: OpenPad) -> None:
        self.open_pad(message.key)

    def on_stop_run(self, message: StopRun) -> None:
        self.stop_run(message.key)

    def on_sort_runs(self, message: SortRuns) -> None:
        self.set_sort(message.by)

    def on_rescan(self, message: Rescan) -> None:
        self.rescan(force=True)

    def on_open_compare(self, message: OpenCompare) -> None:
        self.open_compare(message.keys)

    def on_write_report(self, message: WriteReport) -> None:
        self.write_report(message.keys)

    def on_tag_run(self, message: TagRun) -> None:
        self.tag_run(message.key)

    def on_note_run(self, message: NoteRun) -> None:
        self.note_run(message.key)

    def on_archive_run(self, message: ArchiveRun) -> None:
        self.archive_run(message.key)

    def on_delete_run(self, message: DeleteRun) -> None:
        self.delete_run(message.key)

    def on_filter_runs(self, message: FilterRuns) -> None:
        self.filter_runs()

    def on_show_archived(self, message: ShowArchived) -> None:
        self.show_archived(message.show)

    # -- opening screens ------------------------------------------------------

    def open_launch(self, recipe: str | None) -> None:
        def launched(request: LaunchRequest | None) -> None:
            if request is not None:
                state = self.launch(request)
                self.push_screen(RunScreen(state.key, self.store))

        self.push_screen(LaunchScreen(recipe or "like_vgg_adamw", self.data, self.runs_dir), launched)

    def open_run(self, key: str) -> None:
        state = self.store.get(key)
        if state is not None and state.sweep:
            self.push_screen(SweepScreen(Path(key)))
            return
        if state is None and is_run_folder(Path(key)):  # a sweep's trial, opened from its table
            self.store.trials[key] = state = load_state(Path(key))
        if state is not None:
            self.push_screen(RunScreen(key, self.store))

    def open_confusion(self, key: str) -> None:
        state = self.store.get(key)
        if state is None:
            return
        if state.active:
            self.notify("the confusion matrix comes with the evaluation, when the run finishes", severity="warning")
            return
        self.push_screen(ConfusionScreen(key, self.store))

    def open_pad(self, key: str) -> None:
        state = self.store.get(key)
        if state is None:
            return
        if state.active:
            self.notify("the sketch pad uses a run's best model once the run has finished", severity="warning")
            return
        if state.run_dir is None:
            self.notify(f"{state.name} has no run folder, so no model to draw for", severity="warning")
            return
        self.push_screen(PadScreen(state.run_dir, python=self.runner.python))

    def open_compare(self, keys: list[str]) -> None:
        keys = [k for k in keys if self.store.get(k) is not None]
        why = check_count(len(keys))
        if why:
            self.notify(why, severity="warning")
            return
        self.push_screen(CompareScreen(keys, self.store))

    def write_report(self, keys: list[str]) -> None:
        """``kerasketch report`` for these runs, in a child; a notification says where, or why not."""
        states = [s for k in keys if (s := self.store.get(k)) is not None]
        folderless = [s.name for s in states if s.run_dir is None]
        if not states or folderless:
            self.notify(f"no run folder yet for {', '.join(folderless) or 'this run'}", severity="warning")
            return
        job = job_for([s.run_dir for s in states if s.run_dir is not None], self.reports_dir)
        self.notify(f"writing the report of {len(states)} run{'s' if len(states) > 1 else ''} into {job.output}…")
        self._report(job)

    @work(group="reports", exit_on_error=False)
    async def _report(self, job: ReportJob) -> None:
        outcome = await run_report(job, self.runner.python)
        self.last_report = outcome
        self.notify(outcome.text, severity="information" if outcome.ok else "error", timeout=10)

    # -- managing runs: what `kerasketch runs tag | note | archive | delete | list` do ----------

    def _managed(self, key: str, what: str, *, not_running: bool = False) -> tuple[RunState, Path] | None:
        """The run and its folder, or None after saying why it cannot be ``what`` (tagged, deleted...)."""
        state = self.store.get(key)
        if state is None:
            return None
        if not_running and state.active:
            self.notify(
                f"{state.name} is still running ({state.status_label}): it cannot be {what}; "
                "stop it first (x), then try again",
                severity="error",
                timeout=8,
            )
            return None
        if state.run_dir is None:
            self.notify(f"{state.name} has no run folder yet: it cannot be {what}", severity="warning")
            return None
        if state.sweep:
            self.notify(
                f"{state.name} is a sweep: manage its trials' folders from the command line", severity="warning"
            )
            return None
        return state, Path(state.run_dir)

    def _refused(self, err: KerasketchError) -> None:
        self.notify(err.message + (f"\n{err.hint}" if err.hint else ""), severity="error", timeout=8)

    def _annotated(self, key: str) -> None:
        self._dirty.add(key)
        self._list_dirty = self._list_dirty or self.store.tag is not None  # a tag filter may now keep it out
        self._schedule_flush()

    def _moved(self, key: str) -> None:
        """A run's folder was archived, brought back or deleted: read the runs folder again."""
        self.store.forget(key)
        self._list_dirty = True
        self._schedule_flush()
        self.rescan(force=True)

    def tag_run(self, key: str) -> None:
        found = self._managed(key, "tagged")
        if found is None:
            return
        state, folder = found

        def chosen(text: str | None) -> None:
            if text is None:
                return
            try:
                state.tags = runs_admin.set_tags(folder, split_tags(text))
            except KerasketchError as err:
                self._refused(err)
                return
            shown = " ".join(f"#{t}" for t in state.tags) or "none"
            self.notify(f"{state.name}: tags {shown}")
            self._annotated(key)

        others = [t for t in self.store.tags() if t not in state.tags][:8]
        self.push_screen(
            AskLineScreen(
                f"Tags of {state.name}",
                "Words separated by spaces (no spaces or commas within a tag); "
                "clear the line to remove them all." + (f"\nTags in use: {' '.join(others)}" if others else ""),
                " ".join(state.tags),
                placeholder="e.g. keep paper",
            ),
            chosen,
        )

    def note_run(self, key: str) -> None:
        found = self._managed(key, "noted")
        if found is None:
            return
        state, folder = found

        def chosen(text: str | None) -> None:
            if text is None:
                return
            try:
                state.note = runs_admin.note(folder, text)
            except KerasketchError as err:
                self._refused(err)
                return
            self.notify(f"{state.name}: note saved" if state.note else f"{state.name}: note cleared")
            self._annotated(key)

        self.push_screen(
            AskLineScreen(
                f"Note on {state.name}",
                "One line kept in the run folder's annotations.json; clear it to remove the note.",
                state.note,
                placeholder="what this run is for, what it showed",
            ),
            chosen,
        )

    def archive_run(self, key: str) -> None:
        state = self.store.get(key)
        undo = state is not None and state.archived
        found = self._managed(key, "brought back" if undo else "archived", not_running=True)
        if found is None:
            return
        state, folder = found
        try:
            runs_admin.archive(folder, undo=undo)
        except KerasketchError as err:
            self._refused(err)
            return
        if undo:
            self.notify(f"{state.name} is back among the runs")
        else:
            seen = "" if self.store.show_archived else " (A shows the archived runs; a on one brings it back)"
            self.notify(f"archived {state.name} into {self.runs_dir / runs_admin.ARCHIVE}/{seen}")
        self._moved(key)

    def delete_run(self, key: str) -> None:
        found = self._managed(key, "deleted", not_running=True)
        if found is None:
            return
        state, folder = found

        def chosen(delete: bool | None) -> None:
            if not delete:
                return
            try:
                runs_admin.delete(folder)
            except KerasketchError as err:
                self._refused(err)
                return
            self.notify(f"deleted {folder}")
            self._moved(key)

        best = f"best val_acc {state.best_val_accuracy:.4f}" if state.best_val_accuracy is not None else "no epoch"
        what = f"{state.recipe}: {state.status_label}, {best}, {state.epochs_done} epochs"
        self.push_screen(DeleteScreen(state.name, str(folder), what), chosen)

    def filter_runs(self) -> None:
        tags = self.store.tags()

        def chosen(text: str | None) -> None:
            if text is None:
                return
            wanted = split_tags(text)
            self.store.tag = wanted[0] if wanted else None
            self.notify(f"only the runs tagged #{self.store.tag}" if self.store.tag else "every run")
            self._list_dirty = True
            self._schedule_flush()

        self.push_screen(
            AskLineScreen(
                "Only the runs with a tag",
                "One tag; clear the line to list every run again."
                + (f"\nTags in use: {' '.join(tags[:12])}" if tags else "\nNo run has a tag yet (t tags one)."),
                self.store.tag or "",
            ),
            chosen,
        )

    def show_archived(self, show: bool) -> None:
        self.store.show_archived = self.folder.archived = show
        self.notify("the archived runs are listed too" if show else "the archived runs are hidden")
        self._list_dirty = True
        self._schedule_flush()
        self.rescan(force=True)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # -- quitting ----------------------------------------------------------

    async def action_quit(self) -> None:
        alive = [c.key for c in self.runner.alive()]
        if not alive:
            self.exit()
            return
        if isinstance(self.screen, QuitScreen):
            return
        names = [state.name if (state := self.store.get(k)) is not None else k for k in alive]

        def chosen(choice: str | None) -> None:
            if choice == "leave":
                self.exit()
            elif choice == "stop":
                self._stop_all_and_exit()

        self.push_screen(QuitScreen(names), chosen)

    @work(exclusive=True, group="quit")
    async def _stop_all_and_exit(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        n = self.runner.stop_all()
        self.notify(
            f"stopping {n} run{'s' if n != 1 else ''}; waiting for {'them' if n != 1 else 'it'} to record 'cancelled'…",
            timeout=STOP_GRACE,
        )
        deadline = time.monotonic() + STOP_GRACE
        while self.runner.alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        self.exit()


def split_tags(text: str) -> list[str]:
    """The tags of a typed line: words separated by spaces or commas, a leading # dropped."""
    return [t.removeprefix("#") for t in text.replace(",", " ").split() if t.removeprefix("#")]
