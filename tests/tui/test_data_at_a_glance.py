"""The dashboard at the keyboard: the launch form starts at its first field; a run's data is seen in the
runs table at wide widths and on the compare screen, whose legend stays in view when the table scrolls."""

from __future__ import annotations

from run_folders import classes, write_run
from textual.widgets import Select

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.compare import differing
from kerasketch.tui.screens.compare import CompareScreen
from kerasketch.tui.screens.launch_form import LaunchScreen
from kerasketch.tui.widgets.compare_table import CompareTable
from kerasketch.tui.widgets.runs_table import RunsTable


def app_for(runs_dir) -> KerasketchApp:
    return KerasketchApp(runs_dir=runs_dir, watch_interval=0, ui_interval=0.01, progress_interval=0.01)


def _three(runs_dir) -> None:
    write_run(runs_dir, "real", classes=classes(37), best=0.61, day=3)
    write_run(runs_dir, "cat-only", classes={"cat": 25}, source="/d/simplified/cat.ndjson", best=1.0, day=2)
    write_run(runs_dir, "syn", classes=classes(16), synthetic=True, source="synthetic shapes", best=0.9, day=1)


def test_the_launch_form_starts_at_its_first_field_in_view(runs_dir, helpers):
    async def scenario():
        app = app_for(runs_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("l")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen), 30, "the launch form")
            await pilot.pause()
            focused = app.screen.focused
            assert isinstance(focused, Select) and focused.id == "recipe"
            assert app.screen.region.contains_region(focused.region)

    helpers.run_async(scenario())


def test_at_200_columns_the_runs_table_shows_each_runs_data(runs_dir, helpers):
    _three(runs_dir)

    async def scenario():
        app = app_for(runs_dir)
        async with app.run_test(size=(200, 40)) as pilot:
            await pilot.pause()
            table = app.screen.query_one(RunsTable)
            data = [str(table.get_cell(row, "data")) for row in table.rows]
            assert sorted(data) == ["SYNTHETIC 16 cl s0", "bitmap 37 cl s0", "cat.ndjson 1 cl s0"]
            # Every column in view: the table is not cut at 80 columns any more.
            assert table.region.width >= sum(c.get_render_width(table) for c in table.columns.values())

    helpers.run_async(scenario())


def test_the_compare_screen_names_a_synthetic_runs_data_and_keeps_its_legend(runs_dir, helpers):
    _three(runs_dir)
    configs = [
        {"data": {"data": None, "seed": 0}, "dataset": {"synthetic": True, "classes": classes(16), "source": "s"}},
        {"data": {"data": "/q/bitmap", "seed": 0}, "dataset": {"classes": classes(37), "source": "/q/bitmap"}},
    ]
    assert ("data", ["SYNTHETIC 16 cl s0", "bitmap 37 cl s0"]) in differing(configs)

    async def scenario():
        app = app_for(runs_dir)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2")
            app.screen.query_one(RunsTable).move_cursor(row=0)
            await pilot.press("space", "space", "space", "v")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 30, "the compare screen")
            await helpers.settle(pilot)
            table = app.screen.query_one(CompareTable)
            table.scroll_to(x=table.max_scroll_x, animate=False)
            await pilot.pause()
            shown = [table.render_line(y).text for y in range(1, 4)]
            assert all("━" in line for line in shown), shown  # the legend's swatches stay in view

    helpers.run_async(scenario())
