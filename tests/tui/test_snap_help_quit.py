"""Snapshots: the help screen and the quit confirmation."""

from __future__ import annotations

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.screens.quit_confirm import QuitScreen


class TestHelp:
    def test_help_80x24(self, snap_compare, runs_dir):
        assert snap_compare(
            KerasketchApp(runs_dir=runs_dir, watch_interval=0), press=["question_mark"], terminal_size=(80, 24)
        )

    def test_help_120x40(self, snap_compare, runs_dir):
        assert snap_compare(KerasketchApp(runs_dir=runs_dir, watch_interval=0), press=["f1"], terminal_size=(120, 40))


class TestQuit:
    def test_quit_asks_about_running_runs_80x24(self, snap_compare, runs_dir):
        async def run_before(pilot) -> None:
            pilot.app.push_screen(QuitScreen(["like_vgg_adamw-20261123-150005", "baseline-20261123-151005"]))
            await pilot.pause()

        assert snap_compare(
            KerasketchApp(runs_dir=runs_dir, watch_interval=0), run_before=run_before, terminal_size=(80, 24)
        )
