"""Managing runs from the dashboard, as ``kerasketch runs tag | note | archive | delete | list`` do
from the command line: the same files on disk, written by the same code (training/runs_admin.py).

Driven through the real app with its pilot, on the fixture runs folder (no child processes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kerasketch.runs import folders
from kerasketch.runs.events import Status
from kerasketch.runs.processes import this_process
from kerasketch.training import runs_admin
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.runstate import RunState
from kerasketch.tui.screens.dashboard import DashboardScreen
from kerasketch.tui.screens.manage import AskLineScreen, DeleteScreen
from kerasketch.tui.widgets.runs_table import RunsTable

ADAMW = "runs/like_vgg_adamw-20261120-100005"  # early-stopped
CANCELLED = "runs/ts_cnn-20261122-120005"
LIKE_VGG = "runs/like_vgg-20261119-090005"


def app_for(runs_dir) -> KerasketchApp:
    return KerasketchApp(runs_dir=runs_dir, watch_interval=0)


def messages(app) -> list[str]:
    return [n.message for n in app._notifications]


def annotations(folder: str | Path) -> dict:
    return json.loads((Path(folder) / runs_admin.ANNOTATIONS).read_text())


async def select(pilot, key: str) -> RunsTable:
    """Focus the runs table and put its cursor on ``key``'s row."""
    await pilot.press("2")
    table = pilot.app.screen.query_one(RunsTable)
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()
    assert table.selected_key == key
    return table


async def type_line(pilot, helpers, text: str, *, clear: bool = True) -> None:
    """Type ``text`` into the open question (after clearing what it holds) and press enter."""
    app = pilot.app
    await helpers.wait_for(pilot, lambda: isinstance(app.screen, AskLineScreen), 30, "the question")
    if clear:
        line = app.screen.query_one("#ask-line")
        await pilot.press("end", *["backspace"] * len(line.value))
    await pilot.press(*("space" if c == " " else c for c in text), "enter")
    await helpers.wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30, "the dashboard again")
    await helpers.settle(pilot)


def tags_cell(table: RunsTable, key: str) -> str:
    return str(table.get_cell(key, "tags"))


def test_tag_a_run_from_the_dashboard_then_list_only_its_tag(populated, helpers):
    async def scenario():
        app = app_for(populated)
        async with app.run_test(size=(140, 40), notifications=True) as pilot:
            table = await select(pilot, ADAMW)
            await pilot.press("t")
            await type_line(pilot, helpers, "keep paper")
            assert annotations(ADAMW)["tags"] == ["keep", "paper"]
            assert tags_cell(table, ADAMW) == "#keep #paper"
            assert "#keep #paper" in helpers.text_of(app.screen.query_one("#preview-about"))
            # What the command line reads: the same annotations.json.
            [listed] = runs_admin.list_runs(populated, tag="paper")
            assert str(listed.run.path) == ADAMW

            # The question opens on the run's tags; what is typed replaces them.
            await pilot.press("t")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, AskLineScreen), 30, "the question")
            assert app.screen.query_one("#ask-line").value == "keep paper"
            await type_line(pilot, helpers, "paper #best")
            assert annotations(ADAMW)["tags"] == ["paper", "best"]
            assert tags_cell(table, ADAMW) == "#paper #best"

            # A word that is not a tag is refused with the command line's message; the tags stay.
            await select(pilot, ADAMW)
            await pilot.press("t")
            await type_line(pilot, helpers, "x" * 41)
            assert any("is not a tag" in m for m in messages(app))
            assert annotations(ADAMW)["tags"] == ["paper", "best"]

            # f: only the runs with a tag; an empty line lists them all again.
            assert table.row_count == 6
            await pilot.press("f")
            await type_line(pilot, helpers, "best")
            assert table.row_count == 1 and table.selected_key == ADAMW
            assert "tag best" in str(app.screen.query_one("#runs-panel").border_title)
            await pilot.press("f")
            await type_line(pilot, helpers, "")
            assert table.row_count == 6

    helpers.run_async(scenario())


def test_tags_written_by_the_command_line_show_on_rescan(populated, helpers):
    async def scenario():
        app = app_for(populated)
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.screen.query_one(RunsTable)
            assert tags_cell(table, LIKE_VGG) == ""
            runs_admin.tag(Path(LIKE_VGG), ["synthetic-check"])
            await pilot.press("r")
            await helpers.wait_for(
                pilot, lambda: tags_cell(table, LIKE_VGG) == "#synthetic-check", 30, "the tag in the table"
            )

    helpers.run_async(scenario())


def test_write_and_clear_a_note(populated, helpers):
    async def scenario():
        app = app_for(populated)
        async with app.run_test(size=(140, 40), notifications=True) as pilot:
            await select(pilot, ADAMW)
            await pilot.press("n")
            await type_line(pilot, helpers, "the one in the README")
            assert annotations(ADAMW)["note"] == "the one in the README"
            assert "the one in the README" in helpers.text_of(app.screen.query_one("#preview-about"))
            await pilot.press("n")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, AskLineScreen), 30, "the question")
            assert app.screen.query_one("#ask-line").value == "the one in the README"
            await pilot.press("escape")  # cancelled: nothing written
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30, "the dashboard")
            assert annotations(ADAMW)["note"] == "the one in the README"
            await pilot.press("n")
            await type_line(pilot, helpers, "")
            assert annotations(ADAMW)["note"] == ""
            assert "note cleared" in messages(app)[-1]

    helpers.run_async(scenario())


