"""Run a recipe module that SIGKILLs itself at the first batch of a given epoch.

A test that kills a child from outside once it sees an epoch event races the
child: on a loaded machine the run can end before the kill lands. Killing
from inside, after the first training batch of epoch N (1-based), lands
mid-epoch at the same point whatever the load; it is still a real SIGKILL
(no handler, nothing written after it).

    python tests/killed_child.py EPOCH kerasketch.recipes.NAME [run options...]

Tests build that command line with :func:`python_argv`.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
from pathlib import Path


def python_argv(module: str, killed_at_epoch: int | None = None) -> list[str]:
    """``python -m MODULE``, or this script running MODULE and killing it mid-epoch ``killed_at_epoch``."""
    if killed_at_epoch is None:
        return [sys.executable, "-m", module]
    return [sys.executable, str(Path(__file__).resolve()), str(killed_at_epoch), module]


def _kill_at(epoch: int) -> None:
    from kerasketch.training.callbacks import RunEvents  # Keras: only in the child

    original = RunEvents.on_train_batch_end

    def on_train_batch_end(self, batch, logs=None):
        original(self, batch, logs)
        if self._epoch + 1 == epoch and batch == 0:
            os.kill(os.getpid(), signal.SIGKILL)

    RunEvents.on_train_batch_end = on_train_batch_end  # type: ignore[method-assign]


if __name__ == "__main__":
    epoch, module, *argv = sys.argv[1:]
    _kill_at(int(epoch))
    sys.argv = [module, *argv]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
