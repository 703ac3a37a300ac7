"""After the fact: ``kerasketch runs export RUN... --to TRACKER``.

Old, interrupted and still-running folders alike: whatever the folder holds
is sent, and whatever the tracker's copy already has is not sent again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import KerasketchError, RunError
from .exporters import exporter
from .record import RunRecord, read_record
from .report import write_run_report
from .target import Exporter, Target


def export_run(path: Path, kind: str, target: Target) -> str:
    """Send one run folder to ``kind``; returns where its copy is, in words."""
    record = read_record(path)
    sender = exporter(kind, target)
    try:
        send_all(sender, record)
    except KerasketchError:
        raise
    except Exception as err:  # the tracker's own errors: a server that refused, a disk that is full
        raise RunError(
            f"could not export {record.run_id} to {kind}: {failure(err)}",
            "check the tracker's address and the disk; exporting again sends only what is missing",
        ) from None
    return sender.where()


def send_all(sender: Exporter, record: RunRecord) -> None:
    """Open, send and finish, with the run's HTML report where one can be made."""
    sender.open(record)
    sender.send(record)
    with tempfile.TemporaryDirectory(prefix="kerasketch-report-") as tmp:
        sender.finish(record, report_folder(record, Path(tmp)))


def report_folder(record: RunRecord, out: Path) -> Path | None:
    """The run's report, or None for a folder it cannot be made of (no epoch yet, say)."""
    try:
        return write_run_report(record, out)
    except KerasketchError:
        return None


def failure(err: BaseException) -> str:
    """A tracker library's error in one line (MLflow's carry the server's whole answer)."""
    text = str(err).strip().splitlines()
    first = text[0] if text else ""
    shown = first if len(first) <= 200 else first[:197] + "..."
    return f"{type(err).__name__}: {shown}" if shown else type(err).__name__
