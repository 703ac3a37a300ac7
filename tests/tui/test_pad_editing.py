"""The sketch pad's drawing, undo, clear and save, with a fake classifier child (tests/tui/fake_classifier.py).

The fake speaks the real protocol and renders with the real rasterizer, but
answers at once with fixed probabilities; the real model is in test_pad_pilot.py.
"""

from __future__ import annotations

import json

import numpy as np
from textual.widgets import Input, Static

from kerasketch.data.rasterize import rasterize
from kerasketch.data.sources import NdjsonSource
from kerasketch.data.strokes import from_xy_lists, simplify_raw
from kerasketch.tui import __main__ as tui_main
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.classifier import PadClassifier
from kerasketch.tui.screens.pad import PadScreen, SaveDrawingScreen
from kerasketch.tui.widgets.input_preview import InputPreview
from kerasketch.tui.widgets.sketch_canvas import SketchCanvas

RUN = "like_vgg-20261119-090005"


async def open_pad(pilot, run_dir, helpers, mode: str = "ok") -> PadScreen:
    screen = PadScreen(run_dir, classifier=PadClassifier(run_dir, argv=helpers.fake_classifier_argv(mode)))
    pilot.app.push_screen(screen)
    await helpers.wait_for(pilot, lambda: pilot.app.screen is screen and screen.is_mounted, 30, "the pad")
    return screen


async def ready(pilot, screen: PadScreen, helpers) -> None:
    await helpers.wait_for(pilot, lambda: screen.ready is not None, 60, "the classifier's ready line")


async def answered(pilot, screen: PadScreen, helpers) -> None:
    await helpers.wait_for(
        pilot, lambda: screen.answered == screen.canvas.version, 60, "the answer for the drawing as it is"
    )


def message(screen: PadScreen, helpers) -> str:
    return helpers.text_of(screen.query_one("#pad-message", Static))


def test_a_stroke_is_recorded_in_quickdraw_coordinates_and_drawn_in_braille(populated, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_pad(pilot, populated / RUN, helpers)
            await ready(pilot, screen, helpers)
            canvas = screen.canvas
            assert canvas.paper() == (2, 0, 40, 20)  # 80 x 80 dots at 80x24
            assert "No mouse event" in str(canvas.render())
            # From the paper's top-left cell to its bottom-right one, through the middle.
            await helpers.draw(pilot, canvas, [(2, 0), (22, 10), (41, 19)])
            assert "No mouse event" not in str(canvas.render())
            ((first, middle, last),) = canvas.strokes
            assert first == (3, 6) and middle == (131, 134) and last == (252, 249)  # cell middles, 0-255
            drawn = str(canvas.render())
            assert sum(0x2800 < ord(ch) <= 0x28FF for ch in drawn) >= 38  # a braille line across the paper
            await answered(pilot, screen, helpers)
            assert [t["class"] for t in screen.top][:2] == ["circle", "moon"]
            # The preview is the exact input: the drawing normalised like a raw one, at 28 x 28.
            want = rasterize([simplify_raw(from_xy_lists(canvas.xy_lists()))], 28)[0]
            np.testing.assert_array_equal(np.array(screen.query_one(InputPreview).image), want)

    helpers.run_async(scenario())


def test_undo_takes_back_the_last_stroke_and_clear_empties_the_paper(populated, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_pad(pilot, populated / RUN, helpers)
            await ready(pilot, screen, helpers)
            canvas = screen.canvas
            await helpers.draw(pilot, canvas, [(5, 5), (15, 5), (15, 15)])
            await helpers.draw(pilot, canvas, [(25, 3), (35, 12)])
            assert len(canvas.strokes) == 2
            await answered(pilot, screen, helpers)
            two = screen.query_one(InputPreview).image

            await pilot.press("u")
            assert len(canvas.strokes) == 1 and canvas.strokes[0][0] == (22, 70)
            await answered(pilot, screen, helpers)
            one = screen.query_one(InputPreview).image
            assert one != two  # the model was asked again, about one stroke
            want = rasterize([simplify_raw(from_xy_lists(canvas.xy_lists()))], 28)[0]
            np.testing.assert_array_equal(np.array(one), want)

            await pilot.press("c")
            assert canvas.strokes == []
            await answered(pilot, screen, helpers)
            assert screen.top == [] and screen.query_one(InputPreview).image is None
            await pilot.press("u")  # nothing left to undo: said, not an error
            assert canvas.strokes == [] and isinstance(app.screen, PadScreen)

    helpers.run_async(scenario())


def test_save_appends_a_simplified_line_that_the_ndjson_reader_reads_back(populated, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0)
        run_dir = populated / RUN
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_pad(pilot, run_dir, helpers)
            await ready(pilot, screen, helpers)
            await pilot.press("s")  # nothing drawn yet: nothing to save
            assert isinstance(app.screen, PadScreen)

            await helpers.draw(pilot, screen.canvas, helpers.circle_points(22, 10, 14, 7))
            await answered(pilot, screen, helpers)
            preview = np.array(screen.query_one(InputPreview).image)
            await pilot.press("s")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, SaveDrawingScreen), 30, "the save question")
            modal = app.screen
            assert modal.query_one("#save-word", Input).value == "circle"  # the model's guess to start from
            assert modal.query_one("#save-file", Input).value == str(run_dir / "pad-drawings.ndjson")
            await pilot.press("enter")
            await helpers.wait_for(pilot, lambda: app.screen is screen, 30, "the pad again")

            saved = run_dir / "pad-drawings.ndjson"
            (line,) = saved.read_text().splitlines()
            record = json.loads(line)
            assert list(record) == ["word", "countrycode", "timestamp", "recognized", "key_id", "drawing"]
            assert record["word"] == "circle" and record["recognized"] is True and len(record["key_id"]) == 16
            source = NdjsonSource(saved)
            assert source.counts == {"circle": 1} and source.layout == "simplified"
            # What was saved is what the model saw.
            np.testing.assert_array_equal(source.images("circle", np.array([0]), 28)[0], preview)

            # Another word, another file: the modal takes both, the pad remembers the file.
            other = populated / "mine.ndjson"
            await pilot.press("s")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, SaveDrawingScreen), 30, "the save question")
            app.screen.query_one("#save-word", Input).value = "moon"
            app.screen.query_one("#save-file", Input).value = str(other)
            await pilot.click("#save")
            await helpers.wait_for(pilot, lambda: app.screen is screen, 30, "the pad again")
            assert NdjsonSource(other).counts == {"moon": 1}
            assert json.loads(other.read_text())["recognized"] is False  # the model said circle
            assert screen.save_path == other and "mine.ndjson" in str(screen.query_one("#pad-paper").border_subtitle)
            assert len(saved.read_text().splitlines()) == 1

    helpers.run_async(scenario())


def test_the_save_question_refuses_an_empty_word_and_escape_saves_nothing(populated, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0)
        run_dir = populated / RUN
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_pad(pilot, run_dir, helpers, mode="silent")  # no answer: no guess for the word
            await helpers.draw(pilot, screen.canvas, [(5, 5), (30, 15)])
            await pilot.press("s")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, SaveDrawingScreen), 30, "the save question")
            modal = app.screen
            assert modal.query_one("#save-word", Input).value == ""
            await pilot.press("enter")
            assert app.screen is modal
            assert "the word is empty" in helpers.text_of(modal.query_one("#save-error", Static))
            modal.query_one("#save-file", Input).value = str(populated / "no-such-folder" / "x.ndjson")
            modal.query_one("#save-word", Input).value = "line"
            await pilot.press("enter")  # the modal closes; the pad says why nothing was written
            await helpers.wait_for(pilot, lambda: app.screen is screen, 30, "the pad again")
            assert not (populated / "no-such-folder").exists()
            await pilot.press("s")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, SaveDrawingScreen), 30, "the save question")
            await pilot.press("escape")
            await helpers.wait_for(pilot, lambda: app.screen is screen, 30, "the pad again")
            assert not (run_dir / "pad-drawings.ndjson").exists()

    helpers.run_async(scenario())


