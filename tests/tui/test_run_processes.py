"""The run screen says how many processes trained a run, on which backend, with what share of each
batch, and each process's images per second (issue 32 item 3); a folder from before says 1 process."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.compare import differing
from kerasketch.tui.screens.run_detail import RunScreen

TWO = {
    "world_size": 2,
    "backend": "gloo",
    "global_batch": 64,
    "per_rank_batch": 32,
    "local_ranks": 2,
    "threads_per_rank": 1,
    "keras_distributes": False,
}


def write_run(helpers, runs_dir, name: str, distributed: dict | None):
    config = helpers.config_for("baseline", helpers.QUICKDRAW_20[:5], synthetic=True, epochs=3)
    if distributed is not None:
        config["distributed"] = distributed
    evs = helpers.events_for(
        name,
        config,
        helpers.curves(2, best=2, top=0.5, seed=1),
        patience=7,
        day=21,
        end={"reason": "cancelled", "seconds": 60.0},
    )
    for event in evs:
        if event["event"] == "epoch":
            event["system"] = {"images_per_second": 2516.0, "cpu_percent": 58.0}
    return helpers.write_folder(runs_dir, name, config, evs)


def printed(renderable) -> str:
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


def test_the_run_screen_shows_processes_backend_batch_share_and_per_process_throughput(runs_dir, helpers):
    two = write_run(helpers, runs_dir, "baseline-20261121-100005", TWO)
    one = write_run(helpers, runs_dir, "baseline-20261121-110005", None)

    async def scenario() -> None:
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(140, 40)) as pilot:
            seen = {}
            for folder in (two, one):
                app.open_run(str(folder))
                await helpers.wait_for(
                    pilot,
                    lambda f=folder: (
                        isinstance(app.screen, RunScreen)
                        and app.screen.key == str(f)
                        and bool(app.screen.query("#system-line"))
                    ),
                    30,
                    "the run screen",
                )
                screen = app.screen
                system = screen.query_one("#system-line", Static)
                await helpers.wait_for(pilot, lambda s=system: "images/s" in helpers.text_of(s), 30, "the system line")
                await pilot.press("3")
                config = screen.query_one("#config-text", Static)
                await helpers.wait_for(pilot, lambda c=config: "processes" in printed(c.content), 30, "the config tab")
                seen[folder] = (
                    helpers.text_of(screen.query_one("#run-title", Static)),
                    helpers.text_of(system),
                    printed(config.content),
                )
                await pilot.press("escape")
                await helpers.wait_for(pilot, lambda: not isinstance(app.screen, RunScreen), 30, "the dashboard")

        title, system, config = seen[two]
        assert "2 processes (gloo)" in title
        assert "2,516 images/s (1,258 per process)" in system
        assert "2 processes (gloo), 32 drawings each of every batch of 64, 1 thread each" in config
        title, system, config = seen[one]
        assert "process" not in title  # one process: nothing to say in the title
        assert "2,516 images/s" in system and "per process" not in system
        assert "1 process" in config

    helpers.run_async(scenario())


def test_the_compare_screen_tells_runs_apart_by_their_processes_and_counts_an_old_folder_as_one():
    old: dict = {"recipe": {"name": "baseline", "batch_size": 64}, "data": {}}
    one = {**old, "distributed": {**TWO, "world_size": 1, "backend": None, "per_rank_batch": 64, "local_ranks": 1}}
    two = {**old, "distributed": TWO}
    assert differing([old, one]) == []  # a folder from before --nproc trained with one process
    rows = dict(differing([old, two]))
    assert rows["processes"] == ["1", "2"] and rows["dist backend"] == ["-", "gloo"]
    # What follows from the processes or the machine is not a setting of its own.
    assert not {"per_rank_batch", "threads_per_rank", "local_ranks", "global_batch"} & {
        label.rsplit(".", 1)[-1] for label in rows
    }
