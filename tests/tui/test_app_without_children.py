"""The app's wiring, driven without child processes: throttled updates, rescans, refusals."""

from __future__ import annotations

from dataclasses import replace

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.messages import RunEvent
from kerasketch.tui.runstate import RunState
from kerasketch.tui.screens.dashboard import DashboardScreen
from kerasketch.tui.screens.run_detail import RunScreen
from kerasketch.tui.widgets.epoch_table import EpochTable
from kerasketch.tui.widgets.runs_table import RunsTable


def test_a_burst_of_events_is_drawn_once_per_interval_not_once_per_event(runs_dir, helpers, monkeypatch):
    async def scenario():
        # An interval longer than the test: only the timer (fired by hand here) may draw.
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0, ui_interval=600, progress_interval=600)
        async with app.run_test(size=(100, 30)) as pilot:
            app.store.add_live(RunState(key="live-1", name="like_vgg_adamw", recipe="like_vgg_adamw", live=True))
            app.open_run("live-1")
            await helpers.wait_for(
                pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.query(EpochTable), 30, "the run screen"
            )
            await pilot.pause()
            screen = app.screen
            calls = []
            original = screen.runs_changed
            monkeypatch.setattr(screen, "runs_changed", lambda keys: (calls.append(keys), original(keys)))
            events = helpers.typed(helpers.live_events())
            for i in range(200):  # 200 batch events at once, then the rest
                app.post_message(RunEvent("live-1", replace(events[-1], step=i % 40 + 1)))
            for event in events:
                app.post_message(RunEvent("live-1", event))
            state = app.store.get("live-1")
            await helpers.wait_for(pilot, lambda: state.epochs_done == 5 and state.batch.step == 22, 60, "every event")
            assert calls == [] and app.updates_pending  # folded, not drawn
            app.flush_updates()
            assert len(calls) == 1 and not app.updates_pending
            assert screen.query_one(EpochTable).row_count == 5

    helpers.run_async(scenario())


def test_new_folders_appear_on_rescan_and_the_cursor_stays(populated, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.screen.query_one(RunsTable)
            assert table.row_count == 6
            await pilot.press("2", "down", "down")
            selected = table.selected_key
            helpers.write_finished(populated, "like_vgg_focal-20261101-100005", "like_vgg_focal", day=1)
            await pilot.press("r")
            await helpers.wait_for(pilot, lambda: table.row_count == 7, 30, "the new folder")
            assert table.selected_key == selected

    helpers.run_async(scenario())


def test_stop_and_confusion_refuse_politely_where_they_cannot_apply(populated, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await pilot.press("2", "x")  # a cancelled run from an earlier session: nothing to stop
            assert isinstance(app.screen, DashboardScreen)
            assert any("not running" in n.message for n in app._notifications)
            app.store.add_live(RunState(key="live-9", name="x", recipe="like_vgg", status="running", live=True))
            app.open_confusion("live-9")
            assert isinstance(app.screen, DashboardScreen)  # no matrix before the evaluation
            app.open_run("runs/resnet50-20261117-060005")
            await helpers.wait_for(
                pilot,
                lambda: isinstance(app.screen, RunScreen) and app.screen.query("#error-panel"),
                30,
                "the run screen",
            )
            await pilot.pause()
            assert app.screen.query_one("#error-panel").display

    helpers.run_async(scenario())


def test_an_update_due_after_the_screens_have_gone_is_dropped(runs_dir, helpers):
    """A flush that fires while the app shuts down (seen in CI) finds no screen and does nothing."""

    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(100, 30)):
            pass
        assert app.screen_stack == []
        app.flush_updates()

    helpers.run_async(scenario())
