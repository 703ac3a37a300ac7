"""The sketch pad's classifier: a run's model in a long-lived child process.

The dashboard never imports Keras or torch, so the pad talks to
``python -m kerasketch predict RUN --serve --top 5`` (the JSON-lines protocol
of :mod:`kerasketch.inference.jsonl_child`): the child loads ``best.keras`` once,
then answers one line per drawing with the top classes and the exact input
it fed the model. Its stderr goes to a temporary file, whose last lines say
why it stopped if it does.

The child is a plain :class:`subprocess.Popen` (as in :mod:`.runner`), with
only its stdout attached to the event loop, so that :meth:`stop` can end it
synchronously from anywhere: a screen closing, a worker cancelled while the
app exits. Its stdin is a pipe: should the dashboard die without stopping it,
the pipe closes and the child ends on its own.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .launch import child_env
from .runner import read_tail

#: An answer carries the model's input (S x S numbers): allow long lines.
LINE_LIMIT = 16 * 1024 * 1024
#: How long the child may take to end after SIGTERM before it is killed, and to exit after its output ends.
STOP_GRACE = 2.0


class ClassifierError(Exception):
    """The classifier cannot answer: it could not start, cannot use the run, or stopped."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def serve_argv(run_dir: Path, python: str | None = None, top: int = 5) -> list[str]:
    """The child's command line."""
    return [python or sys.executable, "-m", "kerasketch", "predict", str(run_dir), "--serve", "--top", str(top)]


class PadClassifier:
    """One child for one pad; :meth:`start`, then :meth:`ask` per drawing, then :meth:`stop`."""

    def __init__(self, run_dir: Path, *, python: str | None = None, argv: Sequence[str] | None = None):
        self.run_dir = Path(run_dir)
        self.argv = list(argv) if argv is not None else serve_argv(self.run_dir, python)
        self.process: subprocess.Popen | None = None
        self._stderr: IO[bytes] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._transport: asyncio.BaseTransport | None = None

    async def start(self) -> dict[str, Any]:
        """Start the child and wait for its ``ready`` line (the run's name, classes and image size)."""
        self.stop()
        self._stderr = tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=child_env(),
            )
        except OSError as err:
            raise ClassifierError(f"could not start the classifier ({self.argv[0]}: {err})") from None
        loop = asyncio.get_running_loop()
        self._reader = asyncio.StreamReader(limit=LINE_LIMIT)
        reader = self._reader
        self._transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self.process.stdout
        )
        first = await self._read()
        if first.get("event") == "error":
            raise ClassifierError(str(first.get("error")), first.get("hint"))
        if first.get("event") != "ready" or not isinstance(first.get("classes"), list):
            raise ClassifierError(f"the classifier's first line is not 'ready': {json.dumps(first)[:200]}")
        return first

    async def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its answer."""
        process = self.process
        if process is None or process.stdin is None or process.poll() is not None:
            raise self._stopped()
        try:
            process.stdin.write((json.dumps(request, separators=(",", ":")) + "\n").encode())
            process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._stopped() from None
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        """The next JSON object the child writes (anything else on its stdout is skipped)."""
        assert self._reader is not None
        while True:
            try:
                line = await self._reader.readline()
            except ValueError:  # a line over the limit
                continue
            if not line:
                raise self._stopped()
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                return obj

    def _stopped(self) -> ClassifierError:
        """Why the child is gone: its exit status and the last line of its stderr."""
        process = self.process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                code = None
        tail = [line for line in read_tail(self._stderr) if line.strip()]
        self._stderr = None
        if code is None:
            how = "stopped answering"
        else:
            how = f"was killed (signal {-code})" if code < 0 else f"exited with status {code}"
        message = f"the classifier {how}" + (f": {tail[-1]}" if tail else "")
        return ClassifierError(message, "press r to start it again")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """End the child now: it holds nothing to save, and the screen must not wait for it."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        process = self.process
        if process is not None:
            try:
                if process.stdin is not None:
                    process.stdin.close()  # a child between requests ends on its own at end of input...
            except OSError:
                pass
            if process.poll() is None:
                process.terminate()  # ...one still importing Keras is told to
                try:
                    process.wait(timeout=STOP_GRACE)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
