"""The compare screen, driven by the pilot: marking runs, opening it, what it shows, live runs."""

from __future__ import annotations

from pathlib import Path

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.messages import RunEvent
from kerasketch.tui.runstate import RunState
from kerasketch.tui.screens.compare import CompareScreen
from kerasketch.tui.screens.dashboard import DashboardScreen
from kerasketch.tui.widgets.compare_table import CompareTable
from kerasketch.tui.widgets.line_chart import LineChart
from kerasketch.tui.widgets.runs_table import RunsTable


def app_for(runs_dir) -> KerasketchApp:
    return KerasketchApp(runs_dir=runs_dir, watch_interval=0, ui_interval=0.01, progress_interval=0.01)


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


async def mark_first(pilot, n: int) -> None:
    """Focus the runs table and mark its first ``n`` rows (space marks and moves down)."""
    await pilot.press("2")
    pilot.app.screen.query_one(RunsTable).move_cursor(row=0)  # the cursor stays on a run when others arrive
    for _ in range(n):
        await pilot.press("space")


async def open_compare(pilot, helpers, n: int) -> CompareScreen:
    await mark_first(pilot, n)
    await pilot.press("v")
    await helpers.wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen), 30, "the compare screen")
    await helpers.settle(pilot)
    return pilot.app.screen


class TestMarking:
    def test_space_marks_and_unmarks_runs_and_the_mark_shows(self, runs_dir, helpers, compare_runs):
        """Space marks the row (◆) and moves down; space on a marked row unmarks it."""
        compare_runs.write_ten(runs_dir, 3)

        async def scenario():
            app = app_for(runs_dir)
            async with app.run_test(size=(100, 30)) as pilot:
                await mark_first(pilot, 2)
                table = app.screen.query_one(RunsTable)
                assert len(table.marked) == 2
                assert [str(table.get_row_at(i)[0]) for i in range(3)] == ["◆", "◆", ""]
                assert "mark & next (2)" in str(app.screen.query_one("#runs-panel").border_subtitle)
                await pilot.press("up", "space")
                assert len(table.marked) == 1 and str(table.get_row_at(1)[0]) == ""

        helpers.run_async(scenario())

    def test_fewer_than_two_marked_says_what_to_do(self, runs_dir, helpers, compare_runs):
        """v with one run marked stays on the dashboard and says to mark 2 to 10."""
        compare_runs.write_ten(runs_dir, 3)

        async def scenario():
            app = app_for(runs_dir)
            async with app.run_test(size=(100, 30)) as pilot:
                await mark_first(pilot, 1)
                await pilot.press("v")
                await pilot.pause()
                assert isinstance(app.screen, DashboardScreen)
                assert any("mark 2 to 10 runs" in n for n in notices(app))

        helpers.run_async(scenario())

    def test_eleven_marked_are_refused_with_a_message(self, runs_dir, helpers, compare_runs):
        """More than ten marked runs: a message, no screen."""
        compare_runs.write_ten(runs_dir)
        compare_runs.write_run(runs_dir, 10, recipe="baseline", seed=3, max_per_class=150, top=0.4, epochs=3, best=3)

        async def scenario():
            app = app_for(runs_dir)
            async with app.run_test(size=(100, 30)) as pilot:
                await mark_first(pilot, 11)
                await pilot.press("v")
                await pilot.pause()
                assert isinstance(app.screen, DashboardScreen)
                assert any("at most 10 runs (11 marked)" in n for n in notices(app))

        helpers.run_async(scenario())


