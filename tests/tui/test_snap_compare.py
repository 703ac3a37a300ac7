"""Snapshots: the compare screen, from fixed run folders (no child processes)."""

from __future__ import annotations

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.screens.compare import CompareScreen


def app_for(runs_dir) -> KerasketchApp:
    return KerasketchApp(runs_dir=runs_dir, watch_interval=0, ui_interval=0.01, progress_interval=0.01)


def compare_first(n: int, helpers, *keys: str):
    """Mark the history's first ``n`` runs with space, open the compare screen with v, then press ``keys``."""

    async def run_before(pilot) -> None:
        await pilot.press("2", *(["space"] * n), "v")
        await helpers.wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen), 30, "the compare screen")
        if keys:
            await pilot.press(*keys)
        await helpers.settle(pilot)

    return run_before


class TestCompareScreen:
    def test_four_runs_80x24(self, snap_compare, runs_dir, helpers, compare_runs):
        compare_runs.write_ten(runs_dir, 4)
        assert snap_compare(app_for(runs_dir), run_before=compare_first(4, helpers), terminal_size=(80, 24))

    def test_ten_runs_with_training_curves_80x24(self, snap_compare, runs_dir, helpers, compare_runs):
        compare_runs.write_ten(runs_dir)
        assert snap_compare(app_for(runs_dir), run_before=compare_first(10, helpers, "t"), terminal_size=(80, 24))

    def test_six_runs_side_by_side_160x45(self, snap_compare, runs_dir, helpers, compare_runs):
        compare_runs.write_ten(runs_dir, 6)
        assert snap_compare(app_for(runs_dir), run_before=compare_first(6, helpers), terminal_size=(160, 45))
