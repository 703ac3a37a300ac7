"""The data step of a run: the dataset reopened from the cache or built into it, its progress reported."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..data import cache
from ..data.assembly import DataConfig, Dataset
from ..runs import eventlog, events
from . import stop

if TYPE_CHECKING:
    from .run_options import RunOptions


def open_dataset(options: RunOptions, data_config: DataConfig, progress=None) -> Dataset:
    """The run's dataset, reopened from the cache or built into it, read as ``options`` say."""
    return cache.load_or_build(data_config, options.cache_dir, progress=progress, **options.cache_options())


def progress_events(sink: eventlog.EventSink, label: str, bar):
    """Data progress to the presenter's ``bar`` and, a few times a second, as status events."""
    last = [0.0]

    def progress(what: str, done: int, total: int) -> None:
        stop.check()
        bar(what, done, total)
        now = time.perf_counter()
        if now - last[0] >= 0.5 or done == total:
            last[0] = now
            sink.emit(events.make("status", label, message=f"{what} {done}/{total}"))

    return progress