class TestCompareScreen:
    def test_two_runs_share_axes_with_one_colour_and_best_marker_each(self, runs_dir, helpers, compare_runs):
        """Two runs: one val curve each per chart, distinct colours, each marked at its best epoch."""
        compare_runs.write_ten(runs_dir, 2)

        async def scenario():
            app = app_for(runs_dir)
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await open_compare(pilot, helpers, 2)
                acc = screen.query_one("#compare-acc", LineChart)
                loss = screen.query_one("#compare-loss", LineChart)
                assert len(acc.series) == len(loss.series) == 2
                assert acc.series[0].colour != acc.series[1].colour
                # Newest first in the history: like_vgg (best at 5 of 9), then like_vgg_adamw (7 of 12).
                assert [s.name for s in acc.series] == ["like_vgg-20261102-100005", "like_vgg_adamw-20261101-100005"]
                assert [s.mark for s in acc.series] == [5, 7]
                assert acc.length == 12  # epochs aligned: the axis runs to the longest run's last
                for s in loss.series:
                    values = [v for v in s.values if v is not None]
                    assert s.values[s.mark - 1] == min(values)
                rendered = str(acc.render())
                assert "1" in rendered and "2" in rendered  # the runs' numbers sit on the curves
                table = screen.query_one(CompareTable)
                assert table.row_count == 2

        helpers.run_async(scenario())

    def test_ten_runs_fit_and_the_table_lists_them_all(self, runs_dir, helpers, compare_runs):
        """Ten runs: ten colours, ten rows, markers 1-9 and 0."""
        compare_runs.write_ten(runs_dir)

        async def scenario():
            app = app_for(runs_dir)
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await open_compare(pilot, helpers, 10)
                acc = screen.query_one("#compare-acc", LineChart)
                assert len(acc.series) == 10 and len({s.colour for s in acc.series}) == 10
                assert sorted(s.marker for s in acc.series) == list("0123456789")
                assert screen.query_one(CompareTable).row_count == 10

        helpers.run_async(scenario())

    def test_the_table_shows_only_the_settings_that_differ(self, runs_dir, helpers, compare_runs):
        """Recipe, seed, max per class and a sweep parameter differ; batch size and patience do not show."""
        sweep = {"sweep": {"name": "lr-search", "params": {"learning_rate": 0.003}}}
        compare_runs.write_run(
            runs_dir, 0, recipe="like_vgg_adamw", seed=0, max_per_class=150, top=0.6, epochs=5, best=5, extra=sweep
        )
        sweep2 = {"sweep": {"name": "lr-search", "params": {"learning_rate": 0.0004}}}
        compare_runs.write_run(
            runs_dir, 1, recipe="like_vgg", seed=1, max_per_class=300, top=0.5, epochs=4, best=3, extra=sweep2
        )

        async def scenario():
            app = app_for(runs_dir)
            async with app.run_test(size=(120, 30)) as pilot:
                screen = await open_compare(pilot, helpers, 2)
                table = screen.query_one(CompareTable)
                labels = table.setting_labels
                assert labels[0] == "recipe"
                for wanted in ("seed", "max/class", "sweep.params.learning_rate", "optimiser"):
                    assert wanted in labels, labels
                for same in ("batch", "patience", "backend", "image_size", "sweep.name"):
                    assert same not in labels, labels
                row = {r.name: r for r in table.rows_data}["like_vgg-20261102-100005"]
                assert row.settings[labels.index("seed")] == "1"
                assert row.settings[labels.index("sweep.params.learning_rate")] == "0.0004"
                assert (row.best, row.best_epoch, row.test, row.top3) == (0.5, 3, 0.49, 0.67)
                assert row.seconds == 70.0

        helpers.run_async(scenario())

    def test_the_table_sorts_by_a_column_and_reverses(self, runs_dir, helpers, compare_runs):
        """s moves the sort to the next column; a header click sorts by it (best first), again reverses."""
        compare_runs.write_ten(runs_dir, 4)

        async def scenario():
            app = app_for(runs_dir)
            async with app.run_test(size=(120, 30)) as pilot:
                screen = await open_compare(pilot, helpers, 4)
                table = screen.query_one(CompareTable)

                def bests():
                    at = [c.value for c in table.columns].index("best")
                    return [float(str(table.get_row_at(i)[at])) for i in range(table.row_count)]

                table.sort_by("best")
                assert bests() == sorted(bests(), reverse=True)
                table.sort_by("best")
                assert bests() == sorted(bests())
                await pilot.press("s")
                assert table.sort_key == "best_epoch"  # the column after best val

        helpers.run_async(scenario())

    def test_t_adds_the_training_curves_dashed(self, runs_dir, helpers, compare_runs):
        """t toggles a dashed training curve per run beside its validation curve."""
        compare_runs.write_ten(runs_dir, 3)

        async def scenario():
            app = app_for(runs_dir)
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await open_compare(pilot, helpers, 3)
                acc = screen.query_one("#compare-acc", LineChart)
                await pilot.press("t")
                assert len(acc.series) == 6 and sum(s.dashed for s in acc.series) == 3
                await pilot.press("t")
                assert len(acc.series) == 3

        helpers.run_async(scenario())

    def test_a_live_run_grows_as_its_epochs_arrive(self, runs_dir, helpers, compare_runs):
        """A live run beside a finished one: each new epoch event extends its curve on the open screen."""
        compare_runs.write_ten(runs_dir, 1)

        async def scenario():
            app = app_for(runs_dir)
            async with app.run_test(size=(80, 24)) as pilot:
                state = RunState(key="live-1", name="like_vgg_adamw", recipe="like_vgg_adamw", live=True)
                app.store.add_live(state)
                events = helpers.typed(helpers.live_events())
                epochs = [e for e in events if e.kind == "epoch"]
                first = [e for e in events if e.kind != "epoch" or e.epoch <= 2]
                for event in first:
                    app.post_message(RunEvent("live-1", event))
                await helpers.wait_for(pilot, lambda: state.epochs_done == 2, 30, "two epochs folded")
                await helpers.settle(pilot)
                screen = await open_compare(pilot, helpers, 2)  # the live run is the newest row
                acc = screen.query_one("#compare-acc", LineChart)
                live = next(s for s in acc.series if s.name == "like_vgg_adamw-20261123-150005")
                assert len(live.values) == 2
                for event in epochs[2:]:
                    app.post_message(RunEvent("live-1", event))
                await helpers.wait_for(pilot, lambda: state.epochs_done == 5, 30, "the later epochs folded")
                await helpers.settle(pilot)
                live = next(s for s in acc.series if s.name == "like_vgg_adamw-20261123-150005")
                assert len(live.values) == 5
                assert "still running" in helpers.text_of(screen.query_one("#compare-note"))

        helpers.run_async(scenario())

    def test_enter_on_a_row_opens_that_run(self, runs_dir, helpers, compare_runs):
        """Enter in the compare table opens the run screen of that row."""
        compare_runs.write_ten(runs_dir, 2)

        async def scenario():
            app = app_for(runs_dir)
            async with app.run_test(size=(80, 24)) as pilot:
                await open_compare(pilot, helpers, 2)
                await pilot.press("enter")
                await helpers.wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", 30, "the run screen")
                assert Path(app.screen.key).name == "like_vgg-20261102-100005"

        helpers.run_async(scenario())


def test_differing_settings_keep_the_backend_and_leave_out_the_bookkeeping(helpers):
    """The backend is a setting; versions, dates, class names, dataset counts and paths are not."""
    from kerasketch.tui import compare

    a = helpers.config_for("like_vgg_adamw", helpers.QUICKDRAW_20, synthetic=False, epochs=30)
    b = helpers.config_for("like_vgg_adamw", helpers.QUICKDRAW_20[:10], synthetic=False, epochs=30)
    b["versions"] = {**b["versions"], "backend": "jax", "keras": "3.y"}
    b["created"], b["fingerprint"], b["options"] = "2026-11-21T10:00:00Z", "other", {"runs_dir": "elsewhere"}
    b["data"] = {**b["data"], "classes": 10}
    b["recipe"] = {**b["recipe"], "optimizer_settings": {"learning_rate": 0.003}}
    assert compare.differing([a, b]) == [
        ("data", ["quickdraw 20 cl s0", "quickdraw 10 cl s0"]),  # its data key: another data
        ("learning_rate", ["-", "0.003"]),  # "-": the optimiser's own default
        ("classes", ["20", "10"]),
        ("backend", ["torch", "jax"]),
    ]
    assert compare.differing([a, a]) == []
