"""Trackers for real: a tracked recipe run sent live to a local MLflow server, TensorBoard files and offline
W&B, each read back with the tracker's own reader and compared with the run folder; exports after the fact
that duplicate nothing; a server that dies mid-run or hangs.

One MLflow server and one tracked run serve the module (starting either takes tens of seconds on 2 cores).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kerasketch.runs import events, folders
from kerasketch.tracking.live import LiveTracker
from kerasketch.tracking.record import BATCH_LOSS, epoch_metric_names, flatten, read_record
from kerasketch.tracking.target import Target

from .servers import MlflowServer, SilentServer
from .wandb_offline import offline_runs, read_offline_run

pytest.importorskip("mlflow")
pytest.importorskip("tensorboardX")
pytest.importorskip("wandb")

SMALL = ["--data", "synthetic", "--classes", "6", "--max-per-class", "40"]
RUN_TIMEOUT_S = 600


def recipe_command(runs_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "kerasketch.recipes.like_vgg_adamw", *SMALL, "--runs-dir", str(runs_dir), *extra]


def tracked_env(uri: str, wandb_dir: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "KERAS_BACKEND": "torch", "MLFLOW_TRACKING_URI": uri, "WANDB_MODE": "offline"}
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tracked(server, tmp_path_factory):
    """The issue's command, smaller: a recipe run with --track mlflow --track tensorboard --track wandb."""
    runs = tmp_path_factory.mktemp("runs")
    done = subprocess.run(
        recipe_command(runs, "--epochs", "2", "--track", "mlflow", "--track", "tensorboard", "--track", "wandb"),
        env=tracked_env(server.uri),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "warning" not in done.stderr, done.stderr[-3000:]
    (run_dir,) = [p for p in runs.iterdir() if (p / folders.CONFIG).is_file()]
    return run_dir, done


def mlflow_run(uri: str, run_id: str):
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("kerasketch")
    found = client.search_runs([experiment.experiment_id], filter_string=f"tags.`kerasketch.run_id` = '{run_id}'")
    return client, found


def epochs_of(run_dir: Path) -> list[events.Epoch]:
    return folders.load(run_dir).epochs()


def expected_series(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every epoch metric of events.jsonl as (epoch, value), under the names trackers get."""
    out: dict[str, list[tuple[int, float]]] = {}
    for e in epochs_of(run_dir):
        for name, value in epoch_metric_names(e).items():
            out.setdefault(name, []).append((e.epoch, value))
    return out


def test_mlflow_holds_the_run_folder(server, tracked):
    run_dir, _ = tracked
    client, found = mlflow_run(server.uri, run_dir.name)
    assert len(found) == 1
    run = found[0]
    assert run.info.status == "FINISHED"
    config = json.loads((run_dir / folders.CONFIG).read_text())
    assert run.data.params == flatten(config)
    assert run.data.params["recipe.name"] == "like_vgg_adamw"
    assert run.data.params["recipe.epochs"] == "2"

    expected = expected_series(run_dir)
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "system/images_per_second"} <= set(expected)
    for name, series in expected.items():
        history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, name))
        assert history == series, name
    batches = client.get_metric_history(run.info.run_id, BATCH_LOSS)
    assert len(batches) == len(read_record(run_dir).metrics[BATCH_LOSS]) > 0
    evaluation = json.loads((run_dir / folders.EVAL).read_text())
    assert run.data.metrics["test/accuracy"] == pytest.approx(evaluation["test"]["accuracy"])

    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"best.keras", "eval.json", "config.json", "events.jsonl", "report"} <= names
    report = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert {"report/index.html", "report/curves.png", "report/confusion.png"} <= report

    import keras
    import numpy as np

    local = client.download_artifacts(run.info.run_id, "best.keras", str(run_dir.parent / "downloaded"))
    model = keras.saving.load_model(local, compile=False)
    original = keras.saving.load_model(run_dir / folders.BEST, compile=False)
    x = np.random.default_rng(0).random((2, *model.input_shape[1:]), dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), original.predict(x, verbose=0), rtol=1e-6)


def test_tensorboard_holds_the_same_epochs(tracked):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir, _ = tracked
    folder = run_dir.parent / "tracking" / "tensorboard" / run_dir.name
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    accumulator.Reload()
    for name, series in expected_series(run_dir).items():
        got = accumulator.Scalars(name)
        assert [s.step for s in got] == [step for step, _ in series], name
        assert [s.value for s in got] == pytest.approx([v for _, v in series], rel=1e-6), name  # float32 there
    assert len(accumulator.Scalars(BATCH_LOSS)) == len(read_record(run_dir).metrics[BATCH_LOSS])
    assert "curves" in accumulator.Tags()["images"]
    assert (folder / "report" / "index.html").is_file()


def test_wandb_offline_holds_config_and_summary(tracked):
    run_dir, _ = tracked
    (path,) = offline_runs(run_dir.parent / "tracking", run_dir.name)
    run = read_offline_run(path)
    params = flatten(json.loads((run_dir / folders.CONFIG).read_text()))
    config = {k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in run.config.items()}
    assert {k: config[k] for k in params} == params
    evaluation = json.loads((run_dir / folders.EVAL).read_text())
    assert run.summary["test/accuracy"] == pytest.approx(evaluation["test"]["accuracy"])
    rows = [h for h in run.history if "epoch" in h]
    expected = expected_series(run_dir)
    for name, series in expected.items():
        assert [(h["epoch"], h[name]) for h in rows] == series, name
    assert run.artifacts == 1


def test_exporting_again_duplicates_nothing(server, tracked, tmp_path):
    run_dir, _ = tracked
    client, before = mlflow_run(server.uri, run_dir.name)
    lengths = {k: len(client.get_metric_history(before[0].info.run_id, k)) for k in before[0].data.metrics}
    track_dir = run_dir.parent / "tracking"
    for kind in ("mlflow", "tensorboard", "wandb"):
        done = subprocess.run(
            [sys.executable, "-m", "kerasketch", "runs", "export", str(run_dir), "--to", kind],
            env=tracked_env(server.uri),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert run_dir.name in done.stdout
    client, after = mlflow_run(server.uri, run_dir.name)
    assert [r.info.run_id for r in after] == [r.info.run_id for r in before]
    assert {k: len(client.get_metric_history(after[0].info.run_id, k)) for k in after[0].data.metrics} == lengths

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = track_dir / "tensorboard" / run_dir.name
    assert len(list(folder.glob("events.out.tfevents.*"))) == 1
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    accumulator.Reload()
    assert [s.step for s in accumulator.Scalars("loss")] == [1, 2]
    assert len(offline_runs(track_dir, run_dir.name)) == 1


def test_an_old_run_folder_without_system_metrics_exports(server, tracked, tmp_path):
    run_dir, _ = tracked
    old = tmp_path / "old-run"
    shutil.copytree(run_dir, old)
    lines = []
    for line in (old / folders.EVENTS).read_text().splitlines():
        obj = json.loads(line)
        obj.pop("system", None)
        if obj["event"] in ("start", "epoch", "batch", "end", "status"):
            obj["run"] = old.name
        lines.append(json.dumps(obj))
    (old / folders.EVENTS).write_text("\n".join(lines) + "\n")
    record = read_record(old)
    assert not [k for k in record.metrics if k.startswith("system/")]
    from kerasketch.tracking.export import export_run

    where = export_run(old, "mlflow", Target(track_dir=tmp_path / "tracking", uri=server.uri))
    assert "MLflow run" in where
    client, found = mlflow_run(server.uri, old.name)
    assert [(m.step, m.value) for m in client.get_metric_history(found[0].info.run_id, "loss")] == [
        (e.epoch, e.metrics["loss"]) for e in epochs_of(old)
    ]


def test_a_hanging_server_never_holds_the_training_thread(tracked, tmp_path):
    """The run's listener returns at once while MLflow's client waits on a server that never answers."""
    run_dir, _ = tracked
    silent = SilentServer()
    warnings: list[str] = []
    try:
        tracker = LiveTracker(
            ["mlflow"], Target(track_dir=tmp_path, uri=silent.uri), warn=warnings.append, finish_timeout=60
        )
        start = {"event": "start", "run": run_dir.name, "run_dir": str(run_dir)}
        slowest = 0.0
        for event in [start] + [{"event": "epoch", "run": run_dir.name, "epoch": n} for n in range(1, 30)]:
            began = time.perf_counter()
            tracker.listener(event)
            slowest = max(slowest, time.perf_counter() - began)
        assert slowest < 1.0
        tracker.finish(run_dir)
    finally:
        silent.close()
    assert len(warnings) == 1, warnings
    assert "--track mlflow failed" in warnings[0] and "runs export" in warnings[0]


# Minutes on 2 cores (three epochs, the server stopped and started, an export); the hanging server's test
# above covers the one-warning-and-go-on part in make test.
@pytest.mark.heavy
def test_the_server_dying_mid_run_loses_nothing(server, tmp_path):
    """The server is stopped after the first epoch: the run finishes with one warning, and an export
    after the server is back completes MLflow's copy."""
    runs = tmp_path / "runs"
    child = subprocess.Popen(
        # Streamed from the cache: tracking composes with how a run reads its data.
        recipe_command(runs, "--epochs", "3", "--track", "mlflow", "--stream", "always"),
        env=tracked_env(server.uri),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        run_dir = None
        while time.monotonic() < deadline and child.poll() is None:
            made = [p for p in runs.glob("*") if (p / folders.EVENTS).is_file()] if runs.is_dir() else []
            if made and epochs_of(made[0]):
                run_dir = made[0]
                break
            time.sleep(0.2)
        assert run_dir is not None, "the run ended or stalled before its first epoch"
        server.stop()
        _, err = child.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
        if server.process is None:
            server.start()
    assert child.returncode == 0, err[-3000:]
    assert err.count("warning:") == 1, err[-3000:]
    assert "--track mlflow failed" in err and f"kerasketch runs export {run_dir}" in err
    assert len(epochs_of(run_dir)) == 3

    done = subprocess.run(
        [sys.executable, "-m", "kerasketch", "runs", "export", str(run_dir), "--to", "mlflow"],
        env=tracked_env(server.uri),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    client, found = mlflow_run(server.uri, run_dir.name)
    assert len(found) == 1
    assert found[0].info.status == "FINISHED"
    for name, series in expected_series(run_dir).items():
        assert sorted((m.step, m.value) for m in client.get_metric_history(found[0].info.run_id, name)) == series
    assert "best.keras" in {a.path for a in client.list_artifacts(found[0].info.run_id)}


def test_an_unwritable_tensorboard_folder_costs_one_warning_and_stops_nothing(tracked, tmp_path):
    run_dir, _ = tracked
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the tracking folder should be")
    warnings: list[str] = []
    tracker = LiveTracker(["tensorboard", "wandb"], Target(track_dir=blocked), warn=warnings.append)
    tracker.listener({"event": "start", "run": run_dir.name, "run_dir": str(run_dir)})
    for n in (1, 2):
        tracker.listener({"event": "epoch", "run": run_dir.name, "epoch": n})
    tracker.finish(run_dir)
    assert len([w for w in warnings if "--track tensorboard failed" in w]) == 1, warnings
    assert set(tracker.failed) == {"tensorboard", "wandb"}  # W&B keeps its files there too
