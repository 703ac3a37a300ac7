"""A sweep in the trackers: one parent run, the trials its children.

MLflow: a parent run named after the sweep (tag ``kerasketch.run_id`` = the
sweep's name, ``kerasketch.sweep`` = true), each trial's run tagged
``mlflow.parentRunId``; at the end ``sweep.json`` as its artifact and the
best trial's scores as its metrics. W&B: the sweep's name is the trials'
group. TensorBoard: the sweep's name is a folder holding the trials' folders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .export import failure
from .target import Target

SWEEP_TAG = "kerasketch.sweep"


def open_sweep(kinds: Iterable[str], target: Target, sweep: str, warn: Callable[[str], None]) -> Target:
    """The trials' target: grouped under the sweep, with MLflow's parent run made (or found again)."""
    target = replace(target, group=sweep)
    if "mlflow" not in kinds:
        return target
    from .mlflow_export import RUN_ID_TAG, MlflowExporter

    try:
        sender = MlflowExporter(replace(target, live=True))
        parent = sender.find(sweep)
        if parent is None:
            run = sender.client.create_run(
                sender.experiment_id(), run_name=sweep, tags={RUN_ID_TAG: sweep, SWEEP_TAG: "true"}
            )
            parent = run.info.run_id
    except Exception as err:
        warn(
            f"warning: --track mlflow failed ({failure(err)}); the sweep goes on without it, and "
            "`kerasketch runs export SWEEP_DIR/trial-* --to mlflow` sends its trials later"
        )
        return replace(target, parents={"mlflow": ""})  # "": the trials leave MLflow alone
    return replace(target, parents={"mlflow": parent})


def trial_trackers(kinds: Iterable[str], target: Target) -> tuple[str, ...]:
    """The trackers a trial sends to: not MLflow where the sweep's parent run could not be made."""
    return tuple(k for k in kinds if not (k == "mlflow" and target.parents.get("mlflow") == ""))


def finish_sweep(target: Target, sweep_dir: Path, doc: Any, warn: Callable[[str], None]) -> None:
    """MLflow's parent run: ``sweep.json``, the best trial's scores, and its end."""
    parent = target.parents.get("mlflow")
    if not parent:
        return
    from mlflow.entities import Metric

    from .mlflow_export import MlflowExporter

    try:
        sender = MlflowExporter(replace(target, live=True))
        sweep_json = sweep_dir / "sweep.json"
        if sweep_json.is_file():
            sender.client.log_artifact(parent, str(sweep_json))
        best = doc.get("best") or {}
        scores = {k: best.get(k) for k in ("best_val_accuracy", "test_accuracy")}
        metrics = [Metric(k, float(v), 0, 0) for k, v in scores.items() if isinstance(v, (int, float))]
        if metrics:
            sender.client.log_batch(parent, metrics=metrics)
        if best.get("trial"):
            sender.client.set_tag(parent, "kerasketch.best_trial", str(best["trial"]))
        status = "FINISHED" if doc.get("status") == "finished" else "KILLED"
        sender.client.set_terminated(parent, status=status)
    except Exception as err:
        warn(f"warning: --track mlflow could not close the sweep's parent run ({failure(err)})")
