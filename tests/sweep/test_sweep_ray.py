"""`kerasketch sweep` on Ray Tune for real: ASHA, the closing table, resume after SIGKILL, a two-node cluster."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess

import pytest

from kerasketch.cli import build_parser
from kerasketch.cli.run import apply_overrides
from kerasketch.options import settings_from_args
from kerasketch.recipes import registry
from kerasketch.runs import folders
from kerasketch.sweep.trial import saved_trial_ids

from .conftest import read_sweep, run_sweep, sweep_argv, wait_for
from .ray_cluster import two_node_cluster

pytest.importorskip("ray.tune", reason="the [sweep] extra (Ray Tune, Optuna) is not installed")
pytest.importorskip("optuna", reason="the [sweep] extra (Ray Tune, Optuna) is not installed")

pytestmark = [
    pytest.mark.sweep,
    pytest.mark.slow,
    pytest.mark.torch_only("the sweep's trials are runs; the runs themselves are tested on every backend"),
]

ENDED = ("finished", "stopped early")


def events_of(run_dir):
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]


def test_four_trials_with_asha_stopping_weak_ones_early(tmp_path):
    # A first rung at epoch 1 (the default is 2): with 3 epochs, ASHA then has two rungs to stop trials at.
    proc = run_sweep(tmp_path, "--trials", "4", "--max-concurrent", "1", "--grace-period", "1", "--name", "asha")
    folder = tmp_path / "runs" / "asha"
    doc = read_sweep(folder)
    assert doc is not None and doc["status"] == "finished"
    assert doc["space"] == {"learning_rate": "loguniform:0.001:0.3"}
    assert doc["search"]["algorithm"] == "optuna" and doc["search"]["scheduler"] == "asha"
    assert doc["search"]["grace_period"] == 1
    trials = doc["trials"]
    assert len(trials) == 4 and all(t["status"] in ENDED for t in trials), trials
    stopped = [t for t in trials if t["status"] == "stopped early"]
    assert stopped and all(t["epochs"] < 3 for t in stopped), trials  # ASHA ended them before the last epoch
    assert any(t["status"] == "finished" and t["epochs"] == 3 for t in trials), trials

    for t in trials:  # every trial is an ordinary run folder with its own parameters
        run_dir = folder / t["run_dir"]
        config = json.loads((run_dir / "config.json").read_text())
        assert config["recipe"]["optimizer_settings"]["learning_rate"] == pytest.approx(t["params"]["learning_rate"])
        assert t["node_id"] and isinstance(t["best_val_accuracy"], float)
        # Ended like any run, whether it finished or ASHA stopped it: compare counts it.
        assert any(e["event"] == "end" for e in events_of(run_dir)), t
        assert folders.load(run_dir).status == ("finished" if t["status"] == "finished" else "early_stopped"), t
    best = doc["best"]
    top = max(trials, key=lambda t: t["best_val_accuracy"])
    assert best["trial"] == top["id"] and best["best_val_accuracy"] == top["best_val_accuracy"]
    # Test accuracy for the best trial only.
    assert 0.0 <= best["test_accuracy"] <= 1.0
    assert (folder / best["run_dir"] / "eval.json").is_file()
    assert [t["id"] for t in trials if (folder / t["run_dir"] / "eval.json").exists()] == [best["trial"]]

    out = proc.stdout
    assert "trial " in out and "started: learning_rate=" in out and "stopped early by ASHA" in out
    assert f"best trial {best['trial']}: val_accuracy {best['best_val_accuracy']:.4f}" in out
    assert best["command"] in out
    # Ray's own chatter stays off the terminal.
    assert "Trial status" not in out + proc.stderr and "ray.tune" not in proc.stderr

    # The rerun command is a real run command with the best trial's parameters.
    words = shlex.split(best["command"])
    assert words[:3] == ["kerasketch", "run", "baseline"]
    args = build_parser().parse_args(words[1:])
    rerun = apply_overrides(registry.get("baseline"), settings_from_args(args))
    assert rerun.optimizer_settings["learning_rate"] == pytest.approx(best["params"]["learning_rate"])
    assert rerun.batch_size == 16 and rerun.epochs == 3


# Two sweeps in one test: on a machine busy with other training each can take the whole default timeout.
@pytest.mark.timeout(2400)
def test_a_sweep_killed_with_sigkill_resumes_without_repeating_finished_trials(tmp_path):
    # Two trials, one at a time: the first ends before the kill, the second is left for the resumed sweep
    # (a third trial cost CI its time and tested nothing the second does not).
    argv = sweep_argv("--trials", "2", "--max-concurrent", "1", "--scheduler", "none", "--name", "resume")
    folder = tmp_path / "runs" / "resume"
    proc = subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:

        def one_ended():
            doc = read_sweep(folder)
            return doc and [t for t in doc["trials"] if t["status"] in ENDED]

        ended = wait_for(one_ended, 900, "a trial to finish", proc)
        os.kill(proc.pid, signal.SIGKILL)  # the driver only: no chance to save anything
        proc.wait(timeout=60)
        before = {t["id"]: t["run_dir"] for t in ended}
        stamps = {t["run_dir"]: (folder / t["run_dir"] / "events.jsonl").stat().st_mtime_ns for t in ended}

        # --quiet: not part of the sweep's identity; it keeps the essentials and drops the trial lines.
        again = run_sweep(
            tmp_path,
            *("--trials", "2", "--max-concurrent", "1", "--scheduler", "none", "--name", "resume", "--quiet"),
            timeout=1200,
        )
        assert "resuming the sweep" in again.stdout and "best trial " in again.stdout
        assert "started:" not in again.stdout and "finished after" not in again.stdout, again.stdout
        doc = read_sweep(folder)
        assert doc is not None and doc["status"] == "finished"
        assert len(doc["trials"]) == 2 and all(t["status"] == "finished" for t in doc["trials"]), doc["trials"]
        assert len(before) == 1, before  # one trial was left to resume
        after = {t["id"]: t["run_dir"] for t in doc["trials"]}
        for trial_id, run_dir in before.items():
            assert after[trial_id] == run_dir  # the same folder, not trained again
            assert (folder / run_dir / "events.jsonl").stat().st_mtime_ns == stamps[run_dir]
            assert [e["event"] for e in events_of(folder / run_dir)].count("start") == 1
        assert len([p for p in folder.iterdir() if p.name.startswith("trial-")]) == 2  # one folder per trial
        assert saved_trial_ids(folder) == set(after)  # Ray Tune's saved state and sweep.json agree
    finally:
        # Whatever Ray left of the killed driver's session (it should have gone with it).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_sweep_stopped_with_ctrl_c_records_its_cut_trials_as_interrupted(tmp_path):
    # Enough epochs that the trial is still training when the signal comes, whatever the load.
    argv = sweep_argv("--trials", "2", "--max-concurrent", "1", "--scheduler", "none", "--epochs", "200")
    folder_of = lambda: next((p for p in (tmp_path / "runs").glob("*") if (p / "sweep.json").exists()), None)  # noqa: E731
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:

        def training():
            folder = folder_of()
            doc = folder and read_sweep(folder)
            return doc and any(t["status"] == "running" and t["epochs"] >= 1 for t in doc["trials"])

        wait_for(training, 900, "a trial's first epoch", proc)
        proc.send_signal(signal.SIGINT)  # Ctrl-C reaches the driver
        out, _ = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 130, out
    assert "the same command resumes the sweep" in out and "Traceback" not in out
    doc = read_sweep(folder_of())
    assert doc is not None and doc["status"] == "interrupted"
    assert doc["trials"] and all(t["status"] == "interrupted" for t in doc["trials"]), doc["trials"]


# Two minutes of CI's time: `make test-heavy` runs it, and `make test-ray-train` starts the same two-node
# cluster; the sweep tests above keep a real (local) Ray in CI.
@pytest.mark.heavy
def test_address_runs_trials_on_both_nodes_of_a_two_node_cluster(tmp_path, ray_bin):
    with two_node_cluster(ray_bin) as (address, env):
        run_sweep(
            tmp_path,
            *("--trials", "2", "--max-concurrent", "2", "--scheduler", "none", "--epochs", "1"),
            *("--address", address, "--name", "cluster"),
            env=env,
        )
        doc = read_sweep(tmp_path / "runs" / "cluster")
        assert doc is not None and doc["status"] == "finished" and doc["search"]["address"] == address
        nodes = {t["node_id"] for t in doc["trials"]}
        assert len(nodes) == 2 and None not in nodes, doc["trials"]  # one trial on each node's one CPU
