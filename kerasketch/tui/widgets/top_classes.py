"""The likeliest classes of a drawing, each with a bar as long as its probability."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

#: Eighths of a cell, for bars that grow smoothly.
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(fraction: float, width: int) -> str:
    """``fraction`` (0-1) of ``width`` cells in block characters, to an eighth of a cell."""
    eighths = round(min(1.0, max(0.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[part] if part else "")).ljust(width)


class TopClasses(Static):
    """One row per class: name, bar, percentage; the first in bold."""

    DEFAULT_CSS = """
    TopClasses { height: 5; }
    """

    def __init__(self, rows: int = 5, *, id: str | None = None):
        super().__init__(id=id)
        self.rows = rows
        self.top: list[dict[str, Any]] = []

    def show(self, top: list[dict[str, Any]], stale: bool = False) -> None:
        """The answer's ``top`` list (``class``, ``probability``); ``stale``: the drawing changed since."""
        self.top = list(top)[: self.rows]
        self.update(self._text(self.content_size.width or 30, stale))

    def on_resize(self) -> None:
        if self.top:
            self.update(self._text(self.content_size.width, False))

    def _text(self, width: int, stale: bool) -> Text:
        name_w = max(6, min(16, width // 2 - 2))
        bar_w = max(4, width - name_w - 8)
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, item in enumerate(self.top):
            p = float(item["probability"])
            name = str(item["class"])
            name = name if len(name) <= name_w else name[: name_w - 1] + "…"
            style = "dim" if stale else "bold" if i == 0 else ""
            if i:
                out.append("\n")
            out.append(name.ljust(name_w) + " ", style=style)
            out.append(bar(p, bar_w), style="dim" if stale else "green" if i == 0 else "cyan")
            out.append(f" {p * 100:5.1f}%", style=style)
        return out
