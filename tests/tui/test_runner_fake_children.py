"""The run manager with stand-in children (no Keras): several at once, and children that misbehave.

The stand-in is a small script given as the dashboard's Python; it takes the
recipe's command line, writes a run folder and prints events like a recipe
does, or prints rubbish and dies, as its first argument after ``-m`` asks.
"""

from __future__ import annotations

import stat
import sys
import textwrap

from kerasketch.runs import folders
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.launch import LaunchRequest
from kerasketch.tui.screens.dashboard import DashboardScreen
from kerasketch.tui.screens.run_detail import RunScreen
from kerasketch.tui.widgets.runs_table import RunsTable

FAKE = textwrap.dedent('''\
    #!{python}
    """A stand-in for `python -m kerasketch.recipes.NAME --events - --runs-dir DIR --epochs N`."""
    import json, os, sys, time
    args = sys.argv[1:]
    recipe = args[1].rsplit(".", 1)[1]
    runs_dir = args[args.index("--runs-dir") + 1]
    epochs = int(args[args.index("--epochs") + 1]) if "--epochs" in args else 3
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 0
    name = f"{{recipe}}-2026110{{seed}}-000000"
    def emit(kind, **fields):
        print(json.dumps({{"event": kind, "time": f"2026-11-0{{seed}}T00:00:00Z", "run": name, **fields}}), flush=True)
        if os.path.isdir(os.path.join(runs_dir, name)):
            with open(os.path.join(runs_dir, name, "events.jsonl"), "a") as f:
                f.write(json.dumps({{"event": kind, "time": f"2026-11-0{{seed}}T00:00:00Z", "run": name, **fields}}) + "\\n")
    emit("status", message="preparing data", pid=os.getpid())
    if seed == 9:  # misbehave: rubbish, a huge line, then die without an end event
        print("not an event"); print("{{broken json"); print("x" * 5_000_000, flush=True)
        print("Traceback (most recent call last):\\nMemoryError", file=sys.stderr)
        sys.exit(3)
    if seed == 8:  # fail before the run folder exists; exit (with stderr) only once the test says so
        print("Traceback (most recent call last):\\nFileNotFoundError: no-such-data", file=sys.stderr, flush=True)
        emit("end", reason="failed", error="data path no-such-data does not exist")
        release = os.path.join(runs_dir, "release-8")
        deadline = time.monotonic() + 120
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.05)
        sys.exit(2)
    os.makedirs(os.path.join(runs_dir, name))
    config = {{"recipe": {{"name": recipe, "epochs": epochs, "patience": 7}}, "dataset": {{"synthetic": True, "num_classes": 2}}}}
    with open(os.path.join(runs_dir, name, "config.json"), "w") as f:
        json.dump(config, f)
    emit("start", run_dir=os.path.join(runs_dir, name), recipe=recipe, config=config, dataset=config["dataset"], epochs=epochs, steps=2, initial_epoch=0, pid=os.getpid())
    for e in range(1, epochs + 1):
        emit("batch", epoch=e, step=1, steps=2, metrics={{"loss": 1.0 / e, "accuracy": 0.5}})
        time.sleep(0.2)
        emit("epoch", epoch=e, metrics={{"loss": 1.0 / e, "accuracy": 0.5 + e / 10, "val_loss": 1.1 / e, "val_accuracy": 0.4 + e / 10}},
             lr=0.001, seconds=0.2, best_epoch=e, best_val_accuracy=0.4 + e / 10, patience_left=7)
    emit("end", reason="finished", best_epoch=epochs, best_val_accuracy=0.4 + epochs / 10, test_accuracy=0.5, seconds=1.0)
''')


def fake_python(tmp_path):
    path = tmp_path / "fake-python"
    path.write_text(FAKE.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_several_runs_go_at_once_and_each_finishes(runs_dir, tmp_path, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, python=fake_python(tmp_path), watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            states = [
                app.launch(LaunchRequest(recipe, epochs=4, seed=seed))
                for recipe, seed in (("baseline", 1), ("ts_cnn", 2), ("like_vgg", 3))
            ]
            await helpers.wait_for(pilot, lambda: sum(s.active for s in states) >= 2, 30, "two runs going at once")
            await helpers.wait_for(pilot, lambda: not any(s.active for s in states), 30, "all three to finish")
            assert [s.status for s in states] == ["finished"] * 3
            assert all(sorted(s.epochs) == [1, 2, 3, 4] for s in states)
            table = app.screen.query_one(RunsTable)
            await helpers.wait_for(pilot, lambda: table.row_count == 3, 30, "three rows, one per run")
            assert all(folders.load(s.run_dir).status == "finished" for s in states)

    helpers.run_async(scenario())


def test_a_child_printing_rubbish_and_dying_is_reported_not_fatal(runs_dir, tmp_path, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, python=fake_python(tmp_path), watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            bad = app.launch(LaunchRequest("baseline", seed=9))
            good = app.launch(LaunchRequest("like_vgg", epochs=2, seed=4))
            await helpers.wait_for(pilot, lambda: not bad.active and not good.active, 30, "both children to end")
            assert bad.status == "failed" and bad.returncode == 3
            assert "status 3" in bad.error and "MemoryError" in bad.error
            assert bad.output_tail[-1] == "MemoryError"
            assert good.status == "finished"  # the other run was not disturbed
            assert isinstance(app.screen, DashboardScreen)

    helpers.run_async(scenario())


def test_a_failed_runs_panel_gains_the_log_when_the_child_exits_after_its_end_event(runs_dir, tmp_path, helpers):
    # Seen in a full test run: the end event drew the error panel, and the child's stderr,
    # arriving with its exit a moment later, never reached it.
    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, python=fake_python(tmp_path), watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            state = app.launch(LaunchRequest("baseline", seed=8))
            app.open_run(state.key)
            await helpers.wait_for(pilot, lambda: state.status == "failed", 30, "the end event")
            assert state.returncode is None, "the child must still be running here, or this tests nothing"
            shown = app.screen.query_one("#error-text")
            await helpers.wait_for(pilot, lambda: "does not exist" in helpers.text_of(shown), 30, "the error")
            (runs_dir / "release-8").touch()  # now the child may exit
            await helpers.wait_for(pilot, lambda: state.returncode == 2, 60, "the child to exit")
            await helpers.wait_for(
                pilot, lambda: "FileNotFoundError" in helpers.text_of(shown), 30, "the log's last lines in the panel"
            )
            assert isinstance(app.screen, RunScreen) and "last lines of the log" in helpers.text_of(shown)

    helpers.run_async(scenario())


def test_clicking_the_best_val_header_sorts_the_history(populated, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.screen.query_one(RunsTable)
            assert app.sort_by == "started"
            # The "best val" header: after the mark (1), status (13), recipe (16) and epoch (9),
            # each padded by 1 on both sides.
            await pilot.click(RunsTable, offset=(3 + 15 + 18 + 11 + 2, 0))
            await helpers.wait_for(pilot, lambda: app.sort_by == "best", 30, "the sort to change")
            await helpers.wait_for(pilot, lambda: "0.6318" in str(table.get_row_at(0)[4]), 30, "the best run on top")

    helpers.run_async(scenario())
