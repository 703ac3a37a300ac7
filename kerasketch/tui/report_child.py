"""``e``: the dashboard writes a run's report through ``kerasketch report`` in a child process.

The report draws with matplotlib, which the dashboard never imports (it
would cost its start-up and share a process with a library it does not
need); the child is the command a user would type, so the files are the
same. Its outcome comes back as text for a notification.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .launch import child_env


@dataclass(frozen=True)
class ReportJob:
    runs: list[Path]
    output: Path

    @property
    def page(self) -> Path:
        """The page to open: the run's own for one run, the index that overlays them for several."""
        return self.output / self.runs[0].name / "index.html" if len(self.runs) == 1 else self.output / "index.html"

    def argv(self, python: str | None = None) -> list[str]:
        return [python or sys.executable, "-m", "kerasketch", "report", *map(str, self.runs), "-o", str(self.output)]


def job_for(runs: list[Path], reports_dir: Path) -> ReportJob:
    """One run into ``reports_dir`` (as ``kerasketch report RUN`` does); several into a folder of their own,
    so that one comparison's index does not replace another's."""
    if len(runs) == 1:
        return ReportJob(runs, reports_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return ReportJob(runs, reports_dir / f"compare-{stamp}")


@dataclass(frozen=True)
class ReportOutcome:
    ok: bool
    text: str


async def run_report(job: ReportJob, python: str | None = None) -> ReportOutcome:
    """Run the child to its end; its ``error:`` line (and hint) is the message when it fails."""
    try:
        process = await asyncio.create_subprocess_exec(
            *job.argv(python),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(),
        )
    except OSError as err:
        return ReportOutcome(False, f"could not start the report ({err})")
    _, stderr = await process.communicate()
    if process.returncode == 0:
        return ReportOutcome(True, f"report written: {job.page}")
    lines = [line for line in stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
    said = next((line.removeprefix("error: ") for line in lines if line.startswith("error: ")), None)
    hint = next((line for line in lines if line.startswith("hint: ")), None)
    why = said or (lines[-1] if lines else f"exit status {process.returncode}")
    return ReportOutcome(False, f"report failed: {why}" + (f"\n{hint}" if hint else ""))
