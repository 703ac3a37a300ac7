"""Terminal output shared by the command line and the recipes: errors and progress."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .errors import KerasketchError

if TYPE_CHECKING:
    from rich.progress import TaskID


def report_error(err: BaseException) -> int:
    """Print one clear message for ``err`` on stderr and return the exit status."""
    if isinstance(err, KerasketchError):
        print(f"error: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
        return err.exit_code
    if isinstance(err, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    if os.environ.get("KERASKETCH_DEBUG"):
        traceback.print_exception(err)
    else:
        print(f"internal error: {type(err).__name__}: {err}", file=sys.stderr)
        print(
            "hint: this is a bug in kerasketch; set KERASKETCH_DEBUG=1 to see the traceback and report it",
            file=sys.stderr,
        )
    return 1


#: What a shell reports for a command ended by SIGPIPE.
EXIT_BROKEN_PIPE = 141


def silence_stdout() -> int:
    """After a reader stopped early (``| head``): point stdout at /dev/null and return the exit status.

    Python flushes stdout again at exit and would print "Exception ignored"; with
    stdout on /dev/null nothing is left to fail.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def guarded(main: Callable[[], int | None]) -> int:
    """Run ``main`` and turn any exception into a message and an exit status."""
    try:
        return main() or 0
    except BrokenPipeError:
        return silence_stdout()  # the reader of our output went away: nothing to report to
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException as err:
        return report_error(err)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A ``(what, done, total)`` callback drawing a rich progress bar on stderr."""
    if not enabled:
        yield lambda what, done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        yield update
