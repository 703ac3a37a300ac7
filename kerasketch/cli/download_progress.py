"""Rich progress for ``kerasketch data download``: one bar for the file in flight and one for the run."""

from __future__ import annotations

from rich.console import Console
from rich.filesize import decimal
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ..data.download import DownloadResult


class RichDownloadProgress:
    """A ``DownloadProgress`` drawing on stderr; use it as a context manager.

    Bars count bytes of the server's file. The run's total is an estimate (the
    sizes seen so far, extrapolated to the classes not reached yet) since a
    file's size is only known once its header has been read.
    """

    def __init__(self, n_classes: int):
        self._n = n_classes
        self._finished = 0
        self._planned: list[int] = []  # bytes to fetch per file started
        self._file_at = 0
        self._file_bytes = 0
        self._file: TaskID | None = None
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._overall = self._progress.add_task(self._overall_text(), total=None)

    def __enter__(self) -> RichDownloadProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def file_started(self, cls: str, size: int, done: int) -> None:
        self._planned.append(size - done)
        self._file_at = done
        self._file_bytes = 0
        self._file = self._progress.add_task(escape(cls), total=size, completed=done)
        self._progress.update(self._overall, total=self._estimate(in_flight=True))

    def file_at(self, offset: int) -> None:
        if offset == self._file_at:
            return
        self._planned[-1] += self._file_at - offset
        self._file_at = offset
        if self._file is not None:
            self._progress.reset(self._file, completed=offset)
            self._progress.update(self._overall, total=self._estimate(in_flight=True))

    def advance(self, size: int) -> None:
        self._file_at += size
        self._file_bytes += size
        self._progress.advance(self._overall, size)
        if self._file is not None:
            self._progress.advance(self._file, size)

    def file_finished(self, result: DownloadResult) -> None:
        self._finished += 1
        if self._file is not None:
            # A failed file fetched less than planned: count what it did fetch.
            self._planned[-1] = self._file_bytes
            self._progress.remove_task(self._file)
            self._file = None
        self._progress.update(self._overall, description=self._overall_text(), total=self._estimate(in_flight=False))
        self._progress.console.print(_result_line(result), highlight=False)

    def _estimate(self, in_flight: bool) -> int | None:
        if not self._planned:
            return None
        unreached = self._n - self._finished - (1 if in_flight else 0)
        return sum(self._planned) + round(sum(self._planned) / len(self._planned) * unreached)

    def _overall_text(self) -> str:
        return f"all classes {self._finished}/{self._n}"


def _result_line(result: DownloadResult) -> str:
    name = escape(result.cls)
    if result.status == "failed":
        # The hint stays in ``result.error`` for the caller's summary; one line suffices here.
        first_line = (result.error or "").splitlines()[0] if result.error else ""
        return f"[red]failed[/] {name}: {escape(first_line)}"
    if result.status == "skipped":
        return f"[dim]skipped[/] {name}: already present ({result.rows:,} drawings)"
    return f"[green]{result.status}[/] {name}: {result.rows:,} drawings, {decimal(result.bytes)} received"
