"""The sketch pad: draw with the mouse, and a run's model says what it sees after every stroke.

The model runs in a child process (:mod:`kerasketch.tui.classifier`, the
JSON-lines ``kerasketch predict RUN --serve``), fed by one worker of this
screen: after each stroke it sends the drawing, as recorded in Quick, Draw!'s
0-255 square, with ``raw`` set, so the child normalises it the way the dataset
normalised raw drawings and renders it with the project's rasterizer, exactly
as ``kerasketch predict`` treats a raw ndjson file. The answer holds the top 5
classes and the image the model was given, both shown beside the paper. At
most one drawing is in flight: strokes drawn meanwhile are sent together
when the answer is back.

``s`` appends the drawing, normalised the same way, as a simplified ndjson
line (``word`` asked for) to a file you can train or evaluate on.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Header, Label, Static

from kerasketch.data.ndjson_lines import append_line, check_word, simplified_line
from kerasketch.errors import KerasketchError

from ..classifier import ClassifierError, PadClassifier
from ..widgets.form_input import FormInput
from ..widgets.input_preview import InputPreview
from ..widgets.sketch_canvas import SketchCanvas
from ..widgets.top_classes import TopClasses

#: Where ``s`` appends drawings unless told otherwise: beside the model that judged them.
SAVE_NAME = "pad-drawings.ndjson"


def shown_path(path: Path) -> str:
    """A path as short as it can be said: relative to the working folder where it is inside it."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd().resolve()) else str(path)
    except (OSError, ValueError):
        return str(path)


def tail(text: str, width: int) -> str:
    """``text``, or its end after an ellipsis where it is longer than ``width``: a file's name matters most."""
    return text if len(text) <= width else "…" + text[len(text) - max(width, 2) + 1 :]


class PadScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("u", "undo", "Undo"),
        Binding("c", "clear", "Clear"),
        Binding("s", "save", "Save"),
        Binding("r", "restart", "Restart model", show=False),
    ]

    def __init__(
        self,
        run_dir: Path,
        *,
        python: str | None = None,
        classifier: PadClassifier | None = None,
        save_to: Path | None = None,
    ):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.classifier = classifier or PadClassifier(self.run_dir, python=python)
        self.save_path = Path(save_to) if save_to is not None else self.run_dir / SAVE_NAME
        self.ready: dict[str, Any] | None = None
        self.error: ClassifierError | None = None
        #: The last answer shown, and the drawing version it is for (tests wait on these).
        self.top: list[dict[str, Any]] = []
        self.answered = -1
        self._wanted = asyncio.Event()

    @property
    def canvas(self) -> SketchCanvas:
        return self.query_one(SketchCanvas)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="pad-body"):
            with Vertical(id="pad-paper"):
                yield SketchCanvas(id="canvas")
            with Vertical(id="pad-side"):
                yield TopClasses(id="pad-top")
                yield Static(id="pad-input-label")
                yield InputPreview(id="pad-preview")
                yield Static(id="pad-message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"sketch pad · {self.run_dir.name}"
        paper = self.query_one("#pad-paper")
        paper.border_title = "draw: press, drag, release"
        self._say_where()
        self.query_one("#pad-side").border_title = "the model sees"
        self.start_classifier()

    def on_unmount(self) -> None:
        self.classifier.stop()

    def on_resize(self) -> None:
        self.call_after_refresh(self._say_where)

    def _say_where(self) -> None:
        paper = self.query_one("#pad-paper")
        room = (paper.size.width or 80) - 16  # the border's corners and "s saves to "
        paper.border_subtitle = f"s saves to {tail(shown_path(self.save_path), room)}"

    # -- the classifier ------------------------------------------------------

    def start_classifier(self) -> None:
        self.ready, self.error = None, None
        self._status("loading…")
        self._message(
            Text.assemble(
                ("Loading the model of this run in a child process", ""),
                (f"\n(kerasketch predict {shown_path(self.run_dir)} --serve)…", "dim"),
                ("\n\nYou can draw meanwhile.", "dim"),
            )
        )
        self._serve()

    @work(exclusive=True, group="classifier", exit_on_error=False)
    async def _serve(self) -> None:
        classifier = self.classifier
        try:
            ready = await classifier.start()
            self._on_ready(ready)
            while True:
                await self._wanted.wait()
                self._wanted.clear()
                canvas = self.canvas
                version, strokes = canvas.version, canvas.xy_lists()
                if not strokes:
                    self._show(version, [], None)
                    continue
                self._status("classifying…")
                reply = await classifier.ask({"id": version, "strokes": strokes, "raw": True})
                if "error" in reply:  # this drawing cannot be classified; the child goes on
                    self.notify(f"the model could not take this drawing: {reply['error']}", severity="warning")
                    self._status("ready")
                    continue
                self._show(version, reply.get("top") or [], reply.get("image"))
        except ClassifierError as err:
            self._on_failed(err)
        finally:
            classifier.stop()

    def _on_ready(self, ready: dict[str, Any]) -> None:
        self.ready = ready
        size = ready.get("image_size", "?")
        n = len(ready.get("classes") or [])
        self._status(f"ready · {n} classes")
        self.query_one("#pad-message").display = False
        for part in ("#pad-top", "#pad-input-label", "#pad-preview"):
            self.query_one(part).display = True
        self.query_one("#pad-input-label", Static).update(Text(f"its input, {size}×{size}:", style="dim"))
        self.query_one(TopClasses).update(Text("draw: the five likeliest classes show here", style="dim"))
        if self.canvas.strokes:
            self._wanted.set()

    def _on_failed(self, err: ClassifierError) -> None:
        self.error = err
        self._status("stopped")
        text = Text(err.message, style="red")
        if err.hint:
            text.append(f"\n\n{err.hint}", style="dim")
        self._message(text)

    def _show(self, version: int, top: list[dict[str, Any]], image: list[list[int]] | None) -> None:
        self.top, self.answered = top, version
        stale = version != self.canvas.version
        self._status("classifying…" if stale else "ready")
        tops = self.query_one(TopClasses)
        if top:
            tops.show(top, stale)
        else:
            tops.top = []
            tops.update(Text("draw: the five likeliest classes show here", style="dim"))
        self.query_one(InputPreview).show(image)

    def _status(self, text: str) -> None:
        self.query_one("#pad-side").border_subtitle = text

    def _message(self, text: Text) -> None:
        """A message in place of the answer (loading, or why there is none)."""
        for part in ("#pad-top", "#pad-input-label", "#pad-preview"):
            self.query_one(part).display = False
        message = self.query_one("#pad-message", Static)
        message.display = True
        message.update(text)

    def _classify(self) -> None:
        if self.ready is not None:
            self._wanted.set()

    # -- drawing ---------------------------------------------------------------

    def on_sketch_canvas_stroke_drawn(self, event: SketchCanvas.StrokeDrawn) -> None:
        self._classify()

    def action_undo(self) -> None:
        if self.canvas.undo():
            self._classify()
        else:
            self.notify("nothing to undo", timeout=2)

    def action_clear(self) -> None:
        if self.canvas.clear():
            self._classify()

    def action_restart(self) -> None:
        if self.classifier.alive and self.error is None:
            self.notify("the model is running", timeout=2)
            return
        self.start_classifier()

    # -- saving ------------------------------------------------------------------

    def action_save(self) -> None:
        if not self.canvas.strokes:
            self.notify("nothing to save: draw something first", severity="warning")
            return
        guess = self.top[0]["class"] if self.top and self.answered == self.canvas.version else ""

        def chosen(result: tuple[str, Path] | None) -> None:
            if result is not None:
                self.save(*result)

        self.app.push_screen(SaveDrawingScreen(guess, self.save_path), chosen)

    def save(self, word: str, path: Path) -> bool:
        """Append the drawing to ``path`` as a simplified ndjson line; False (and a message) if it cannot be."""
        # numpy comes with the strokes module: imported when a drawing is saved, not when the dashboard starts.
        from kerasketch.data.strokes import from_xy_lists, simplify_raw

        canvas = self.canvas
        recognized = bool(self.top) and self.answered == canvas.version and self.top[0]["class"] == word.strip()
        try:
            drawing = simplify_raw(from_xy_lists(canvas.xy_lists()))
            append_line(path, simplified_line(word, drawing, recognized=recognized))
        except KerasketchError as err:
            self.notify(err.message + (f"\n{err.hint}" if err.hint else ""), severity="error", timeout=8)
            return False
        except ValueError as err:  # a drawing the dataset's pipeline refuses
            self.notify(f"this drawing cannot be saved: {err}", severity="error", timeout=8)
            return False
        self.save_path = path
        self._say_where()
        self.notify(f"saved '{word.strip()}' to {shown_path(path)}")
        return True


class SaveDrawingScreen(ModalScreen[tuple[str, Path] | None]):
    """Asks for the drawing's word and the file it is appended to."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, word: str, path: Path):
        super().__init__()
        self.word = word
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box") as box:
            box.border_title = "Save the drawing"
            yield Static(
                "Appended as one simplified ndjson line (the word names its class), "
                "to train or evaluate on with --data FILE.",
                id="save-about",
            )
            with Horizontal(classes="field"):
                yield Label("Word", classes="field-label")
                yield FormInput(self.word, placeholder="the class it shows, e.g. circle", compact=True, id="save-word")
            with Horizontal(classes="field"):
                yield Label("File", classes="field-label")
                yield FormInput(str(self.path), compact=True, select_on_focus=False, id="save-file")
            yield Static(id="save-error")
            with Horizontal(id="save-buttons"):
                yield Button("Save (enter)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#save-word", FormInput).focus()

    def on_input_submitted(self, event: FormInput.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _submit(self) -> None:
        error = self.query_one("#save-error", Static)
        file = self.query_one("#save-file", FormInput).value.strip()
        try:
            word = check_word(self.query_one("#save-word", FormInput).value)
        except KerasketchError as err:
            error.update(Text(f"{err.message}: {err.hint}", style="red"))
            return
        if not file:
            error.update(Text("give the file to append to, e.g. my-drawings.ndjson", style="red"))
            return
        self.dismiss((word, Path(file).expanduser()))
