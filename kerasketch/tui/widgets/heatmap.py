"""The confusion matrix as a heat map that scrolls smoothly to 200 x 200.

Built on the Line API: :meth:`render_line` draws only the rows and columns in
view, so the cost of a frame does not grow with the number of classes. Row
labels (index and class name) and the column header (the predicted class's
index) stay put while the cells scroll. Colour is the share of the row (the
true class) and every cell also prints its count, so colour is never the only
signal; the cell under the cursor is spelt out by the screen.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

#: A viridis-like ramp: readable on dark and light terminals, and in grey.
_RAMP = (
    (0.0, (0x44, 0x01, 0x54)),
    (0.25, (0x3B, 0x52, 0x8B)),
    (0.5, (0x21, 0x91, 0x8C)),
    (0.75, (0x5E, 0xC9, 0x62)),
    (1.0, (0xFD, 0xE7, 0x25)),
)
NAME_WIDTH = 14


def ramp(share: float) -> tuple[int, int, int]:
    share = min(max(share, 0.0), 1.0)
    for (a, ca), (b, cb) in zip(_RAMP, _RAMP[1:]):
        if share <= b:
            t = (share - a) / (b - a)
            return tuple(round(x + (y - x) * t) for x, y in zip(ca, cb))  # type: ignore[return-value]
    return _RAMP[-1][1]


def cell_style(share: float, *, cursor: bool = False) -> Style:
    r, g, b = ramp(share)
    fg = "black" if share >= 0.6 else "white"
    return Style(color=fg, bgcolor=f"rgb({r},{g},{b})", bold=cursor, reverse=cursor)


class ConfusionHeatmap(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(1)", "Last", show=False),
        Binding("d", "diagonal", "Diagonal", show=False),
    ]

    DEFAULT_CSS = """
    ConfusionHeatmap { height: 1fr; }
    """

    class CellHighlighted(Message):
        def __init__(self, heatmap: ConfusionHeatmap, row: int, col: int) -> None:
            super().__init__()
            self.heatmap = heatmap
            self.row = row
            self.col = col

    cursor: reactive[tuple[int, int]] = reactive((0, 0), always_update=True)

    def __init__(
        self,
        names: list[str],
        matrix: list[list[int]],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ):
        super().__init__(name=name, id=id, classes=classes)
        self.names = names
        self.matrix = matrix
        self.row_sums = [sum(row) for row in matrix]
        largest = max((v for row in matrix for v in row), default=0)
        self.cell_w = max(3, len(str(largest))) + 1
        self.name_w = min(NAME_WIDTH, max((len(n) for n in names), default=4))
        self.index_w = len(str(max(len(names) - 1, 0)))
        self.label_w = self.index_w + 1 + self.name_w + 1
        self.virtual_size = Size(self.label_w + len(names) * self.cell_w, len(names) + 1)

    @property
    def n(self) -> int:
        return len(self.names)

    def share(self, row: int, col: int) -> float:
        return self.matrix[row][col] / self.row_sums[row] if self.row_sums[row] else 0.0

    # -- drawing -------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        crow, ccol = self.cursor
        dim = Style(dim=True)
        # Only the columns in view are drawn.
        col0 = scroll_x // self.cell_w
        col1 = min(self.n, col0 + (width - self.label_w) // self.cell_w + 2)
        offset = scroll_x - col0 * self.cell_w
        if y == 0:
            corner = "true\\pred"[: self.label_w - 1].ljust(self.label_w)
            cells = [
                Segment(str(c).rjust(self.cell_w - 1) + " ", Style(bold=True, reverse=True) if c == ccol else dim)
                for c in range(col0, col1)
            ]
            return self._join_row(Segment(corner, dim), cells, offset, width)
        row = scroll_y + y - 1
        if row >= self.n:
            return Strip.blank(width)
        label = f"{row:>{self.index_w}} {self.names[row][: self.name_w]:<{self.name_w}} "
        label_style = Style(bold=True, reverse=True) if row == crow else Style()
        cells = []
        for col in range(col0, col1):
            count = self.matrix[row][col]
            cursor = row == crow and col == ccol
            if count == 0:
                text, style = "·".rjust(self.cell_w - 1), Style(dim=not cursor, reverse=cursor, bold=cursor)
            else:
                text, style = str(count).rjust(self.cell_w - 1), cell_style(self.share(row, col), cursor=cursor)
            cells.append(Segment(text, style))
            cells.append(Segment(" ", Style(bold=cursor, reverse=cursor) if cursor else Style()))
        return self._join_row(Segment(label, label_style), cells, offset, width)

    def _join_row(self, label: Segment, cells: list[Segment], offset: int, width: int) -> Strip:
        area = max(width - self.label_w, 0)
        body = Strip(cells)
        body = body.crop(offset, offset + area)
        return Strip([label, *body], self.label_w + body.cell_length).adjust_cell_length(width)

    # -- moving --------------------------------------------------------------

    def watch_cursor(self, cursor: tuple[int, int]) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.CellHighlighted(self, *cursor))

    def _scroll_to_cursor(self) -> None:
        row, col = self.cursor
        region = self.scrollable_content_region
        rows_visible = max(region.height - 1, 1)
        area = max(region.width - self.label_w, self.cell_w)
        x, y = self.scroll_offset
        if row < y:
            y = row
        elif row >= y + rows_visible:
            y = row - rows_visible + 1
        left = col * self.cell_w
        if left < x:
            x = left
        elif left + self.cell_w > x + area:
            x = left + self.cell_w - area
        if (x, y) != tuple(self.scroll_offset):
            self.scroll_to(x, y, animate=False, immediate=True)

    def action_move(self, rows: int, cols: int) -> None:
        if self.n:
            row, col = self.cursor
            self.cursor = (min(max(row + rows, 0), self.n - 1), min(max(col + cols, 0), self.n - 1))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(self.scrollable_content_region.height - 2, 1), 0)

    def action_jump(self, end: int) -> None:
        last = self.n - 1 if end else 0
        self.cursor = (last, last)

    def action_diagonal(self) -> None:
        """Jump to the diagonal cell of the current row."""
        self.cursor = (self.cursor[0], self.cursor[0])

    def on_click(self, event: Click) -> None:
        x, y = event.x, event.y
        scroll_x, scroll_y = self.scroll_offset
        if y < 1 or x < self.label_w or not self.n:
            return
        row = scroll_y + y - 1
        col = (scroll_x + x - self.label_w) // self.cell_w
        if 0 <= row < self.n and 0 <= col < self.n:
            self.cursor = (row, col)
