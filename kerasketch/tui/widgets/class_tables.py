"""Beside the heat map: the most-confused pairs, and accuracy per class next to its size.

The second answers the original log's open question, whether the class
imbalance hurts: sort by training count and read the accuracies, or read
the rank correlation above the table.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from .. import fmt


class ConfusedPairsTable(DataTable):
    def __init__(self, pairs: list[tuple[str, str, int, float]], **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.pairs = pairs

    def on_mount(self) -> None:
        self.add_column("true → predicted", key="pair", width=21)
        self.add_column("n", key="n", width=3)
        self.add_column("row", key="share", width=4)
        for t, p, c, s in self.pairs:
            self.add_row(f"{t} → {p}", str(c), fmt.pct(s))


class PerClassTable(DataTable):
    """Class, training count, test support, accuracy (recall) and, where eval.json has them, precision
    and F1. Sorted by a key (s) or by clicking a header."""

    SORTS = ("accuracy", "train_count", "class")

    def __init__(self, per_class: list[dict[str, Any]], **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.per_class = per_class
        self.sort_by = "accuracy"

    def on_mount(self) -> None:
        self.add_column("class", key="class", width=11)
        self.add_column("train", key="train_count", width=7)
        self.add_column("test", key="test_support", width=4)
        self.add_column("acc", key="accuracy", width=6)
        # Older eval.json files (before issue 36) have accuracy alone.
        self.scored = any("f1" in c for c in self.per_class)
        if self.scored:
            self.add_column("prec", key="precision", width=6)
            self.add_column("F1", key="f1", width=6)
        self.sort_rows("accuracy")

    def sort_rows(self, by: str) -> None:
        """Worst accuracy first (what needs attention), largest classes first, or by name."""
        self.sort_by = by

        def key(c: dict[str, Any]) -> Any:
            v = c.get(by)
            if by == "class":
                return str(v)
            if by == "train_count":
                return (v is None, -(v or 0), c.get("accuracy") or 0)
            return (v is None, v or 0, -(c.get("train_count") or 0))

        # Labels first: adding the rows then invalidates the table's render caches.
        for label, column_key in (("class", "class"), ("train", "train_count"), ("acc", "accuracy")):
            arrow = "" if column_key != by else " ▼" if by == "train_count" else " ▲"
            self.columns[column_key].label = Text(label + arrow)  # type: ignore[index]
        self.clear()
        for c in sorted(self.per_class, key=key):
            acc = c.get("accuracy")
            self.add_row(
                str(c.get("class", "?")),
                str(c.get("train_count", "-")),
                str(c.get("test_support", "-")),
                Text(fmt.num(acc, 3), style="red" if isinstance(acc, (int, float)) and acc < 0.5 else ""),
                *((fmt.num(c.get("precision"), 3), fmt.num(c.get("f1"), 3)) if self.scored else ()),
            )

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key in ("accuracy", "train_count", "class"):
            self.sort_rows(key)
        elif key in ("test_support", "precision", "f1"):
            self.sort_rows("train_count")
        event.stop()
