"""``kerasketch compare --format``: the comparison's rows as Markdown, CSV or JSON, one function each.

The rows come in one table per data (runs are compared only on the same data): Markdown heads each
table with its data; CSV and JSON carry ``data_key`` and ``data`` on every row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from ..wording import plural

#: A row's fields, in the order CSV writes them; the ours-side ones are None for a recipe without a finished run,
#: original_val_acc for a recipe of ours (it has no original).
COLUMNS = (
    "number",
    "recipe",
    "loss",
    "optimizer",
    "original_val_acc",
    "best_val_acc",
    "test_acc",
    "best_epoch",
    "epochs_run",
    "train_seconds",
    "classes",
    "drawings",
    "synthetic",
    "backend",
    "world_size",
    "run",
    "caps",
    "data_key",
    "data",
)

#: One table per data: its key (None where no run has finished) and its rows.
Tables = list[tuple[Any, list[dict[str, Any]]]]


def to_markdown(tables: Tables, notes: list[str]) -> str:
    """A heading naming the data, then its table, for each data."""
    lines: list[str] = []
    for key, rows in tables:
        if lines:
            lines.append("")
        if key is not None:
            lines += [f"Data {key.key}: {key.label}", ""]
        lines += _markdown_table(rows)
    for note in notes:  # unreadable folders, left-out runs, or why the table is empty
        lines += ["", note]
    return "\n".join(lines)


def _markdown_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| # | recipe | loss | optimizer | original val_acc | our best val_acc | test acc | epochs to best / run | minutes | data | backend | processes |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    capped = []
    for r in rows:
        if r["run"] is None:
            ours = "| - | - | - | - | no finished run | - | - |"
        else:
            classes = plural(r["classes"], "class", "classes") if isinstance(r["classes"], int) else "? classes"
            data = f"{classes}, {plural(r['drawings'] or 0, 'drawing')}" + (" (synthetic)" if r["synthetic"] else "")
            ours = (
                f"| {r['best_val_acc']:.4f} | {_fixed(r['test_acc'])} | {r['best_epoch']} / {r['epochs_run']} | "
                f"{r['train_seconds'] / 60:.1f} | {data} | {r['backend'] or '?'} | {r['world_size']} |"
            )
            if r["caps"]:
                capped.append(f"- {r['recipe']}: {r['caps']} ({r['run']})")
        lines.append(
            f"| {r['number']} | {r['recipe']} | {r['loss']} | {r['optimizer']} | {_fixed(r['original_val_acc'])} "
            + ours
        )
    if capped:
        lines += ["", "Capped runs:", *capped]
    return lines


def to_csv(tables: Tables, notes: list[str]) -> str:
    """A header and one line per recipe and data; an empty cell where there is no run (the notes are Markdown's alone)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for _, rows in tables for r in rows)
    return out.getvalue().rstrip("\n")


def to_json(tables: Tables, notes: list[str]) -> str:
    """A list of one object per recipe and data, null where there is no run."""
    return json.dumps([{k: r[k] for k in COLUMNS} for _, rows in tables for r in rows], indent=2)


def _fixed(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


FORMATS: dict[str, Callable[[Tables, list[str]], str]] = {
    "markdown": to_markdown,
    "csv": to_csv,
    "json": to_json,
}
