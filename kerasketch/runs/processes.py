"""Whether a run's (or a sweep driver's) process still runs: a pid and its start time name it for good."""

from __future__ import annotations

import os
from pathlib import Path


def process_started(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, from /proc); None where unknown.

    With the pid, this names one process for good: a pid the kernel hands to a
    new process later has another start time.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22 of stat(5); the split drops the first two
    except (OSError, IndexError, ValueError):
        return None


def this_process() -> dict[str, int | None]:
    """``pid`` and ``pid_started`` of this process, as events and sweep.json record them."""
    return {"pid": os.getpid(), "pid_started": process_started(os.getpid())}


def pid_alive(pid: int | None, started: int | None = None) -> bool:
    """Whether the run's process still runs.

    With ``started`` (what :func:`process_started` said when the run began),
    the process must have that start time: a Ray worker running a trial has no
    "kerasketch" in its command line, and a pid reused by another process
    does not count. Without it (folders written before it was recorded), the
    process must be kerasketch's. A dead but unreaped process (a zombie) never counts.
    """
    if not pid or pid <= 0:  # a damaged file's pid must not name a process group
        return False
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").exists():
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, IndexError):
            return False
        if state == "Z":
            return False
        if started is not None:
            return process_started(pid) == started
        return b"kerasketch" in cmdline
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True
