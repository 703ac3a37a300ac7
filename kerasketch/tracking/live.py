"""While a run trains (``--track``): its folder sent to the trackers after each epoch, off the training thread.

The run's event listener only puts a note on a small bounded queue (waiting
at most :data:`PUT_TIMEOUT_S`, then dropping it: the next note sends the same
folder, which by then holds more). A thread of its own reads the folder and
sends what each tracker lacks, so a slow or dead tracker never holds an
epoch up. A tracker that fails is reported once, on stderr, and left alone
for the rest of the run; the training goes on, and ``kerasketch runs export``
completes the tracker's copy later. At the end the run's HTML report is made
and sent with its files.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .export import failure, report_folder
from .exporters import exporter
from .kinds import require
from .record import read_record
from .target import Exporter, Target

PUT_TIMEOUT_S = 0.2
QUEUE_SIZE = 8
#: How long the end of a run waits for the trackers to take its files and report.
FINISH_TIMEOUT_S = 120.0
_FINAL = "final"


def warn_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class LiveTracker:
    """Give :meth:`listener` to the run's event sink; call :meth:`finish` once the run returned."""

    def __init__(
        self,
        kinds: Iterable[str],
        target: Target,
        *,
        warn: Callable[[str], None] = warn_stderr,
        finish_timeout: float = FINISH_TIMEOUT_S,
    ):
        self.kinds = tuple(dict.fromkeys(kinds))
        for kind in self.kinds:
            require(kind)  # one line before training, not a failure after it
        self.target = replace(target, live=True)
        self.warn = warn
        self.finish_timeout = finish_timeout
        self.run_dir: Path | None = None
        self.failed: dict[str, str] = {}  # tracker -> why it was given up
        self.sent: dict[str, str] = {}  # tracker -> where the run's copy is
        self._exporters: dict[str, Exporter] = {}
        self._abandoned = False
        self._queue: queue.Queue[str] = queue.Queue(QUEUE_SIZE)
        self._thread = threading.Thread(target=self._work, name="kerasketch-trackers", daemon=True)

    # -- on the training thread ----------------------------------------------------

    def listener(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "start" and event.get("run_dir"):
            self.run_dir = Path(event["run_dir"])
            if not self._thread.is_alive():
                self._thread.start()
            self._note(kind)
        elif kind == "epoch" and self.run_dir is not None:
            self._note(kind)

    def _note(self, what: str) -> None:
        # When the thread is behind, the note it is working on sends this epoch too.
        with contextlib.suppress(queue.Full):
            self._queue.put(what, timeout=PUT_TIMEOUT_S)

    def finish(self, run_dir: Path | None = None) -> None:
        """After the run: send its end, files and report, waiting at most ``finish_timeout``."""
        self.run_dir = run_dir or self.run_dir
        if self.run_dir is None:
            return  # the run ended before it had a folder: nothing to send
        if not self._thread.is_alive():
            self._thread.start()
        with contextlib.suppress(queue.Full):
            self._queue.put(_FINAL, timeout=self.finish_timeout)
        self._thread.join(self.finish_timeout)
        if self._thread.is_alive():
            self._abandoned = True  # this is the one warning: the thread's own failure later is not told
            pending = [k for k in self.kinds if k not in self.failed]
            self.warn(
                f"warning: {', '.join(pending)} still busy after {self.finish_timeout:.0f} s; the run folder is "
                f"complete: `kerasketch runs export {self.run_dir} --to {pending[0]}` sends the rest"
            )

    # -- on the trackers' thread -------------------------------------------------------

    def _work(self) -> None:
        while True:
            what = self._queue.get()
            if what == _FINAL:
                self._send(final=True)
                return
            self._send(final=False)

    def _send(self, final: bool) -> None:
        assert self.run_dir is not None
        try:
            record = read_record(self.run_dir)
        except Exception as err:  # a folder being written: the next note reads it again
            if final:
                self.warn(f"warning: the trackers could not read {self.run_dir}: {failure(err)}")
            return
        report_dir = None
        with tempfile.TemporaryDirectory(prefix="kerasketch-report-") as tmp:
            for kind in self.kinds:
                if kind in self.failed:
                    continue
                try:
                    sender = self._exporters.get(kind)
                    if sender is None:
                        sender = exporter(kind, self.target)
                        sender.open(record)
                        self._exporters[kind] = sender
                    sender.send(record)
                    if final:
                        if report_dir is None:
                            report_dir = report_folder(record, Path(tmp))
                        sender.finish(record, report_dir)
                        self.sent[kind] = sender.where()
                except Exception as err:
                    self._give_up(kind, err)

    def _give_up(self, kind: str, err: BaseException) -> None:
        self.failed[kind] = failure(err)
        if self._abandoned:
            return
        self.warn(
            f"warning: --track {kind} failed ({self.failed[kind]}); the training goes on without it, and "
            f"`kerasketch runs export {self.run_dir} --to {kind}` sends the run later"
        )
