"""A line chart drawn with braille dots: one character holds 2 x 4 points.

Its state (the data, the selected epoch, the zoom) belongs to the widget and
survives updates: new epochs extend the curves without moving the selection
or the zoom, the way users ask of their trackers. It redraws only when told
(an epoch ended, the selection moved, the size changed), never per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from .braille import BRAILLE, DOTS, segment


@dataclass
class Series:
    name: str
    colour: str
    values: list[float | None]
    #: An epoch (1-based) to mark on this curve with ``marker`` (the compare screen's best epochs).
    mark: int | None = None
    marker: str = "●"
    #: Drawn in dashes: a second curve of the same colour (training beside validation).
    dashed: bool = False


class LineChart(Widget):
    """Curves over epochs 1..n, a y axis, an x axis with the best epoch marked (▲)
    and the selected epoch as a dotted column (the values at it in the legend)."""

    DEFAULT_CSS = """
    LineChart { height: 1fr; min-height: 5; }
    """

    #: The epoch the user selected (1-based), or None to follow the latest.
    selected: reactive[int | None] = reactive(None)
    #: Show only the last ``window`` epochs, or all of them.
    window: reactive[int | None] = reactive(None)

    def __init__(
        self,
        title: str,
        *,
        digits: int = 4,
        bounds: tuple[float, float] | None = None,
        legend: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ):
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.digits = digits
        self.bounds = bounds  # e.g. (0, 1) for accuracy: the padded range never leaves it
        self.legend = legend  # False: the title only (many series: a table beside it is the legend)
        self.series: list[Series] = []
        self.best: int | None = None
        self.empty = ""

    def set_data(self, series: list[Series], best: int | None = None, *, empty: str | None = None) -> None:
        self.series = series
        self.best = best
        if empty is not None:
            self.empty = empty
        self.refresh()

    @property
    def length(self) -> int:
        return max((len(s.values) for s in self.series), default=0)

    # -- drawing -----------------------------------------------------------

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        n = self.length
        first = max(0, n - self.window) if self.window else 0
        shown = self.selected if self.selected is not None and first < self.selected <= n else n
        legend = Text(self.title, style="bold")
        for s in self.series if self.legend else ():
            value = s.values[shown - 1] if 0 < shown <= len(s.values) else None
            legend.append(" ")
            legend.append("━", style=s.colour)
            legend.append(f" {s.name} {_fmt(value, self.digits)}")
        if self.selected is not None and n:
            legend.append(f"  @ epoch {shown}", style="dim")
        if self.window and n > self.window:
            legend.append(f"  (last {self.window})", style="dim")
        legend.truncate(width)
        plot_h = height - 2
        if plot_h < 1 or width < 12:
            return legend
        if n == 0:
            body = Text("\n" * (plot_h // 2) + self.empty.center(width), style="dim")
            return Text("\n").join([legend, body])
        values = [v for s in self.series for v in s.values[first:] if v is not None]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        pad = (hi - lo) * 0.05
        lo, hi = lo - pad, hi + pad
        if self.bounds is not None:
            lo, hi = max(lo, self.bounds[0]), min(hi, self.bounds[1])
        labels = [_fmt(hi, self.digits - 1), _fmt((hi + lo) / 2, self.digits - 1), _fmt(lo, self.digits - 1)]
        axis_w = max(len(label) for label in labels) + 1
        plot_w = width - axis_w - 1
        lines = [legend]
        lines += self._plot(first, n, lo, hi, plot_w, plot_h, axis_w, labels, shown)
        lines.append(self._x_axis(first, n, plot_w, axis_w, shown))
        return Text("\n").join(lines)

    def _x(self, epoch: int, first: int, n: int, plot_w: int) -> int:
        """The dot column (0 .. 2*plot_w-1) of an epoch (1-based)."""
        count = n - first
        if count <= 1:
            return plot_w  # a single epoch sits in the middle
        return round((epoch - 1 - first) * (2 * plot_w - 1) / (count - 1))

    def _plot(self, first, n, lo, hi, plot_w, plot_h, axis_w, labels, shown) -> list[Text]:
        dots_h = plot_h * 4
        cells = [[0] * plot_w for _ in range(plot_h)]
        owner: list[list[str | None]] = [[None] * plot_w for _ in range(plot_h)]

        def y_of(v: float) -> int:
            return min(dots_h - 1, max(0, round((hi - v) / (hi - lo) * (dots_h - 1))))

        def dot(x: int, y: int, colour: str) -> None:
            cx, cy = x // 2, y // 4
            if 0 <= cx < plot_w and 0 <= cy < plot_h:
                cells[cy][cx] |= DOTS[x % 2][y % 4]
                owner[cy][cx] = colour

        marks: dict[tuple[int, int], tuple[str, str]] = {}  # (row, column) -> (marker, colour)
        for s in self.series:
            prev = None
            drawn = 0  # dots along the curve, for dashes
            for epoch in range(first + 1, n + 1):
                v = s.values[epoch - 1] if epoch - 1 < len(s.values) else None
                if v is None:
                    prev = None
                    continue
                point = (self._x(epoch, first, n, plot_w), y_of(v))
                if prev is None:
                    dot(*point, s.colour)
                    if n - first == 1:  # a lone point: a 2 x 2 dot block, visible
                        for dx, dy in ((1, 0), (0, 1), (1, 1)):
                            dot(point[0] + dx, point[1] + dy, s.colour)
                else:
                    for x, y in segment(prev, point):
                        drawn += 1
                        if not s.dashed or (drawn // 3) % 2 == 0:
                            dot(x, y, s.colour)
                if s.mark == epoch:
                    marks[(point[1] // 4, point[0] // 2)] = (s.marker, s.colour)
                prev = point
        marked = self._x(shown, first, n, plot_w) // 2 if self.selected is not None else None
        out = []
        for row in range(plot_h):
            label = (
                labels[0]
                if row == 0
                else labels[2]
                if row == plot_h - 1
                else labels[1]
                if row == plot_h // 2 and plot_h > 2
                else ""
            )
            line = Text(label.rjust(axis_w - 1) + " ", style="dim")
            line.append("┤" if label else "│", style="dim")
            for cx in range(plot_w):
                bits = cells[row][cx]
                if (row, cx) in marks:
                    marker, colour = marks[(row, cx)]
                    line.append(marker, style=f"bold {colour}")
                elif bits:
                    line.append(chr(BRAILLE + bits), style=owner[row][cx] or "")
                elif cx == marked:
                    line.append("┊", style="dim")
                else:
                    line.append(" ")
            out.append(line)
        return out

    def _x_axis(self, first: int, n: int, plot_w: int, axis_w: int, shown: int) -> Text:
        """``└1──────▲ best 7──────12`` : the first and last epoch shown, the best one marked."""
        chars = ["─"] * plot_w

        def put(at: int, text: str) -> bool:
            if at < 0 or at + len(text) > plot_w or any(c != "─" for c in chars[at : at + len(text)]):
                return False
            chars[at : at + len(text)] = list(text)
            return True

        best = self.best if self.best is not None and first < self.best <= n else None
        at = min(self._x(best, first, n, plot_w) // 2, plot_w - 1) if best else -1
        if best:
            chars[at] = "▲"
        put(0, str(first + 1))
        if n > first + 1:
            put(plot_w - len(str(n)), str(n))
        if best and not put(at + 1, f" best {best} "):
            put(at - len(f" best {best} "), f" best {best} ")
        line = Text(" " * axis_w + "└", style="dim")
        for ch in chars:
            line.append(ch, style="bold yellow" if ch == "▲" else "dim")
        return line


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"
