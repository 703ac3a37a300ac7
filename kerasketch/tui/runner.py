"""Children that train: start them, read their events, stop them.

Each run is ``python -m kerasketch.recipes.NAME --events - ...`` in its own
process (and session), watched by one Textual worker that reads its stdout
line by line and posts a :class:`RunEvent` per event, then a
:class:`RunExited`. Training never shares the dashboard's process, so a crash
there cannot take the dashboard down.

Why not ``asyncio.create_subprocess_exec``: its transport kills the child
when it is closed, and the dashboard must be able to quit and leave a run
going (the run folder is complete whatever the dashboard does). So the child
is a plain :class:`subprocess.Popen`, only its stdout pipe is attached to the
event loop, and its stderr goes to an unnamed temporary file rather than a
pipe that would break under a run that outlives the dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import psutil

from kerasketch.runs import events

from .launch import LaunchRequest, child_env
from .messages import RunEvent, RunExited

if TYPE_CHECKING:
    from textual.app import App

#: A start event carries the whole config (200 class names and more): allow long lines.
LINE_LIMIT = 32 * 1024 * 1024
OUTPUT_TAIL = 40


@dataclass
class Child:
    key: str
    request: LaunchRequest
    argv: list[str]
    process: subprocess.Popen | None = None
    stderr: IO[bytes] | None = None
    stop_requested_at: float | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class RunManager:
    """The children of this dashboard, by key (``live-1``, ``live-2``, ...)."""

    def __init__(self, app: App, runs_dir: Path, python: str | None = None):
        self.app = app
        self.runs_dir = Path(runs_dir)
        self.python = python
        self.children: dict[str, Child] = {}
        self._ids = itertools.count(1)

    def launch(self, request: LaunchRequest) -> Child:
        key = f"live-{next(self._ids)}"
        child = Child(key, request, request.argv(self.runs_dir, self.python))
        self.children[key] = child
        self.app.run_worker(self._supervise(child), name=f"run {key}", group="runs", exit_on_error=False)
        return child

    def alive(self) -> list[Child]:
        return [c for c in self.children.values() if c.alive]

    def stop(self, key: str) -> str:
        """SIGTERM: the run ends as *cancelled*. Asked again, SIGKILL. Returns what was done.

        Under ``--nproc`` the child is torch's elastic launcher and the ranks are its children:
        the launcher passes a SIGTERM on to them, but a SIGKILL it cannot, and each rank has a
        session of its own, so the ranks are killed too, by their pids."""
        child = self.children.get(key)
        if child is None or child.process is None or not child.alive:
            return "not running"
        if child.stop_requested_at is None:
            child.stop_requested_at = time.monotonic()
            child.process.send_signal(signal.SIGTERM)
            return "stopping"
        ranks = descendants(child.process.pid)  # before the launcher dies: then they have a new parent
        child.process.send_signal(signal.SIGKILL)
        for process in ranks:
            with contextlib.suppress(psutil.Error):
                process.kill()
        return "killed"

    def stop_all(self) -> int:
        alive = self.alive()
        for child in alive:
            if child.stop_requested_at is None:
                self.stop(child.key)
        return len(alive)

    async def _supervise(self, child: Child) -> None:
        loop = asyncio.get_running_loop()
        try:
            child.stderr = tempfile.TemporaryFile()
            child.process = subprocess.Popen(
                child.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=child.stderr,
                env=child_env(),
                start_new_session=True,  # a closed terminal's SIGHUP must not kill it
            )
        except OSError as err:
            self.app.post_message(RunExited(child.key, None, [], error=f"could not start {child.argv[0]}: {err}"))
            return
        process = child.process
        lost: str | None = None
        try:
            await self._read_events(loop, child.key, process)
        except Exception as err:
            lost = f"the dashboard lost this run's events ({type(err).__name__}: {err}); its folder is still written"
        # stdout closed: the child is exiting. Poll rather than block a thread on wait().
        while process.poll() is None:
            await asyncio.sleep(0.1 if lost is None else 1.0)
        self.app.post_message(RunExited(child.key, process.returncode, self._tail(child), error=lost))

    async def _read_events(self, loop: asyncio.AbstractEventLoop, key: str, process: subprocess.Popen) -> None:
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), process.stdout)
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # a line over the limit: skip it, keep reading
                    continue
                if not line:
                    return
                obj = events.decode(line.decode("utf-8", errors="replace"))
                try:
                    event = events.parse(obj)
                except events.EventError as err:
                    # A malformed event is skipped like a stray print; the run's folder keeps the record.
                    self.app.log.warning(f"{key}: {err.message}")
                    continue
                if event is not None:
                    self.app.post_message(RunEvent(key, event))
        finally:
            # Closes our end of the pipe only; the child is never killed here.
            transport.close()

    @staticmethod
    def _tail(child: Child) -> list[str]:
        return read_tail(child.stderr)


def descendants(pid: int) -> list[psutil.Process]:
    """The processes started by ``pid`` and by those, at any depth (none once it has gone)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def read_tail(stderr: IO[bytes] | None, lines: int = OUTPUT_TAIL) -> list[str]:
    """The last ``lines`` lines a child wrote to its stderr file, which is closed afterwards."""
    if stderr is None:
        return []
    try:
        stderr.seek(0, os.SEEK_END)
        size = stderr.tell()
        stderr.seek(max(0, size - 64 * 1024))
        text = stderr.read().decode("utf-8", errors="replace")
        stderr.close()
    except (OSError, ValueError):
        return []
    return list(deque((line.rstrip() for line in text.splitlines()), maxlen=lines))
