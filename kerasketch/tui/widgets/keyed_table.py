"""A data table whose rows are keyed, with the key of the row under the cursor."""

from __future__ import annotations

from textual.widgets import DataTable


class KeyedTable(DataTable):
    """Rows are added with ``key=``; ``selected_key`` is the cursor row's, or None."""

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # the cursor can sit past the rows for a moment while the table refills
            return None
