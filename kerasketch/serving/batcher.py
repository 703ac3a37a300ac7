"""Micro-batching: requests that arrive together share one model call.

A model call costs much the same for one drawing as for thirty (the fixed
cost of a forward pass dominates on a small model), so concurrent requests
queue here and one task runs them together: it takes the first waiting
request, then whatever else arrives within ``max_wait`` seconds, up to
``max_batch`` drawings, and runs the model once on all of them in a worker
thread (one at a time: the model is not shared between threads, and the
event loop keeps accepting requests meanwhile). A request with more drawings
than ``max_batch`` runs alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np


@dataclass
class _Job:
    images: np.ndarray
    done: asyncio.Future[np.ndarray]


class MicroBatcher:
    def __init__(self, predict: Callable[[np.ndarray], np.ndarray], max_batch: int = 32, max_wait: float = 0.005):
        self.predict = predict
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.model_calls = 0
        self.drawings = 0
        self.requests = 0
        self._queue: asyncio.Queue[_Job] | None = None
        self._held: _Job | None = None  # the job that did not fit the last batch: first of the next
        self._task: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kerasketch-model")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def submit(self, images: np.ndarray) -> np.ndarray:
        """The model's output for ``images``, computed with whatever else is waiting."""
        assert self._queue is not None, "start() the batcher first"
        job = _Job(images, asyncio.get_running_loop().create_future())
        self.requests += 1
        await self._queue.put(job)
        return await job.done

    async def _next_batch(self) -> list[_Job]:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        first = self._held or await self._queue.get()
        self._held = None
        jobs, count = [first], len(first.images)
        deadline = loop.time() + self.max_wait
        while count < self.max_batch:
            try:
                if self._queue.empty():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                else:
                    job = self._queue.get_nowait()
            except TimeoutError:
                break
            if count + len(job.images) > self.max_batch:
                self._held = job
                break
            jobs.append(job)
            count += len(job.images)
        return jobs

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [job for job in await self._next_batch() if not job.done.cancelled()]  # the client went away
            if not jobs:
                continue
            images = np.concatenate([job.images for job in jobs]) if len(jobs) > 1 else jobs[0].images
            try:
                out = await loop.run_in_executor(self._thread, self.predict, images)
            except Exception as err:  # the model failed: every request of the batch hears it, the loop goes on
                for job in jobs:
                    if not job.done.done():
                        job.done.set_exception(err)
                continue
            self.model_calls += 1
            self.drawings += len(images)
            start = 0
            for job in jobs:
                stop = start + len(job.images)
                if not job.done.done():
                    job.done.set_result(out[start:stop])
                start = stop
