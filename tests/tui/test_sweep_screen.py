"""A sweep in the dashboard: one history row, its trials table (live, sortable, best marked), a trial's run."""

from __future__ import annotations

import json
import os

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.screens.run_detail import RunScreen
from kerasketch.tui.screens.sweep_trials import SweepScreen
from kerasketch.tui.widgets.runs_table import RunsTable


def write_sweep(folder, trials, status="running", best=None):
    doc = {
        "name": folder.name,
        "recipe": "like_vgg_adamw",
        "status": status,
        "driver_pid": os.getpid() if status == "running" else 0,
        "created": "2026-11-21T10:00:00Z",
        "space": {"learning_rate": "loguniform:0.0001:0.01"},
        "search": {"algorithm": "optuna", "scheduler": "asha", "seed": 0, "trials": 3},
        "trials": trials,
        "best": best,
    }
    (folder / "sweep.json").write_text(json.dumps(doc))


def trial(i, lr, status, best, epochs, run_dir=None, **more):
    return {
        **more,
        "id": f"abc_0000{i}",
        "params": {"learning_rate": lr},
        "status": status,
        "node_id": f"node{i}aaaaaaaa",
        "best_val_accuracy": best,
        "epochs": epochs,
        "run_dir": run_dir,
    }


def test_a_sweep_is_one_row_that_opens_its_trials_and_a_trial_opens_its_run(runs_dir, helpers):
    folder = runs_dir / "like_vgg_adamw-sweep-1"
    folder.mkdir()
    helpers.write_finished(folder, "trial-abc_00000-20261121-100000", "like_vgg_adamw", day=21)
    trials = [
        trial(0, 0.001, "finished", 0.61, 5, "trial-abc_00000-20261121-100000"),
        # Written by a sweep with --nproc 2 (older sweep.json files have no world_size: 1 process).
        trial(1, 0.0002, "stopped early", 0.40, 1, world_size=2),
    ]
    write_sweep(folder, trials)

    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(120, 30)) as pilot:
            table = app.screen.query_one(RunsTable)
            assert table.row_count == 1  # the sweep, not its trials
            state = app.store.get(str(folder))
            assert state is not None and state.sweep and state.recipe == "like_vgg_adamw sweep"
            assert state.best_val_accuracy == 0.61
            app.open_run(str(folder))
            await helpers.wait_for(
                pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.doc is not None, 30, "the trials"
            )
            screen = app.screen
            rows = screen.rows()
            assert [t["id"] for t in rows] == ["abc_00000", "abc_00001"]  # best first
            grid = screen.query_one("#trials")
            assert str(grid.get_row("abc_00000")[0]) == "★" and grid.get_row("abc_00001")[0] == ""
            assert grid.get_row("abc_00001")[3:7] == ["stopped early", "0.4", "1", "2"]
            assert grid.get_row("abc_00000")[6] == "1"
            await pilot.press("s")
            assert screen.sort_by == "trial"

            # Live: a third trial overtakes; the table follows the file.
            write_sweep(folder, trials + [trial(2, 0.003, "running", 0.7, 2)])
            screen.reload()
            await pilot.pause()
            assert grid.row_count == 3 and str(grid.get_row("abc_00002")[0]) == "★"

            await pilot.press("s")  # by best again: the finished trial is second
            grid.move_cursor(row=1)
            await pilot.press("enter")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the trial's run screen")
            assert app.screen.key == str(folder / "trial-abc_00000-20261121-100000")

    helpers.run_async(scenario())


def test_a_damaged_sweep_json_is_an_unreadable_row_not_a_crash(runs_dir, helpers):
    folder = runs_dir / "broken-sweep"
    folder.mkdir()
    (folder / "sweep.json").write_text('{"trials": "no"}')

    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(120, 30)):
            state = app.store.get(str(folder))
            assert state is not None and state.status.value == "unreadable" and "trials" in (state.error or "")

    helpers.run_async(scenario())
