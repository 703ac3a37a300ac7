"""A sweep's trials: parameters, status, best val_accuracy, epochs, processes and node, the best marked.

Read from ``sweep.json`` (:mod:`kerasketch.runs.sweepfile`), again every
couple of seconds while the sweep runs; ``s`` sorts by best val_accuracy or
by trial, enter opens the trial's run screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kerasketch.errors import KerasketchError
from kerasketch.runs import sweepfile

from ..messages import OpenRun

#: How often a running sweep's file is read again (seconds).
REFRESH = 2.0


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "-" if value is None else str(value)


class SweepScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "sort", "Sort"),
    ]

    def __init__(self, folder: Path, refresh: float = REFRESH):
        super().__init__()
        self.folder = Path(folder)
        self.sort_by = "best"  # or "trial"
        self.doc: sweepfile.Sweep | None = None
        self._refresh = refresh

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="sweep-about")
        yield DataTable(id="trials", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()
        self.set_interval(self._refresh, self._reload_if_running)
        self.query_one("#trials").focus()

    def _reload_if_running(self) -> None:
        if self.doc is None or self.doc.get("status") == "running":
            self.reload()

    def reload(self) -> None:
        try:
            doc = sweepfile.read(self.folder)
        except KerasketchError as err:
            self.query_one("#sweep-about", Static).update(Text(err.message, style="red"))
            return
        if doc == self.doc:
            return
        self.doc = doc
        self._show()

    def rows(self) -> list[sweepfile.Trial]:
        trials = list((self.doc or {}).get("trials", []))
        return sweepfile.ranked(trials) if self.sort_by == "best" else sorted(trials, key=lambda t: t["id"])

    def _show(self) -> None:
        doc = self.doc or {}
        names = list(doc.get("space", {}))
        best = (doc.get("best") or {}).get("trial")
        ranked = sweepfile.ranked(list(doc.get("trials", [])))
        leader = best or (ranked[0]["id"] if ranked and ranked[0].get("best_val_accuracy") is not None else None)
        about = Text()
        about.append(f"sweep {doc.get('name', self.folder.name)}", style="bold")
        about.append(f" · {doc.get('recipe', '?')} · {doc.get('status', '?')} · ")
        search = doc.get("search", {})
        about.append(f"{search.get('algorithm', '?')}, {search.get('scheduler', '?')} · seed {search.get('seed', '?')}")
        about.append(f" · {len(doc.get('trials', []))}/{search.get('trials', '?')} trials")
        test = (doc.get("best") or {}).get("test_accuracy")
        if test is not None:
            about.append(f" · best's test accuracy {test:.4f}")
        self.query_one("#sweep-about", Static).update(about)
        table = self.query_one("#trials", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        by = " ▼"
        table.add_column("", key="mark", width=2)
        table.add_column("trial" + (by if self.sort_by == "trial" else ""), key="trial")
        for n in names:
            table.add_column(n, key=f"p:{n}")
        for label, key in (("status", "status"), ("best val" + (by if self.sort_by == "best" else ""), "best")):
            table.add_column(label, key=key)
        table.add_column("epochs", key="epochs")
        table.add_column("procs", key="procs")  # the trial's run's processes (sweep --nproc)
        table.add_column("node", key="node")
        for t in self.rows():
            mark = Text("★", style="bold green") if t["id"] == leader else ""
            table.add_row(
                mark,
                t["id"],
                *(_fmt(t.get("params", {}).get(n)) for n in names),
                t.get("status", "?"),
                _fmt(t.get("best_val_accuracy")),
                str(t.get("epochs", 0)),
                str(t.get("world_size", 1)),
                (t.get("node_id") or "-")[:8],
                key=t["id"],
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)

    def action_sort(self) -> None:
        self.sort_by = "trial" if self.sort_by == "best" else "best"
        self._show()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        trial = next((t for t in (self.doc or {}).get("trials", []) if t["id"] == event.row_key.value), None)
        if trial is None or not trial.get("run_dir"):
            self.notify("this trial has no run folder yet", severity="warning")
            return
        self.post_message(OpenRun(str(self.folder / str(trial["run_dir"]))))
