"""Training loss per batch, from a run's batch events, and its smoothing.

A batch event carries Keras' running mean of the loss over the epoch so far
(its loss tracker is a ``Mean`` weighted by batch size). The mean of the
batches *between* two events of an epoch follows from two running means:
``(k * m_k - j * m_j) / (k - j)`` for steps ``j < k``, exact while batches are
full (the epoch's last, smaller batch weighs slightly less than the formula
assumes). Those interval means are what the run screen plots; the running
mean itself would hide what smoothing is for.
"""

from __future__ import annotations

from collections.abc import Sequence

#: The EMA factors the run screen steps through (0: no smoothing); as TensorBoard's slider.
SMOOTHING = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)
DEFAULT_SMOOTHING = 0.8


def interval_losses(points: Sequence[tuple[int, int, float]]) -> list[float]:
    """The mean training loss of the batches since the previous event, one value per batch event."""
    out: list[float] = []
    prev_epoch, prev_step, prev_mean = 0, 0, 0.0
    for epoch, step, mean in points:
        if epoch != prev_epoch or step <= prev_step:
            prev_step, prev_mean = 0, 0.0  # a new epoch: its tracker started again
        value = (step * mean - prev_step * prev_mean) / (step - prev_step)
        out.append(value)
        prev_epoch, prev_step, prev_mean = epoch, step, mean
    return out


def ema(values: Sequence[float], factor: float) -> list[float]:
    """Exponential moving average, debiased as TensorBoard's (the first values are not pulled to 0)."""
    out: list[float] = []
    last, weight = 0.0, 0.0
    for v in values:
        last = factor * last + (1 - factor) * v
        weight = factor * weight + (1 - factor)
        out.append(last / weight if weight else v)
    return out


def step_smoothing(current: float, direction: int) -> float:
    """The next factor of :data:`SMOOTHING` up (+1) or down (-1), staying at the ends."""
    i = min(range(len(SMOOTHING)), key=lambda k: abs(SMOOTHING[k] - current))
    return SMOOTHING[min(max(i + direction, 0), len(SMOOTHING) - 1)]