def test_archive_hides_a_run_and_A_shows_it_to_bring_it_back(populated, helpers):
    async def scenario():
        app = app_for(populated)
        archived = f"runs/{runs_admin.ARCHIVE}/like_vgg-20261119-090005"
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            table = await select(pilot, LIKE_VGG)
            await pilot.press("a")
            await helpers.wait_for(pilot, lambda: table.row_count == 5, 30, "the archived run to leave the table")
            assert not Path(LIKE_VGG).exists() and Path(archived, folders.EVENTS).is_file()
            assert LIKE_VGG not in [s.key for s in app.store.shown()]
            assert [r.run.name for r in runs_admin.list_runs(populated, archived=True)] == [Path(LIKE_VGG).name]

            await pilot.press("A")
            await helpers.wait_for(pilot, lambda: table.row_count == 6, 30, "the archived run listed")
            assert tags_cell(table, archived) == "archived"
            # An archived run never counts among the recipes' best runs or their counts.
            assert all(not s.archived for s in app.store.shown())
            await select(pilot, archived)
            await pilot.press("a")
            await helpers.wait_for(pilot, lambda: Path(LIKE_VGG, folders.EVENTS).is_file(), 30, "the run back")
            assert not Path(archived).exists()
            await helpers.wait_for(
                pilot, lambda: LIKE_VGG in [s.key for s in app.store.listed()], 30, "the run back in the table"
            )
            await helpers.settle(pilot)
            assert table.row_count == 6 and tags_cell(table, LIKE_VGG) == ""
            await pilot.press("A")
            await helpers.settle(pilot)
            assert table.row_count == 6  # nothing archived left to hide

    helpers.run_async(scenario())


def test_delete_asks_first_and_escape_keeps_the_run(populated, helpers):
    async def scenario():
        app = app_for(populated)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            table = await select(pilot, CANCELLED)
            await pilot.press("delete")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen), 30, "the question")
            await pilot.press("escape")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30, "the dashboard")
            assert Path(CANCELLED, folders.EVENTS).is_file() and table.row_count == 6

            await pilot.press("delete")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen), 30, "the question")
            await pilot.press("enter")  # the focused button is "keep"
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30, "the dashboard")
            assert Path(CANCELLED).exists()

            await pilot.press("delete")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen), 30, "the question")
            await pilot.press("y")
            await helpers.wait_for(pilot, lambda: not Path(CANCELLED).exists(), 30, "the folder to go")
            await helpers.wait_for(pilot, lambda: table.row_count == 5, 30, "the row to go")
            assert CANCELLED not in [s.key for s in app.store.listed()]
            assert f"deleted {CANCELLED}" in messages(app)

    helpers.run_async(scenario())


def running_folder(runs_dir: Path, helpers) -> str:
    """A run folder without an end whose process (this test's) is alive: a run still going."""
    name = "like_vgg_adamw-20261124-100005"
    cfg = helpers.config_for("like_vgg_adamw", helpers.QUICKDRAW_20, synthetic=False, epochs=30)
    evs = helpers.events_for(name, cfg, helpers.curves(2, best=2, top=0.5, seed=4), patience=7, day=24, end=None)
    for event in evs:
        if "pid" in event:
            event.update(this_process())
    path = helpers.write_folder(runs_dir, name, cfg, evs)
    assert folders.load(path).status == "running"  # the precondition: the folder says its process runs
    return str(path)


def test_a_running_run_is_never_deleted_or_archived(populated, helpers):
    async def scenario():
        running = running_folder(populated, helpers)
        app = app_for(populated)
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            table = await select(pilot, running)
            await pilot.press("delete")
            await helpers.wait_for(pilot, lambda: any("still running" in m for m in messages(app)), 30, "a refusal")
            assert not isinstance(app.screen, DeleteScreen)  # not even asked
            await pilot.press("a")
            await helpers.wait_for(
                pilot, lambda: any("cannot be archived" in m for m in messages(app)), 30, "the archive refusal"
            )
            await helpers.settle(pilot)
            assert Path(running, folders.EVENTS).is_file() and table.row_count == 7

            # Where the dashboard's view is older than the folder (it read the run before it started),
            # the folder's own check still refuses, with the command line's message.
            app.store.disk[running].status = app.store.disk[CANCELLED].status
            await pilot.press("delete")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen), 30, "the question")
            await pilot.press("y")
            refusal = f"still running (pid {os.getpid()}): it cannot be deleted"  # runs_admin's words
            await helpers.wait_for(pilot, lambda: any(refusal in m for m in messages(app)), 30, "runs_admin's refusal")
            assert Path(running, folders.EVENTS).is_file()

    helpers.run_async(scenario())


def test_a_run_this_dashboard_launched_is_tagged_in_its_folder(populated, helpers):
    async def scenario():
        app = app_for(populated)
        async with app.run_test(size=(100, 30)) as pilot:
            # A child of this dashboard that has ended: its row is the child's, its folder a fixture's.
            state = RunState(key="live-1", name="like_vgg_adamw", recipe="like_vgg_adamw", live=True)
            state.run_dir, state.status = Path(ADAMW), Status.EARLY_STOPPED
            app.store.add_live(state)
            runs_admin.tag(Path(ADAMW), ["from-cli"])
            await pilot.press("r")
            await helpers.wait_for(pilot, lambda: state.tags == ["from-cli"], 30, "the folder's tag on the child's run")
            await helpers.settle(pilot)
            table = await select(pilot, "live-1")
            assert table.row_count == 6 and tags_cell(table, "live-1") == "#from-cli"
            await pilot.press("t")
            await type_line(pilot, helpers, "from-dashboard")
            assert annotations(ADAMW)["tags"] == ["from-dashboard"]
            assert tags_cell(table, "live-1") == "#from-dashboard"

    helpers.run_async(scenario())