def test_a_classifier_that_dies_is_shown_and_r_starts_it_again(populated, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_pad(pilot, populated / RUN, helpers, mode="dies")
            await ready(pilot, screen, helpers)
            await helpers.draw(pilot, screen.canvas, [(5, 5), (30, 15)])
            await helpers.wait_for(pilot, lambda: screen.error is not None, 60, "the classifier's end to be seen")
            shown = message(screen, helpers)
            assert "the classifier exited with status 3: RuntimeError: the fake model fell over" in shown
            assert "press r" in shown
            assert str(screen.query_one("#pad-side").border_subtitle) == "stopped"
            assert not screen.classifier.alive
            # An empty paper, so that the new child is not handed the drawing that ends it the moment it is ready.
            await pilot.press("c")
            await pilot.press("r")
            await ready(pilot, screen, helpers)
            assert screen.error is None and screen.classifier.alive
            # The new child is the one asked: it takes the next drawing (and, being this fake, falls over again).
            await helpers.draw(pilot, screen.canvas, [(5, 5), (30, 15)])
            await helpers.wait_for(pilot, lambda: screen.error is not None, 60, "the new classifier's end to be seen")
            assert "exited with status 3" in message(screen, helpers)

    helpers.run_async(scenario())


def test_a_run_the_classifier_cannot_use_says_why(populated, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_pad(pilot, populated / RUN, helpers, mode="no-model")
            await helpers.wait_for(pilot, lambda: screen.error is not None, 60, "the classifier's error line")
            shown = message(screen, helpers)
            assert "has no best.keras" in shown and "use a run that trained at least one epoch" in shown

    helpers.run_async(scenario())


def test_the_child_is_stopped_when_the_pad_closes_and_when_the_app_exits(populated, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            first = await open_pad(pilot, populated / RUN, helpers)
            await ready(pilot, first, helpers)
            await pilot.press("escape")
            assert first.classifier.process is not None and first.classifier.process.poll() is not None
            second = await open_pad(pilot, populated / RUN, helpers, mode="silent")  # still "loading" as the app quits
            await helpers.wait_for(pilot, lambda: second.classifier.alive, 30, "the second child")
        assert second.classifier.process is not None and second.classifier.process.poll() is not None

    helpers.run_async(scenario())


def test_pad_opens_at_start_and_a_bad_run_folder_is_refused(populated, helpers, capsys):
    async def scenario():
        app = KerasketchApp(runs_dir=populated, watch_interval=0, pad=populated / RUN)
        async with app.run_test(size=(80, 24)) as pilot:
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, PadScreen), 30, "the pad")
            assert app.screen.run_dir == populated / RUN
            assert "sketch pad" in str(app.screen.sub_title)

    helpers.run_async(scenario())
    assert tui_main.main(["--pad", str(populated / "no-such-run")]) == 2
    assert "is not a run folder" in capsys.readouterr().err


def test_p_waits_for_a_run_to_finish(runs_dir, helpers):
    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            from kerasketch.tui.runstate import RunState

            state = RunState(key="live-1", name="like_vgg_adamw", recipe="like_vgg_adamw", live=True)
            app.store.add_live(state)
            for event in helpers.typed(helpers.live_events()):
                state.apply(event)
            app.open_pad("live-1")
            await pilot.pause()
            assert not isinstance(app.screen, PadScreen)

    helpers.run_async(scenario())


def test_the_canvas_keeps_its_points_inside_the_square(helpers):
    canvas = SketchCanvas()
    canvas.set_strokes([[(-20, 300), (128, 128)]])
    assert canvas.strokes == [[(0, 255), (128, 128)]]
    assert canvas.xy_lists() == [[[0, 128], [255, 128]]]
