"""The sketch pad with a real run and its real classifier child: a circle drawn with the mouse is a circle.

The run (``circle_run``, tests/tui/conftest.py) is like_vgg_adamw trained for
3 epochs on four synthetic shapes; its child loads Keras, which takes 10-60 s
on two busy cores, so the waits are long and poll for conditions.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Static

from kerasketch.data.rasterize import rasterize
from kerasketch.data.strokes import from_xy_lists, simplify_raw
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.screens.dashboard import DashboardScreen
from kerasketch.tui.screens.pad import PadScreen
from kerasketch.tui.screens.run_detail import RunScreen
from kerasketch.tui.widgets.input_preview import InputPreview

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_p_on_the_history_opens_the_pad_and_a_drawn_circle_is_a_circle(circle_run, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=circle_run.parent, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("2", "p")  # the runs table, its one run
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, PadScreen), 30, "the pad")
            screen = app.screen
            assert screen.run_dir == circle_run
            await helpers.wait_for(pilot, lambda: screen.ready is not None or screen.error, 300, "the model")
            assert screen.error is None, screen.error.message
            assert sorted(screen.ready["classes"]) == ["circle", "square", "triangle", "zigzag"]
            # The paper is 52 x 26 cells at 100x30; a circle on screen is twice as wide in cells as high.
            await helpers.draw(pilot, screen.canvas, helpers.circle_points(32, 13, 20, 10))
            await helpers.wait_for(pilot, lambda: screen.answered == screen.canvas.version, 120, "the model's answer")
            assert screen.top[0]["class"] == "circle", screen.top
            assert "circle" in helpers.text_of(screen.query_one("#pad-top", Static)).splitlines()[0]
            # The preview is what the model was fed: the stroke normalised and rasterized as predict does.
            want = rasterize([simplify_raw(from_xy_lists(screen.canvas.xy_lists()))], 28)[0]
            np.testing.assert_array_equal(np.array(screen.query_one(InputPreview).image), want)

            child = screen.classifier
            await pilot.press("escape")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30, "the dashboard")
            assert child.process is not None and child.process.poll() is not None  # stopped with the screen

            # From the run screen too; quitting the app stops that child.
            await pilot.press("enter")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run screen")
            await pilot.press("p")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, PadScreen), 30, "the pad")
            second = app.screen.classifier
            await helpers.wait_for(pilot, lambda: second.alive, 30, "its child")
        assert second.process is not None and second.process.poll() is not None

    helpers.run_async(scenario())


def test_a_run_without_best_keras_shows_the_childs_message(circle_run, tmp_path, helpers):
    broken = tmp_path / "runs" / circle_run.name
    shutil.copytree(circle_run, broken, ignore=shutil.ignore_patterns("best.keras", "backup"))

    async def scenario():
        app = KerasketchApp(runs_dir=broken.parent, watch_interval=0, pad=broken)
        async with app.run_test(size=(80, 24)) as pilot:
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, PadScreen), 30, "the pad")
            screen = app.screen
            await helpers.wait_for(pilot, lambda: screen.error is not None, 300, "the child's error line")
            shown = helpers.text_of(screen.query_one("#pad-message", Static))
            assert "best.keras" in shown and "Traceback" not in shown

    helpers.run_async(scenario())


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_in_a_real_terminal_tmux_mouse_escape_sequences_draw_a_circle(circle_run):
    # The bench inherits COLUMNS=80 LINES=24: readline, which pytest imports, writes them into this process's
    # C environment (os.environ does not show them). It must keep them from the pad, which would lay itself
    # out at 80x24 in the 100x30 pane.
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "pad_in_tmux.py"), str(circle_run), "--timeout", "400"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    # Whatever went wrong, the message holds the pane as the bench last captured it.
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert "top_class=circle" in done.stdout, done.stdout[-8000:]
