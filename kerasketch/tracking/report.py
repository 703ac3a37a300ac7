"""The HTML report of one run (``kerasketch report``'s), made for a tracker to keep."""

from __future__ import annotations

from pathlib import Path

from .record import RunRecord

#: Where the report's files go in a tracker's store.
FOLDER = "report"


def write_run_report(record: RunRecord, out: Path) -> Path:
    """Write the run's report into ``out``; returns the folder holding its index.html and figures."""
    from ..reports.build import write_report  # matplotlib loads only here

    write_report([record.path], out)
    return out / record.run_id
