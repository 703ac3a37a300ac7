"""Braille dots, the finest drawing a text terminal offers: 2 x 4 dots per character cell.

The line chart and the sketch pad's canvas both draw with these: a dot grid
in cells, Bresenham's lines between dots, and the braille character of a cell.
"""

from __future__ import annotations

from collections.abc import Iterator

#: The bit of the dot at (x, y) inside a cell, x in 0..1, y in 0..3 (Unicode's dot order).
DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
#: The blank braille character; a cell's character is ``chr(BRAILLE + bits)``.
BRAILLE = 0x2800


class DotGrid:
    """``width`` x ``height`` cells of braille dots; dots outside the grid are ignored."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.cells = [[0] * width for _ in range(height)]

    def dot(self, x: int, y: int) -> None:
        cx, cy = x // 2, y // 4
        if 0 <= cx < self.width and 0 <= cy < self.height and x >= 0 and y >= 0:
            self.cells[cy][cx] |= DOTS[x % 2][y % 4]

    def line(self, a: tuple[int, int], b: tuple[int, int]) -> None:
        for x, y in segment(a, b):
            self.dot(x, y)

    def row_text(self, row: int) -> str:
        """The characters of one row of cells (a blank cell is a space)."""
        return "".join(chr(BRAILLE + bits) if bits else " " for bits in self.cells[row])


def segment(a: tuple[int, int], b: tuple[int, int]) -> Iterator[tuple[int, int]]:
    """Bresenham's line from a to b, both ends included."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    while True:
        yield x0, y0
        if x0 == x1 and y0 == y1:
            return
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy
