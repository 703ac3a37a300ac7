"""Snapshots: the sketch pad at 80x24, with fixed strokes and the fake classifier's fixed answer."""

from __future__ import annotations

import math
from pathlib import Path

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.classifier import PadClassifier
from kerasketch.tui.screens.pad import PadScreen, SaveDrawingScreen

RUN = Path("runs/like_vgg-20261119-090005")
#: A circle and a dot in its middle, in the pad's 0-255 coordinates.
CIRCLE = [
    [
        (round(128 + 100 * math.cos(2 * math.pi * i / 48)), round(120 + 100 * math.sin(2 * math.pi * i / 48)))
        for i in range(49)
    ],
    [(128, 120)],
]


def app_for(runs_dir) -> KerasketchApp:
    return KerasketchApp(runs_dir=runs_dir, watch_interval=0)


def pad(helpers, mode: str = "ok", strokes=None, then=None):
    async def run_before(pilot) -> None:
        screen = PadScreen(RUN, classifier=PadClassifier(RUN, argv=helpers.fake_classifier_argv(mode)))
        pilot.app.push_screen(screen)
        await helpers.wait_for(pilot, lambda: pilot.app.screen is screen and screen.is_mounted, 30, "the pad")
        if mode == "ok":
            await helpers.wait_for(pilot, lambda: screen.ready is not None, 60, "the classifier's ready line")
        elif mode == "no-model":
            await helpers.wait_for(pilot, lambda: screen.error is not None, 60, "the classifier's error line")
        if strokes:
            screen.canvas.set_strokes(strokes)
            screen.on_sketch_canvas_stroke_drawn(None)
            await helpers.wait_for(pilot, lambda: screen.answered == screen.canvas.version, 60, "the answer")
        if then is not None:
            await then(pilot)
        await pilot.pause()

    return run_before


class TestSketchPad:
    def test_a_circle_with_its_top_5_and_the_model_input_80x24(self, snap_compare, populated, helpers):
        assert snap_compare(app_for(populated), run_before=pad(helpers, strokes=CIRCLE), terminal_size=(80, 24))

    def test_before_the_first_mouse_event_the_paper_says_how_to_draw_80x24(self, snap_compare, populated, helpers):
        assert snap_compare(app_for(populated), run_before=pad(helpers), terminal_size=(80, 24))

    def test_while_the_model_loads_80x24(self, snap_compare, populated, helpers):
        assert snap_compare(app_for(populated), run_before=pad(helpers, mode="silent"), terminal_size=(80, 24))

    def test_a_run_without_a_model_says_why_80x24(self, snap_compare, populated, helpers):
        assert snap_compare(app_for(populated), run_before=pad(helpers, mode="no-model"), terminal_size=(80, 24))

    def test_the_save_question_80x24(self, snap_compare, populated, helpers):
        async def save(pilot) -> None:
            await pilot.press("s")
            await helpers.wait_for(pilot, lambda: isinstance(pilot.app.screen, SaveDrawingScreen), 30, "the question")

        assert snap_compare(
            app_for(populated), run_before=pad(helpers, strokes=CIRCLE, then=save), terminal_size=(80, 24)
        )
