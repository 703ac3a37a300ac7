"""Snapshots: the first screen (recipes and run history). No child processes."""

from __future__ import annotations

from kerasketch.tui.app import KerasketchApp


def app_for(runs_dir) -> KerasketchApp:
    return KerasketchApp(runs_dir=runs_dir, watch_interval=0)


class TestDashboard:
    def test_empty_runs_folder_80x24(self, snap_compare, runs_dir):
        assert snap_compare(app_for(runs_dir), terminal_size=(80, 24))

    def test_history_every_status_80x24(self, snap_compare, populated):
        assert snap_compare(app_for(populated), terminal_size=(80, 24))

    def test_history_sorted_by_best_val_acc_80x24(self, snap_compare, populated, helpers):
        # The sort reaches the table with the next flush: wait for it, or the snapshot races the timer.
        async def sort(pilot) -> None:
            await pilot.press("2", "s")
            await helpers.settle(pilot)

        assert snap_compare(app_for(populated), run_before=sort, terminal_size=(80, 24))

    def test_wide_terminal_previews_the_selected_run_140x40(self, snap_compare, populated):
        # Focus the runs, go to the early-stopped like_vgg_adamw run (third newest).
        assert snap_compare(app_for(populated), press=["2", "down", "down"], terminal_size=(140, 40))

    def test_runs_table_keeps_every_column_beside_the_preview_120x40(self, snap_compare, populated):
        assert snap_compare(app_for(populated), press=["2", "down", "down"], terminal_size=(120, 40))

    def test_tags_question_80x24(self, snap_compare, populated, helpers):
        async def ask(pilot) -> None:
            await pilot.press("2", "down", "down", "t", "k", "e", "e", "p")
            await helpers.settle(pilot)

        assert snap_compare(app_for(populated), run_before=ask, terminal_size=(80, 24))

    def test_delete_asks_first_80x24(self, snap_compare, populated, helpers):
        async def ask(pilot) -> None:
            await pilot.press("2", "down", "down", "delete")
            await helpers.settle(pilot)

        assert snap_compare(app_for(populated), run_before=ask, terminal_size=(80, 24))
