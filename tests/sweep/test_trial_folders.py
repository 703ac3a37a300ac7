"""A trial's run folders and Ray Tune's saved state: one folder per trial, whatever kill came between."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kerasketch.data.assembly import DataConfig
from kerasketch.recipes import registry
from kerasketch.runs import eventlog, events, folders
from kerasketch.runs.jsonfile import write_json_atomically
from kerasketch.sweep import trial


def _job(sweep_dir: Path) -> trial.Job:
    return trial.Job(registry.get("baseline"), DataConfig(data="synthetic"), sweep_dir, "s", None, True)


def _save_state(sweep_dir: Path, ids: list[str], stamp: str = "2026-12-02_10-00-00") -> Path:
    """An experiment state file shaped as Ray Tune 2.x writes it: each trial a JSON text first."""
    path = trial.tune_path(sweep_dir) / f"experiment_state-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = [[json.dumps({"trial_id": i, "stub": False}), "{}"] for i in ids]
    path.write_text(json.dumps({"trial_data": data, "runner_data": {}, "stats": {}}))
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _folder(sweep_dir: Path, name: str, tag: str, epochs: int = 0, backup: bool = False) -> Path:
    run_dir = sweep_dir / name
    run_dir.mkdir(parents=True)
    write_json_atomically(run_dir / folders.CONFIG, {"recipe": {"name": "baseline"}, "options": {"tag": tag}})
    lines = [events.make("start", name, run_dir=str(run_dir), pid=_dead_pid())]
    lines += [events.make("epoch", name, epoch=e, metrics={"val_accuracy": 0.5}) for e in range(1, epochs + 1)]
    (run_dir / folders.EVENTS).write_text("".join(events.encode(e) + "\n" for e in lines))
    if backup:
        (run_dir / folders.BACKUP).mkdir()
    return run_dir


def test_no_saved_state_names_no_trial(tmp_path):
    assert trial.saved_trial_ids(tmp_path) is None


def test_the_newest_saved_state_names_the_trials(tmp_path):
    old = _save_state(tmp_path, ["a"], "2026-12-02_09-00-00")
    new = _save_state(tmp_path, ["a", "b"])
    # Newest by the session time in the name, as Ray Tune restores: each sync copies the killed session's
    # file into the folder again, so it can be the one touched last.
    stamp = new.stat().st_mtime_ns
    os.utime(old, ns=(stamp + 10**9, stamp + 10**9))
    assert trial.saved_trial_ids(tmp_path) == {"a", "b"}


def test_a_damaged_saved_state_names_nothing(tmp_path):
    _save_state(tmp_path, ["a"]).write_text('{"trial_data": [["not json"')
    assert trial.saved_trial_ids(tmp_path) is None


def test_a_trial_waits_until_the_saved_state_names_it(tmp_path, monkeypatch):
    monkeypatch.setattr(trial, "SAVED_STATE_WAIT_S", 60.0)
    _save_state(tmp_path, ["other"])
    saved = threading.Event()

    def save_later():
        time.sleep(1.0)
        _save_state(tmp_path, ["other", "mine"], "2026-12-02_10-00-01")
        saved.set()

    threading.Thread(target=save_later, daemon=True).start()
    trial._wait_until_saved(_job(tmp_path), "mine")
    assert saved.is_set()


def test_a_trial_trains_anyway_when_no_saved_state_names_it(tmp_path, monkeypatch):
    # A cluster node that cannot see the sweep folder's .tune must not wait for ever.
    monkeypatch.setattr(trial, "SAVED_STATE_WAIT_S", 0.5)
    started = time.monotonic()
    trial._wait_until_saved(_job(tmp_path), "mine")
    assert time.monotonic() - started < 30


def test_only_the_trials_own_attempts_killed_without_a_backup_are_removed(tmp_path):
    job = _job(tmp_path)
    mine = trial.tag(job, "t1")
    empty = _folder(tmp_path, "trial-t1-a", mine)
    with_epoch = _folder(tmp_path, "trial-t1-b", mine, epochs=1)
    with_backup = _folder(tmp_path, "trial-t1-c", mine, backup=True)
    other = _folder(tmp_path, "trial-t2-a", trial.tag(job, "t2"))
    assert folders.load(empty).status == events.Status.INTERRUPTED
    trial._remove_empty_attempts(job, "t1")
    assert not empty.exists() and not with_epoch.exists()  # the new attempt trains these epochs again
    assert with_backup.is_dir() and other.is_dir()


def test_a_restored_sweep_reports_to_this_sessions_recorder(tmp_path):
    pytest.importorskip("ray.tune", reason="the [sweep] extra (Ray Tune, Optuna) is not installed")
    from ray import cloudpickle

    from kerasketch.sweep import tune

    cls = tune._recorder_class()
    killed = cls({"trials": [{"id": "a"}]}, tmp_path, print)
    pickled = cloudpickle.dumps(killed)  # what tuner.pkl keeps
    this = cls({"trials": []}, tmp_path, print)
    tune._SESSION["recorder"] = this
    try:
        assert cloudpickle.loads(pickled) is this
    finally:
        tune._SESSION.clear()


def test_a_restore_forgets_trials_ray_did_not_save(tmp_path):
    pytest.importorskip("ray.tune", reason="the [sweep] extra (Ray Tune, Optuna) is not installed")
    from kerasketch.sweep import tune

    doc = {"trials": [{"id": "a", "status": "finished"}, {"id": "b", "status": "running"}]}
    recorder = tune._recorder_class()(doc, tmp_path, print)
    recorder.keep_only({"a"})
    assert [t["id"] for t in doc["trials"]] == ["a"]
    assert json.loads((tmp_path / "sweep.json").read_text())["trials"] == [{"id": "a", "status": "finished"}]
    recorder.keep_only(None)  # nothing known: nothing forgotten
    assert [t["id"] for t in doc["trials"]] == ["a"]


@pytest.mark.parametrize(("last_epoch", "status"), [(True, "finished"), (False, "early_stopped")])
def test_a_trial_ray_ended_gets_an_end_event_and_counts_in_compare(tmp_path, capsys, last_epoch, status):
    """ASHA stops a trial at a report, before its run writes its end: the driver ends the folder."""
    pytest.importorskip("ray.tune", reason="the [sweep] extra (Ray Tune, Optuna) is not installed")
    from types import SimpleNamespace

    from run_folders import classes, write_run

    from kerasketch.cli import main
    from kerasketch.sweep import tune

    write_run(tmp_path, "trial-t1", classes=classes(6), best=0.47, reason=None)
    assert folders.load(tmp_path / "trial-t1").status == events.Status.INTERRUPTED
    doc = {"trials": [{"id": "t1", "params": {}, "status": "running", "epochs": 2, "run_dir": "trial-t1"}]}
    recorder = tune._recorder_class()(doc, tmp_path, print)
    done = SimpleNamespace(trial_id="t1", config={}, last_result={"last_epoch": last_epoch})
    recorder.on_trial_complete(0, [], done)
    run = folders.load(tmp_path / "trial-t1")
    assert run.status == status and run.best_val_accuracy == 0.47 and run.best_epoch == 2
    recorder.on_trial_complete(0, [], done)  # a second time writes nothing more
    ends = [e for e in eventlog.read(tmp_path / "trial-t1" / folders.EVENTS) if e["event"] == "end"]
    assert len(ends) == 1
    capsys.readouterr()
    assert main(["compare", str(tmp_path)]) == 0
    assert "| 0.4700 |" in capsys.readouterr().out


def test_a_run_that_wrote_its_end_is_left_as_it_is(tmp_path):
    from run_folders import classes, write_run

    write_run(tmp_path, "trial-t2", classes=classes(3), best=0.5, reason="finished")
    assert not trial.close_run(tmp_path, "trial-t2", "early_stopped")
    assert not trial.close_run(tmp_path, None, "finished") and not trial.close_run(tmp_path, "absent", "finished")
    assert folders.load(tmp_path / "trial-t2").status == "finished"
