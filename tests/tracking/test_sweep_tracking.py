"""A tracked sweep: one parent run in MLflow with a child per trial, and a TensorBoard folder per sweep."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("mlflow")
pytest.importorskip("ray")


@pytest.mark.sweep
@pytest.mark.heavy  # a Ray sweep with a tracker: make test-heavy
def test_a_sweep_is_a_parent_run_with_a_child_per_trial(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    argv = [
        sys.executable, "-m", "kerasketch", "sweep", "baseline",
        "--data", "synthetic", "--max-per-class", "30", "--classes", "4", "--batch-size", "16", "--epochs", "1",
        "--param", "learning_rate=loguniform:1e-3:1e-1", "--trials", "2", "--max-concurrent", "1",
        "--scheduler", "none", "--name", "tracked-sweep",
        "--track", "mlflow", "--track", "tensorboard", "--track-uri", store,
    ]  # fmt: skip
    env = {**os.environ, "KERAS_BACKEND": "torch", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "warning" not in done.stderr, done.stderr[-3000:]

    from mlflow import MlflowClient

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("kerasketch")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("kerasketch.sweep") == "true"]
    assert parent.data.tags["kerasketch.run_id"] == "tracked-sweep"
    assert parent.info.status == "FINISHED"
    assert "sweep.json" in {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert "best_val_accuracy" in parent.data.metrics and "test_accuracy" in parent.data.metrics
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    sweep_dir = tmp_path / "runs" / "tracked-sweep"
    trials = sorted(p.name for p in sweep_dir.glob("trial-*"))
    assert len(trials) == 2
    assert sorted(r.data.tags["kerasketch.run_id"] for r in children) == trials
    assert all(r.info.status == "FINISHED" for r in children)
    # The best trial was evaluated after its run ended; its test score reached its child run too.
    assert sum("test/accuracy" in r.data.metrics for r in children) == 1
    tensorboard = tmp_path / "runs" / "tracking" / "tensorboard" / "tracked-sweep"
    assert sorted(p.name for p in tensorboard.iterdir()) == trials
