"""Pilot tests with real child processes on the built-in synthetic set.

Each run is tiny (30 drawings per class, 2 epochs) but still takes 10-20 s
on two cores, mostly importing Keras; the waits poll for conditions with
generous timeouts instead of sleeping for fixed times.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from textual.widgets import Input, Static

from kerasketch.runs import eventlog, folders
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.launch import LaunchRequest
from kerasketch.tui.screens.confusion import ConfusionScreen
from kerasketch.tui.screens.dashboard import DashboardScreen
from kerasketch.tui.screens.launch_form import LaunchScreen
from kerasketch.tui.screens.quit_confirm import QuitScreen
from kerasketch.tui.screens.run_detail import RunScreen
from kerasketch.tui.widgets.epoch_table import EpochTable
from kerasketch.tui.widgets.heatmap import ConfusionHeatmap
from kerasketch.tui.widgets.runs_table import RunsTable

pytestmark = pytest.mark.slow


def test_launch_from_the_form_watch_the_epochs_and_open_the_confusion_matrix(runs_dir, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, data="synthetic", watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(7):  # like_vgg_adamw is the eighth recipe
                await pilot.press("down")
            await pilot.press("l")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen), 30, "the launch form")
            app.screen.query_one("#f-epochs", Input).value = "2"
            app.screen.query_one("#f-max_per_class", Input).value = "30"
            await pilot.press("ctrl+s")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run screen")
            screen = app.screen
            state = app.store.get(screen.key)
            assert state.recipe == "like_vgg_adamw" and state.live

            await helpers.wait_for(pilot, lambda: len(state.epochs) >= 1, 180, "the first epoch event")
            await helpers.wait_for(
                pilot, lambda: screen.query_one(EpochTable).row_count >= 1, 30, "the epoch table to show it"
            )
            await helpers.wait_for(pilot, lambda: not state.active, 180, "the run to end")
            assert state.status == "finished", (state.status, state.error, state.output_tail)
            assert sorted(state.epochs) == [1, 2]
            assert state.best_val_accuracy is not None and state.test_accuracy is not None
            await helpers.wait_for(
                pilot, lambda: screen.query_one(EpochTable).row_count == 2, 30, "both epochs in the table"
            )

            # The run folder is complete, and says the same.
            info = folders.load(state.run_dir)
            assert info.status == "finished" and info.epochs_done == 2
            for name in (folders.EVENTS, folders.EVAL, folders.CONFUSION, folders.HISTORY, folders.BEST):
                assert (state.run_dir / name).is_file(), name

            await pilot.press("c")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, ConfusionScreen), 30, "the confusion matrix")
            heatmap = app.screen.query_one(ConfusionHeatmap)
            assert heatmap.n == 16 and sum(heatmap.row_sums) == info.config["dataset"]["splits"]["test"]
            await pilot.press("right", "down")
            assert heatmap.cursor == (1, 1)
            assert heatmap.names[1] in helpers.text_of(app.screen.query_one("#cell-info", Static))

            await pilot.press("escape", "escape")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30, "the dashboard")
            table = app.screen.query_one(RunsTable)
            assert table.row_count == 1  # the child and its folder are one run
            assert "finished" in str(table.get_row_at(0)[1])  # after the mark column

    helpers.run_async(scenario())


def test_x_stops_a_run_and_its_folder_records_cancelled(runs_dir, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            state = app.launch(LaunchRequest("like_vgg_adamw", data="synthetic", max_per_class=30, epochs=50))
            app.open_run(state.key)
            await helpers.wait_for(pilot, lambda: state.batch is not None, 180, "training to start")
            await pilot.press("x")
            assert state.status in ("stopping", "cancelled")  # SIGTERM is handled within a step
            await helpers.wait_for(pilot, lambda: not state.active, 60, "the run to stop")
            assert state.status == "cancelled", (state.status, state.error, state.output_tail)
            last = eventlog.read(state.run_dir / folders.EVENTS)[-1]
            assert last["event"] == "end" and last["reason"] == "cancelled"
            assert folders.load(state.run_dir).status == "cancelled"
            progress = app.screen.query_one("#progress", Static)
            await helpers.wait_for(
                pilot, lambda: "cancelled" in helpers.text_of(progress), 30, "the screen to say cancelled"
            )

    helpers.run_async(scenario())


def test_a_run_that_fails_shows_its_error_and_the_dashboard_carries_on(runs_dir, tmp_path, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            state = app.launch(LaunchRequest("like_vgg_adamw", data=str(tmp_path / "no-such-data"), epochs=2))
            app.open_run(state.key)
            await helpers.wait_for(pilot, lambda: not state.active, 60, "the run to fail")
            assert state.status == "failed"
            assert "does not exist" in state.error
            panel = app.screen.query_one("#error-panel")
            await helpers.wait_for(pilot, lambda: panel.display, 30, "the error panel")
            shown = app.screen.query_one("#error-text", Static)
            # The log's lines come with the child's exit, which may follow the end event.
            await helpers.wait_for(
                pilot, lambda: "last lines of the log" in helpers.text_of(shown), 30, "the log in the panel"
            )
            assert "does not exist" in helpers.text_of(shown)
            # Still alive: back to the dashboard, where the failure is listed in words.
            await pilot.press("escape")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30, "the dashboard")
            await helpers.wait_for(
                pilot, lambda: app.screen.query_one(RunsTable).row_count == 1, 30, "the failed run's row"
            )
            assert "FAILED" in str(app.screen.query_one(RunsTable).get_row_at(0)[1])  # after the mark column

    helpers.run_async(scenario())


def test_a_run_killed_by_a_signal_is_shown_as_killed(runs_dir, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            state = app.launch(LaunchRequest("like_vgg_adamw", data="synthetic", max_per_class=30, epochs=50))
            app.open_run(state.key)
            await helpers.wait_for(pilot, lambda: state.run_dir is not None, 180, "the run folder")
            os.kill(state.pid, signal.SIGKILL)
            await helpers.wait_for(pilot, lambda: not state.active, 30, "the dashboard to notice")
            assert state.status == "killed" and "SIGKILL" in state.error
            await helpers.wait_for(pilot, lambda: app.screen.query_one("#error-panel").display, 30, "the error panel")
            # The folder, written by the run alone, says it was interrupted.
            assert folders.load(state.run_dir).status == "interrupted"
            await pilot.press("escape")
            assert isinstance(app.screen, DashboardScreen)

    helpers.run_async(scenario())


def test_quitting_with_a_run_going_asks_and_stop_stops_it(runs_dir, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            state = app.launch(LaunchRequest("like_vgg_adamw", data="synthetic", max_per_class=30, epochs=50))
            await helpers.wait_for(pilot, lambda: state.pid is not None, 60, "the child to report")
            child = app.runner.children[state.key]
            await pilot.press("q")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, QuitScreen), 30, "the quit question")
            await pilot.press("escape")  # stay
            assert not isinstance(app.screen, QuitScreen) and child.alive
            await pilot.press("q")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, QuitScreen), 30, "the quit question again")
            await pilot.press("s")  # stop them and quit
            # A stopped run has kerasketch.training.stop.STOP_DEADLINE (30 s) to unwind.
            for _ in range(600):
                if child.process.poll() is not None and app.return_code is not None:
                    break
                await asyncio.sleep(0.1)
        assert child.process.poll() is not None, "the child was left running"

    helpers.run_async(scenario())
