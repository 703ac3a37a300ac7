"""The exact image a model was given, in half-block cells: two pixels per character.

Each cell is ``▀`` with the upper pixel's grey as its colour and the lower
pixel's as its background, so a 28 x 28 input takes 28 columns by 14 rows.
An image wider than the widget is shown at a whole fraction of its size
(each cell the brightest of its block), and says so.
"""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.widget import Widget


class InputPreview(Widget):
    DEFAULT_CSS = """
    InputPreview { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.image: list[list[int]] | None = None
        self.empty = "the model's input shows here after a stroke"

    def show(self, image: list[list[int]] | None) -> None:
        self.image = image
        self.refresh()

    def step(self, width: int, height: int) -> int:
        """Pixels per cell column (and per half row) for the image to fit."""
        size = len(self.image or [])
        step = 1
        while size and (size / step > width or size / step / 2 > height):
            step += 1
        return step

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        if not self.image:
            return Text(self.empty, style="dim")
        step = self.step(width, height)
        grid = _shrink(self.image, step)
        n = len(grid)
        lines = []
        for y in range(0, n, 2):
            line = Text(no_wrap=True)
            for x in range(len(grid[0])):
                top = grid[y][x]
                bottom = grid[y + 1][x] if y + 1 < n else 0
                line.append("▀", Style(color=_grey(top), bgcolor=_grey(bottom)))
            lines.append(line)
        return Text("\n").join(lines)


def _grey(v: int) -> Color:
    v = int(min(255, max(0, v)))
    return Color.from_rgb(v, v, v)


def _shrink(image: list[list[int]], step: int) -> list[list[int]]:
    if step == 1:
        return image
    size = len(image)
    return [
        [
            max(image[yy][xx] for yy in range(y, min(y + step, size)) for xx in range(x, min(x + step, len(image[0]))))
            for x in range(0, len(image[0]), step)
        ]
        for y in range(0, size, step)
    ]
