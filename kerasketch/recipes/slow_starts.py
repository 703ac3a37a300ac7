"""Recipes whose first epochs look like a defect to a newcomer, and what the real data showed.

A run of one of these that ends before the epoch its recipe needed says so in one line
(:func:`note`), so that a low score after a few epochs reads as the recipe's pace, not a bug.
The figures come from the runs in docs/results/accuracy.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SlowStart:
    why: str  # what makes it slow, in a few words
    epochs_to_best: int  # the epoch of its best val_accuracy on the real data
    data: str  # which data that was
    source: str  # where the run is written up


SLOW_STARTS = {
    "baseline": SlowStart(
        why="the log's plain SGD at lr 0.01 learns slowly at first",
        epochs_to_best=45,
        data="the 37 real classes",
        source="docs/results/accuracy.md",
    ),
}


def note(recipe: str, epochs_run: int) -> str | None:
    """The one-line note for a run of ``recipe`` that ended after ``epochs_run`` epochs, if it needs one."""
    slow = SLOW_STARTS.get(recipe)
    if slow is None or epochs_run >= slow.epochs_to_best:
        return None
    return (
        f"note: {recipe} is slow to start, by design ({slow.why}): on {slow.data} its best epoch was "
        f"{slow.epochs_to_best}, and this run stopped after {epochs_run}; a low score now is its pace, "
        f"not a defect ({slow.source})"
    )
