"""Training loss per batch on the run screen: from the batch events, smoothed by an EMA the user sets."""

from __future__ import annotations

import pytest

from kerasketch.runs import events
from kerasketch.runs.state import RunSummary
from kerasketch.tui import batch_loss
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.messages import RunEvent
from kerasketch.tui.runstate import RunState
from kerasketch.tui.screens.run_detail import RunScreen
from kerasketch.tui.widgets.line_chart import LineChart

#: Per-batch losses of two epochs of 6 steps, and the events a run writes of them: every 2nd step.
LOSSES = [[3.0, 2.8, 2.9, 2.5, 2.4, 2.6], [2.2, 2.1, 2.3, 1.9, 2.0, 1.8]]


def running_means(losses: list[float]) -> list[float]:
    return [sum(losses[: i + 1]) / (i + 1) for i in range(len(losses))]


def batch_events(name: str = "run") -> list[events.Batch]:
    out = []
    for epoch, losses in enumerate(LOSSES, start=1):
        means = running_means(losses)
        for step in (2, 4, 6):
            out.append(events.Batch(run=name, epoch=epoch, step=step, steps=6, metrics={"loss": means[step - 1]}))
    return out


def test_interval_losses_recover_the_batches_between_events():
    """From Keras' running means, the mean of the batches since the previous event, epoch by epoch."""
    points = [(b.epoch, b.step, b.metrics["loss"]) for b in batch_events()]
    want = [sum(ls[i : i + 2]) / 2 for ls in LOSSES for i in (0, 2, 4)]
    assert batch_loss.interval_losses(points) == pytest.approx(want)


def test_ema_is_debiased_and_zero_is_no_smoothing():
    """The first value is kept (not pulled to 0), 0 leaves the values alone, more smoothing lags more."""
    values = [4.0, 2.0, 2.0, 2.0]
    assert batch_loss.ema(values, 0.0) == values
    assert batch_loss.ema(values, 0.9)[0] == 4.0
    assert batch_loss.ema(values, 0.9)[-1] > batch_loss.ema(values, 0.5)[-1] > 2.0
    assert batch_loss.step_smoothing(0.8, 1) == 0.9 and batch_loss.step_smoothing(0.0, -1) == 0.0


def test_a_resumed_run_drops_the_batches_of_the_epoch_it_redoes():
    """A run killed in epoch 2 and resumed from epoch 1 keeps epoch 1's batches and epoch 2's second go only."""
    summary = RunSummary(name="run")
    for b in batch_events()[:5]:  # killed at epoch 2, step 4
        summary.apply(b)
    summary.apply(events.Start(run="run", initial_epoch=1))
    for b in batch_events()[3:]:
        summary.apply(b)
    assert [(e, s) for e, s, _ in summary.batch_losses] == [(1, 2), (1, 4), (1, 6), (2, 2), (2, 4), (2, 6)]


def test_the_batch_tab_plots_the_losses_and_the_keys_change_the_smoothing(runs_dir, helpers):
    """Tab 5 shows raw and smoothed batch losses; ] smooths more, [ less, and the factor is on screen."""

    async def scenario():
        app = KerasketchApp(runs_dir=runs_dir, watch_interval=0, ui_interval=0.01, progress_interval=0.01)
        async with app.run_test(size=(100, 30)) as pilot:
            state = RunState(key="live-1", name="like_vgg_adamw", recipe="like_vgg_adamw", live=True)
            app.store.add_live(state)
            for b in batch_events():
                app.post_message(RunEvent("live-1", b))
            await helpers.wait_for(pilot, lambda: len(state.batch_losses) == 6, 30, "the batch events folded")
            app.open_run("live-1")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run screen")
            await pilot.press("5")
            await helpers.settle(pilot)
            chart = app.screen.query_one("#batch-chart", LineChart)
            raw, smooth = chart.series
            want = batch_loss.interval_losses(state.batch_losses)
            assert raw.values == pytest.approx(want)
            assert smooth.values == pytest.approx(batch_loss.ema(want, 0.8))
            assert "EMA 0.8" in helpers.text_of(app.screen.query_one("#batch-note"))
            await pilot.press("right_square_bracket")
            assert chart.series[1].values == pytest.approx(batch_loss.ema(want, 0.9))
            assert "EMA 0.9" in helpers.text_of(app.screen.query_one("#batch-note"))
            for _ in range(6):
                await pilot.press("left_square_bracket")
            assert len(chart.series) == 1  # no smoothing: the raw curve alone
            assert "EMA 0 " in helpers.text_of(app.screen.query_one("#batch-note"))
            # A new batch event extends the curve on the open screen.
            app.post_message(RunEvent("live-1", events.Batch(run="x", epoch=3, step=2, steps=6, metrics={"loss": 1.7})))
            await helpers.wait_for(pilot, lambda: len(chart.series[0].values) == 7, 30, "the curve to grow")

    helpers.run_async(scenario())
