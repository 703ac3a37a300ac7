"""A square of paper to draw on with the mouse, in braille dots (2 x 4 per cell).

Press, drag and release is one stroke. A stroke is recorded in Quick, Draw!'s
coordinates: the paper is the game's square, 0-255 on both axes, integer
points, y pointing down. The points come from the mouse at the best
precision the terminal reports (a cell, or a pixel where the terminal sends
pixel positions); the line between them is drawn dot by dot.

Braille dots are about square (a cell is twice as high as wide and holds
two by four dots), so a paper of ``2 r`` cells by ``r`` rows is square on
screen as it is in the recorded coordinates.

Until the first mouse event arrives the paper says so: a terminal that
sends none (mouse reporting off, a multiplexer that keeps the mouse) would
otherwise look like a pad that does not draw.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from .braille import DotGrid

#: The recorded coordinates span 0..SIDE on both axes, as in the simplified Quick, Draw! files.
SIDE = 255

Point = tuple[int, int]

NO_MOUSE = (
    "No mouse event has reached the pad yet. Draw here with the mouse: press, drag, release. "
    "If nothing happens, this terminal sends no mouse events: turn mouse reporting on "
    "(in tmux: set -g mouse on) or use a terminal that reports the mouse."
)


class SketchCanvas(Widget):
    """The drawing: ``strokes`` (finished) and the stroke under the pen, in 0-255 coordinates."""

    DEFAULT_CSS = """
    SketchCanvas { width: 1fr; height: 1fr; }
    SketchCanvas > .sketch-canvas--paper { background: $boost; color: $text; }
    SketchCanvas > .sketch-canvas--pen { background: $boost; color: $accent; }
    SketchCanvas > .sketch-canvas--hint { background: $boost; color: $text-muted; }
    """
    COMPONENT_CLASSES = {"sketch-canvas--paper", "sketch-canvas--pen", "sketch-canvas--hint"}

    class StrokeDrawn(Message):
        """A stroke was finished (the pen lifted)."""

        def __init__(self, canvas: SketchCanvas) -> None:
            super().__init__()
            self.canvas = canvas

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.strokes: list[list[Point]] = []
        self.pen: list[Point] | None = None
        self.mouse_seen = False
        #: Counts every change of the drawing, so an answer can be matched with the drawing it is for.
        self.version = 0

    # -- the drawing -------------------------------------------------------

    def xy_lists(self) -> list[list[list[int]]]:
        """The finished strokes as ndjson holds them: ``[[x0, x1, ...], [y0, y1, ...]]`` each."""
        return [[[x for x, _ in s], [y for _, y in s]] for s in self.strokes]

    def set_strokes(self, strokes: list[list[Point]]) -> None:
        """Replace the drawing (coordinates 0-255)."""
        self.strokes = [[(_clamp(x), _clamp(y)) for x, y in s] for s in strokes if s]
        self.pen = None
        self._changed()

    def undo(self) -> bool:
        """Take back the stroke being drawn, else the last one; False when there is none."""
        if self.pen is not None:
            self.pen = None
            self.release_mouse()
            self.refresh()
            return True
        if not self.strokes:
            return False
        self.strokes.pop()
        self._changed()
        return True

    def clear(self) -> bool:
        if not self.strokes and self.pen is None:
            return False
        self.strokes = []
        self.pen = None
        self._changed()
        return True

    def _changed(self) -> None:
        self.version += 1
        self.refresh()

    # -- geometry ------------------------------------------------------------

    def paper(self) -> tuple[int, int, int, int]:
        """(left, top, columns, rows) of the square paper inside the content area."""
        width, height = self.content_size.width, self.content_size.height
        rows = max(0, min(height, width // 2))
        cols = 2 * rows
        return (width - cols) // 2, (height - rows) // 2, cols, rows

    def to_point(self, x: float, y: float) -> Point:
        """The recorded point of a position in content cells (fractions where the terminal sends pixels)."""
        left, top, cols, rows = self.paper()
        if not rows:
            return (0, 0)
        return (_clamp(round((x - left) / cols * SIDE)), _clamp(round((y - top) / rows * SIDE)))

    def _position(self, event: events.MouseEvent) -> Point:
        x, y = event.pointer_x - self.gutter.left, event.pointer_y - self.gutter.top
        # Whole numbers: the terminal reports cells, and the pointer is somewhere in the cell; take its middle.
        if x == int(x) and y == int(y):
            x, y = x + 0.5, y + 0.5
        return self.to_point(x, y)

    # -- the mouse -------------------------------------------------------------

    def _seen(self) -> None:
        if not self.mouse_seen:
            self.mouse_seen = True
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._seen()
        if event.button != 1:
            return
        if self.pen is not None:  # the last release never arrived: that stroke ends here
            self._finish()
        self.pen = [self._position(event)]
        self.capture_mouse()
        self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._seen()
        if self.pen is not None:
            point = self._position(event)
            if point != self.pen[-1]:
                self.pen.append(point)
                self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self._seen()
        if self.pen is None:
            return
        point = self._position(event)
        if point != self.pen[-1]:
            self.pen.append(point)
        self._finish()

    def _finish(self) -> None:
        assert self.pen is not None
        self.strokes.append(self.pen)
        self.pen = None
        self.release_mouse()
        self._changed()
        self.post_message(self.StrokeDrawn(self))

    # -- drawing -----------------------------------------------------------------

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        left, top, cols, rows = self.paper()
        if rows < 2:
            return Text("too small to draw on", style="dim")
        paper = self.get_component_rich_style("sketch-canvas--paper")
        ink = DotGrid(cols, rows)
        pen = DotGrid(cols, rows)
        for stroke in self.strokes:
            _draw(ink, stroke, cols)
        if self.pen is not None:
            _draw(pen, self.pen, cols)
        hint = None if self.mouse_seen else _wrap(NO_MOUSE, cols - 2)
        if hint is not None and len(hint) > rows:
            hint = _wrap("No mouse event yet: this terminal may send none (tmux: set -g mouse on).", cols - 2)
        lines = []
        for row in range(height):
            line = Text(" " * left, no_wrap=True)
            paper_row = row - top
            if 0 <= paper_row < rows:
                line.append_text(self._paper_row(paper_row, ink, pen, paper, hint, rows))
            line.append(" " * (width - line.cell_len))
            lines.append(line)
        return Text("\n").join(lines)

    def _paper_row(self, row: int, ink: DotGrid, pen: DotGrid, paper: Style, hint: list[str] | None, rows: int) -> Text:
        if hint is not None and not self.strokes and self.pen is None:
            first = (rows - len(hint)) // 2
            if 0 <= row - first < len(hint):
                return Text(
                    hint[row - first].center(ink.width), style=self.get_component_rich_style("sketch-canvas--hint")
                )
        inked, penned = ink.row_text(row), pen.row_text(row)
        out = Text("".join(b if b != " " else a for a, b in zip(inked, penned)), style=paper, no_wrap=True)
        if self.pen is not None:  # the stroke under the pen in its own colour, one span per run of cells
            pen_style = self.get_component_rich_style("sketch-canvas--pen")
            start = None
            for i, b in enumerate(penned + " "):
                if b != " " and start is None:
                    start = i
                elif b == " " and start is not None:
                    out.stylize(pen_style, start, i)
                    start = None
        return out


def _draw(grid: DotGrid, stroke: list[Point], cols: int) -> None:
    dots = 2 * cols
    scaled = [(min(dots - 1, x * dots // (SIDE + 1)), min(dots - 1, y * dots // (SIDE + 1))) for x, y in stroke]
    grid.dot(*scaled[0])
    for a, b in zip(scaled, scaled[1:]):
        grid.line(a, b)


def _clamp(v: float) -> int:
    return int(min(SIDE, max(0, v)))


def _wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most ``width`` characters."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
