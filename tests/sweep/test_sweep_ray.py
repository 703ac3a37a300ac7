"""`kerasketch sweep` on Ray Tune for real: ASHA, the closing table, resume after SIGKILL, a two-node cluster."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys

import pytest

from kerasketch.cli import build_parser
from kerasketch.cli.run import apply_overrides
from kerasketch.recipes import registry

from .conftest import read_sweep, run_sweep, sweep_argv, wait_for

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
    proc = run_sweep(tmp_path, "--trials", "4", "--max-concurrent", "1", "--name", "asha")
    folder = tmp_path / "runs" / "asha"
    doc = read_sweep(folder)
    assert doc is not None and doc["status"] == "finished"
    assert doc["space"] == {"learning_rate": "loguniform:0.001:0.3"}
    assert doc["search"]["algorithm"] == "optuna" and doc["search"]["scheduler"] == "asha"
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
    rerun = apply_overrides(registry.get("baseline"), args)
    assert rerun.optimizer_settings["learning_rate"] == pytest.approx(best["params"]["learning_rate"])
    assert rerun.batch_size == 16 and rerun.epochs == 3


@pytest.mark.xfail(
    run=False,
    reason="open (issue 14): after a SIGKILL the rerun restores the sweep with 1 trial of 3; not run until fixed",
)
def test_a_sweep_killed_with_sigkill_resumes_without_repeating_finished_trials(tmp_path):
    argv = sweep_argv("--trials", "3", "--max-concurrent", "1", "--scheduler", "none", "--name", "resume")
    folder = tmp_path / "runs" / "resume"
    proc = subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:

        def one_ended():
            doc = read_sweep(folder)
            return doc and [t for t in doc["trials"] if t["status"] in ENDED]

        ended = wait_for(one_ended, 500, "a trial to finish", proc)
        os.kill(proc.pid, signal.SIGKILL)  # the driver only: no chance to save anything
        proc.wait(timeout=60)
        before = {t["id"]: t["run_dir"] for t in ended}
        stamps = {t["run_dir"]: (folder / t["run_dir"] / "events.jsonl").stat().st_mtime_ns for t in ended}

        again = run_sweep(tmp_path, "--trials", "3", "--max-concurrent", "1", "--scheduler", "none", "--name", "resume")
        assert "resuming the sweep" in again.stdout
        doc = read_sweep(folder)
        assert doc is not None and doc["status"] == "finished"
        assert len(doc["trials"]) == 3 and all(t["status"] == "finished" for t in doc["trials"]), doc["trials"]
        after = {t["id"]: t["run_dir"] for t in doc["trials"]}
        for trial_id, run_dir in before.items():
            assert after[trial_id] == run_dir  # the same folder, not trained again
            assert (folder / run_dir / "events.jsonl").stat().st_mtime_ns == stamps[run_dir]
            assert [e["event"] for e in events_of(folder / run_dir)].count("start") == 1
        assert len([p for p in folder.iterdir() if p.name.startswith("trial-")]) == 3  # one folder per trial
    finally:
        # Whatever Ray left of the killed driver's session (it should have gone with it).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.xfail(
    run=False, reason="open (issue 14): the second `ray start --address` on 127.0.0.1 exits 1; not run until fixed"
)
def test_address_runs_trials_on_both_nodes_of_a_two_node_cluster(tmp_path, ray_bin):
    port = _free_port()
    common = ["--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        subprocess.run(
            [ray_bin, "start", "--head", "--port", str(port), "--include-dashboard=false", *common],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        subprocess.run(
            [ray_bin, "start", "--address", f"127.0.0.1:{port}", *common],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        run_sweep(
            tmp_path,
            "--trials",
            "2",
            "--max-concurrent",
            "2",
            "--scheduler",
            "none",
            "--epochs",
            "1",
            "--address",
            f"127.0.0.1:{port}",
            "--name",
            "cluster",
        )
        doc = read_sweep(tmp_path / "runs" / "cluster")
        assert doc is not None and doc["search"]["address"] == f"127.0.0.1:{port}"
        nodes = {t["node_id"] for t in doc["trials"]}
        assert len(nodes) == 2 and None not in nodes, doc["trials"]
    finally:
        stop = subprocess.run([ray_bin, "stop"], env=env, capture_output=True, text=True, timeout=300)
        assert stop.returncode == 0, stop.stdout + stop.stderr
