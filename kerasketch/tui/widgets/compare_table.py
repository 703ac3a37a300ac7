"""The compare screen's table: one row per run, its colour and number (the curves' legend),
the settings that differ, the results; sorted by any column (``s`` or a click on its header)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text

from .. import fmt
from .keyed_table import KeyedTable


@dataclass
class CompareRow:
    key: str
    number: int  # 1-based, as the curves' best-epoch markers show it (10 as 0)
    colour: str
    name: str
    started: str | None  # when it began: the history's way of telling runs apart
    settings: list[str]
    best: float | None
    best_epoch: int | None
    test: float | None
    top3: float | None
    seconds: float | None


#: The result columns after the settings: (title, key, width, higher is better).
RESULTS = (
    ("best val", "best", 8, True),
    ("@", "best_epoch", 3, False),
    ("test", "test", 6, True),
    ("top-3", "top3", 6, True),
    ("time", "seconds", 8, False),
)


def marker(number: int) -> str:
    return str(number % 10)


class CompareTable(KeyedTable):
    def __init__(self, **kwargs):
        # The number (the curves' legend) and the start stay in view while the settings scroll.
        super().__init__(cursor_type="row", zebra_stripes=True, fixed_columns=2, **kwargs)
        self.rows_data: list[CompareRow] = []
        self.setting_labels: list[str] = []
        self.sort_key: str = "number"
        self.sort_reverse = False

    def show(self, labels: list[str], rows: list[CompareRow]) -> None:
        selected = self.selected_key
        if labels != self.setting_labels or not self.columns:
            self.clear(columns=True)
            # The run (by its start, as the history shows it) and its recipe, then the results:
            # at 80 columns they stay in view, and the other settings scroll in.
            self.add_column("#", key="number", width=3)
            self.add_column("started", key="name", width=11)
            lead = 1 if labels[:1] == ["recipe"] else 0
            for i in range(lead):
                self.add_column(labels[i], key=f"s{i}", width=self._width(labels, rows, i))
            for title, key, width, _ in RESULTS:
                self.add_column(title, key=key, width=width)
            for i in range(lead, len(labels)):
                self.add_column(labels[i], key=f"s{i}", width=self._width(labels, rows, i))
            self.setting_labels = list(labels)
        else:
            self.clear()
        self.rows_data = rows
        lead = 1 if labels[:1] == ["recipe"] else 0
        for row in self._sorted(rows):
            swatch = Text("━", style=f"bold {row.colour}")
            swatch.append(marker(row.number), style=f"bold {row.colour}")
            self.add_row(
                swatch,
                fmt.started(row.started),
                *row.settings[:lead],
                fmt.num(row.best),
                str(row.best_epoch) if row.best_epoch else "-",
                fmt.num(row.test),
                fmt.num(row.top3),
                fmt.seconds(row.seconds),
                *row.settings[lead:],
                key=row.key,
            )
        self._label_sorted()
        keys = [r.key for r in self._sorted(rows)]
        if selected in keys:
            self.move_cursor(row=keys.index(selected), animate=False)

    @staticmethod
    def _width(labels: list[str], rows: list[CompareRow], i: int) -> int:
        return min(max([len(labels[i]) + 2, *(len(r.settings[i]) for r in rows)]), 24)

    def _value(self, row: CompareRow, key: str) -> Any:
        if key == "name":
            return row.started or ""
        if key.startswith("s") and key[1:].isdigit():
            return row.settings[int(key[1:])]
        return getattr(row, key)

    def _sorted(self, rows: list[CompareRow]) -> list[CompareRow]:
        key = self.sort_key

        def order(row: CompareRow) -> tuple:
            v = self._value(row, key)
            # Missing values last whichever the direction; numbers as numbers, text as text.
            missing = v is None or v == "-"
            return (missing != self.sort_reverse, (0, v) if isinstance(v, (int, float)) else (1, str(v)))

        return sorted(rows, key=order, reverse=self.sort_reverse)

    def sort_by(self, key: str) -> None:
        """Sort by a column; the same column again reverses. Results sort best first."""
        if key == self.sort_key:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_key = key
            self.sort_reverse = any(k == key and higher for _, k, _, higher in RESULTS)
        self.show(self.setting_labels, self.rows_data)

    def next_sort(self) -> str:
        """``s``: the next column to sort by; its title."""
        keys = [str(c.value) for c in self.columns]
        at = keys.index(self.sort_key) if self.sort_key in keys else -1
        self.sort_key = ""  # sort_by then sets the column's natural direction
        key = keys[(at + 1) % len(keys)]
        self.sort_by(key)
        return str(self.columns[key].label).rstrip(" ▲▼")  # type: ignore[index]

    def _label_sorted(self) -> None:
        for column in self.columns.values():
            title = str(column.label).rstrip(" ▲▼")
            if column.key.value == self.sort_key:
                title += " ▼" if self.sort_reverse else " ▲"
            column.label = Text(title)
