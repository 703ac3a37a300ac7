"""Folding events into a run's state, and reading a runs folder whatever it holds."""

from __future__ import annotations

import json
import signal

import pytest

from kerasketch.runs import events
from kerasketch.tui.history import RunsFolder, best_by_recipe, data_groups, load_state, sort_runs
from kerasketch.tui.runstate import RunState


def test_live_events_fold_into_progress_best_and_patience(helpers):
    state = RunState(key="live-1", name="like_vgg_adamw")
    kinds = [state.apply(e) for e in helpers.typed(helpers.live_events())]
    assert kinds[0] == "status" and "start" in kinds and kinds[-1] == "batch"
    assert state.status == "running" and state.epochs_done == 5 and state.epochs_planned == 30
    assert state.best_epoch == 4 and state.patience_left == 6 and state.patience == 7
    assert state.batch is not None
    assert (state.batch.epoch, state.batch.step, state.batch.steps, state.batch.metrics) == (
        6,
        22,
        40,
        {"loss": 0.8123, "accuracy": 0.7345},
    )
    assert abs(state.progress - (5 + 22 / 40) / 30) < 1e-9
    assert state.series("val_accuracy")[3] == 0.6011


def test_unknown_and_malformed_events_are_ignored():
    state = RunState(key="k", name="n")
    assert events.parse({"event": "telemetry", "gpu": 1}) is None
    with pytest.raises(events.EventError, match="epoch event without epoch"):
        events.parse({"event": "epoch", "metrics": {}})  # no epoch number
    with pytest.raises(events.EventError, match="epoch should be a whole number"):
        events.parse({"event": "batch", "epoch": "x", "step": 1})
    assert state.epochs == {} and state.status == "starting"


def test_the_fixtures_events_are_what_a_run_writes(helpers):
    """make() checks what the writers emit against the same types the readers parse."""
    for obj in helpers.live_events():
        fields = {k: v for k, v in obj.items() if k not in ("event", "time", "run")}
        made = events.make(obj["event"], obj["run"], **fields)
        assert events.parse({**made, "time": obj["time"]}) == events.parse(obj)
    with pytest.raises(TypeError, match="no field val_acc"):
        events.make("epoch", "r", epoch=1, val_acc=0.5)
    with pytest.raises(events.EventError):
        events.make("end", "r", reason="done")


def test_how_a_child_ended_without_an_end_event_is_told():
    killed = RunState(key="a", name="a", status="running")
    killed.exited(-signal.SIGKILL, [])
    assert killed.status == "killed" and "SIGKILL" in killed.error
    stopped = RunState(key="b", name="b", status="stopping")
    stopped.exited(-signal.SIGTERM, [])  # stopped before its handler was installed
    assert stopped.status == "cancelled"
    crashed = RunState(key="c", name="c", status="preparing")
    crashed.exited(1, ["Traceback (most recent call last):", "ImportError: no module named foo", ""])
    assert crashed.status == "failed" and "ImportError" in crashed.error
    finished = RunState(key="d", name="d", status="finished")
    finished.exited(0, ["done"])
    assert finished.status == "finished" and finished.output_tail == ["done"]


def test_every_folder_is_listed_the_unreadable_ones_included(populated):
    runs, changed = RunsFolder(populated).scan()
    assert changed
    statuses = {s.name: s.status for s in runs.values()}
    assert statuses == {
        "like_vgg_adamw-20261120-100005": "early_stopped",
        "like_vgg-20261119-090005": "early_stopped",
        "baseline-20261121-083005": "failed",
        "ts_cnn-20261122-120005": "cancelled",
        "ai_inno_cnn-20261118-070005": "interrupted",
        "resnet50-20261117-060005": "unreadable",
    }
    assert "unreadable config.json" in runs["runs/resnet50-20261117-060005"].error
    best = sort_runs(runs.values(), "best")
    assert [s.best_val_accuracy for s in best[:3]] == [0.6318, 0.6021, 0.5577]
    assert best[-1].best_val_accuracy is None
    newest = sort_runs(runs.values(), "started")
    assert newest[0].name.startswith("ts_cnn") and newest[-1].status == "unreadable"


def test_a_scan_rereads_only_what_changed(populated, helpers):
    folder = RunsFolder(populated)
    folder.scan()
    runs, changed = folder.scan()
    assert not changed
    helpers.write_finished(populated, "like_vgg_rmsprop-20261125-100005", "like_vgg_rmsprop", day=25)
    runs, changed = folder.scan()
    assert changed and "runs/like_vgg_rmsprop-20261125-100005" in runs


def test_malformed_event_lines_and_config_shapes_never_raise(runs_dir):
    path = runs_dir / "odd-20261126-100000"
    path.mkdir()
    (path / "config.json").write_text(json.dumps(["not", "a", "dict"]))
    (path / "events.jsonl").write_text(
        '{"event": "epoch"}\nnot json\n{"event": "end", "reason": "finished"}\n{"torn": '
    )
    state = load_state(path)
    assert state.status in ("unreadable", "finished")  # either way, no exception


def test_best_by_recipe_keeps_real_and_synthetic_data_apart(populated):
    runs, _ = RunsFolder(populated).scan()
    data, best = best_by_recipe(runs.values())
    assert data is not None and not data.synthetic  # real data first
    assert best["like_vgg_adamw"].best_val_accuracy == 0.6318 and not best["like_vgg_adamw"].synthetic
    assert "like_vgg" not in best  # its only run is on the synthetic set: another data
    assert "baseline" not in best  # failed runs do not count
    (synthetic, _), *_ = [g for g in data_groups(runs.values()) if g[0].synthetic]
    data, best = best_by_recipe(runs.values(), synthetic.key)
    assert data == synthetic and best["like_vgg"].synthetic and "like_vgg_adamw" not in best
