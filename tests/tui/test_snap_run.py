"""Snapshots: one run (finished, failed, unreadable, and live from injected events)."""

from __future__ import annotations

from kerasketch.runs import events as protocol
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.messages import RunEvent
from kerasketch.tui.runstate import RunState

FINISHED = "runs/like_vgg_adamw-20261120-100005"
FAILED = "runs/baseline-20261121-083005"
UNREADABLE = "runs/resnet50-20261117-060005"


def app_for(runs_dir) -> KerasketchApp:
    # A short redraw interval: the snapshots wait for it to pass (helpers.settle), never a fixed time.
    return KerasketchApp(runs_dir=runs_dir, watch_interval=0, ui_interval=0.01, progress_interval=0.01)


def open_run(key: str):
    async def run_before(pilot) -> None:
        pilot.app.open_run(key)
        await pilot.pause()

    return run_before


def live_run(events, helpers):
    """A run fed through the app's real message path, without a child process."""

    async def run_before(pilot) -> None:
        app = pilot.app
        state = RunState(key="live-1", name="like_vgg_adamw", recipe="like_vgg_adamw", live=True)
        app.store.add_live(state)
        typed = [e for e in map(protocol.parse, events) if e is not None]
        for event in typed:
            app.post_message(RunEvent("live-1", event))
        await helpers.wait_for(pilot, lambda: state.batch == typed[-1], 60, "every event to be folded")
        await helpers.settle(pilot)
        app.open_run("live-1")
        await helpers.wait_for(pilot, lambda: app.screen.__class__.__name__ == "RunScreen", 60, "the run screen")
        await helpers.settle(pilot)

    return run_before


class TestFinishedRun:
    def test_training_tab_80x24(self, snap_compare, populated):
        assert snap_compare(app_for(populated), run_before=open_run(FINISHED), terminal_size=(80, 24))

    def test_training_tab_120x40(self, snap_compare, populated):
        assert snap_compare(app_for(populated), run_before=open_run(FINISHED), terminal_size=(120, 40))

    def test_selected_epoch_shows_on_the_curves_120x40(self, snap_compare, populated):
        assert snap_compare(
            app_for(populated), run_before=open_run(FINISHED), press=["up"] * 5, terminal_size=(120, 40)
        )

    def test_evaluation_tab_80x24(self, snap_compare, populated):
        assert snap_compare(app_for(populated), run_before=open_run(FINISHED), press=["2"], terminal_size=(80, 24))

    def test_config_tab_80x24(self, snap_compare, populated):
        assert snap_compare(app_for(populated), run_before=open_run(FINISHED), press=["3"], terminal_size=(80, 24))

    def test_opened_from_the_history_with_enter_80x24(self, snap_compare, populated):
        assert snap_compare(app_for(populated), press=["2", "down", "down", "enter"], terminal_size=(80, 24))


class TestFailedRuns:
    def test_failed_run_shows_its_error_and_log_80x24(self, snap_compare, populated):
        assert snap_compare(app_for(populated), run_before=open_run(FAILED), terminal_size=(80, 24))

    def test_unreadable_folder_says_why_80x24(self, snap_compare, populated):
        assert snap_compare(app_for(populated), run_before=open_run(UNREADABLE), terminal_size=(80, 24))


class TestLiveRun:
    def test_live_run_mid_epoch_80x24(self, snap_compare, runs_dir, helpers):
        assert snap_compare(
            app_for(runs_dir), run_before=live_run(helpers.live_events(), helpers), terminal_size=(80, 24)
        )

    def test_live_run_mid_epoch_120x40(self, snap_compare, runs_dir, helpers):
        assert snap_compare(
            app_for(runs_dir), run_before=live_run(helpers.live_events(), helpers), terminal_size=(120, 40)
        )

    def test_live_run_in_the_history_80x24(self, snap_compare, populated, helpers):
        async def run_before(pilot) -> None:
            await live_run(helpers.live_events(), helpers)(pilot)
            await pilot.press("escape")
            await helpers.wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == "DashboardScreen", 60, "back")
            await helpers.settle(pilot)

        assert snap_compare(app_for(populated), run_before=run_before, terminal_size=(80, 24))
