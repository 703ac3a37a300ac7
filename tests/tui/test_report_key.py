"""`e` writes `kerasketch report` through a real child process and says where, or why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.screens.compare import CompareScreen
from kerasketch.tui.widgets.runs_table import RunsTable

pytestmark = pytest.mark.slow  # each report child imports matplotlib: seconds on a loaded machine

RUN = "like_vgg_adamw-20261120-100005"


def app_for(runs_dir) -> KerasketchApp:
    return KerasketchApp(runs_dir=runs_dir, watch_interval=0, ui_interval=0.01, reports_dir="reports")


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def test_e_on_a_run_writes_its_report_and_says_where(runs_dir, helpers):
    """From the history: reports/<run>/ with the figures and the page, and a notice naming the page."""
    helpers.write_finished(runs_dir)

    async def scenario():
        app = app_for(runs_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2", "e")
            await helpers.wait_for(pilot, lambda: app.last_report is not None, 240, "the report child to end")
            page = Path("reports") / RUN / "index.html"
            assert app.last_report.ok, app.last_report.text
            assert (
                page.is_file() and (page.parent / "curves.png").is_file() and (page.parent / "confusion.svg").is_file()
            )
            assert any(f"report written: {page}" in n for n in notices(app))

    helpers.run_async(scenario())


def test_e_on_the_compare_screen_writes_one_report_of_the_marked_runs(runs_dir, helpers, compare_runs):
    """From the compare screen: a folder of its own with each run and their overlaid validation curves."""
    compare_runs.write_ten(runs_dir, 2)

    async def scenario():
        app = app_for(runs_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2", "space", "space", "v")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 30, "the compare screen")
            await pilot.press("e")
            await helpers.wait_for(pilot, lambda: app.last_report is not None, 240, "the report child to end")
            assert app.last_report.ok, app.last_report.text
            (folder,) = Path("reports").glob("compare-*")
            assert (folder / "index.html").is_file() and (folder / "val_curves.png").is_file()
            assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [
                "like_vgg-20261102-100005",
                "like_vgg_adamw-20261101-100005",
            ]
            assert str(folder / "index.html") in app.last_report.text

    helpers.run_async(scenario())


def test_a_report_that_fails_shows_the_childs_message(runs_dir, helpers):
    """A folder the report cannot read: the child's error, naming the folder, as an error notice; no report."""
    helpers.write_folder(runs_dir, "resnet50-20261117-060005", "{this is not json", [])

    async def scenario():
        app = app_for(runs_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2")
            assert app.screen.query_one(RunsTable).row_count == 1
            await pilot.press("e")
            await helpers.wait_for(pilot, lambda: app.last_report is not None, 240, "the report child to end")
            assert not app.last_report.ok
            assert "report failed" in app.last_report.text and "resnet50-20261117-060005" in app.last_report.text
            assert not (Path("reports") / "resnet50-20261117-060005" / "index.html").exists()

    helpers.run_async(scenario())
