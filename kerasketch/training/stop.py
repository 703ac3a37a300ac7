"""Stopping a run on SIGTERM (the dashboard's stop) or Ctrl-C, reliably.

Python runs a signal handler between two bytecodes of the main thread, and
an exception raised there lands in whatever code was running. When that is
a weakref callback or a ``__del__`` (torch frees tensors all the time),
Python prints "Exception ignored in ... Stopped" with a traceback on stderr
and carries on. So the handler only records the request, and the run raises
it from :func:`check`, called at every batch (training, validation and test)
and at every step of reading data: a stop is honoured within one batch, and
always from the run's own code.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: After SIGTERM a run unwinds (finishing the step it is in, writing its end
#: event); if that has not ended within this many seconds (a wedged library
#: call), the process exits anyway: a stop must stop.
STOP_DEADLINE = 30.0


class Stopped(KeyboardInterrupt):
    """A stop request, delivered as an interrupt so ``fit`` unwinds the same way as Ctrl-C."""


_requested: str | None = None


def check() -> None:
    """Raise :class:`Stopped` if a stop was requested: cheap enough to call per batch."""
    if _requested is not None:
        raise Stopped(_requested)


@contextmanager
def on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT request a stop, raised by the next :func:`check`.

    After SIGTERM a watchdog exits the process with 130 if the block has not
    been left within :data:`STOP_DEADLINE`; leaving the block cancels it, so
    a process that ran the block in-process lives on.
    """
    global _requested
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread; its owner handles signals
        return
    watchdogs: list[threading.Timer] = []

    def request(signum, frame):
        global _requested
        _requested = signal.Signals(signum).name
        if signum == signal.SIGTERM:
            watchdog = threading.Timer(STOP_DEADLINE, os._exit, (130,))
            watchdog.daemon = True
            watchdog.start()
            watchdogs.append(watchdog)

    # A SIGINT its parent chose to ignore (``nohup``, a background job) stays ignored.
    signals = [s for s in (signal.SIGTERM, signal.SIGINT) if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, request) for sig in signals}
    _requested = None
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for watchdog in watchdogs:
            watchdog.cancel()
        _requested = None
