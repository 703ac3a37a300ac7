"""One trial, as it runs on a Ray worker: an ordinary run folder, its epochs reported to Ray Tune.

The trial is :func:`kerasketch.training.run.run` with the trial's parameters
applied to the recipe (:func:`kerasketch.recipes.params.apply`), tagged with
its trial id so that it resumes only its own folder: after a restore, Ray
Tune starts an unfinished trial again and the run continues from its
backup. Each epoch's val_accuracy goes to Ray Tune (``tune.report``), which
is what ASHA and the searcher see; ``epoch`` is ASHA's clock, so a resumed
trial keeps its place without a Ray checkpoint.

With ``workers`` > 1 (``kerasketch sweep ... --nproc N``) the trial is itself
a data-parallel run: it starts a Ray Train job of N workers from within the
trial (:func:`kerasketch.training.ray_train.train_trial_on_workers`, the job
``--address`` runs), whose rank 0 reports the same results to Ray Tune.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.assembly import DataConfig
from ..errors import KerasketchError
from ..options import TrainOptions
from ..recipes import params
from ..recipes.base import Recipe

#: ASHA's first rung, in epochs: after one epoch a warm-up or a cosine schedule has not shown what it does
#: (the first real-data sweep cut 7 of 12 trials there).
DEFAULT_GRACE_PERIOD = 2
TUNE_DIR = ".tune"  # hidden: the history lists the sweep's run folders, not Ray's
#: How long a new trial waits for Ray Tune's saved state to name it before it trains anyway.
SAVED_STATE_WAIT_S = 120.0


@dataclass(frozen=True)
class Job:
    """What every trial shares; sent to the workers with the trainable."""

    recipe: Recipe  # with the command's run options applied
    data: DataConfig  # paths absolute: a worker's working folder is not the driver's
    sweep_dir: Path  # absolute
    sweep: str
    # The command's run options, the cache's folder absolute: each trial runs with those a sweep hands on.
    run_options: TrainOptions = field(default_factory=TrainOptions)
    # --track: the trackers each trial is sent to live, and where (grouped under the sweep).
    track: tuple[str, ...] = ()
    track_target: Any = None
    workers: int = 1  # --nproc: each trial a Ray Train job of this many workers (its world size)


def tune_path(sweep_dir: Path) -> Path:
    """Ray Tune's experiment folder inside the sweep folder (what ``Tuner.restore`` reads)."""
    return sweep_dir / TUNE_DIR / "tune"


def saved_trial_ids(sweep_dir: Path) -> set[str] | None:
    """The trials Ray Tune's newest saved experiment state holds (None: no state saved yet).

    A restore brings back these and only these; a trial started after the last
    save is forgotten by a kill, and Ray Tune starts a new one in its place.
    """
    # Newest by name, as Ray Tune's restore picks it (the name holds the session's start time): mtimes
    # cannot tell, since each sync copies every session's file into the folder again.
    states = sorted(tune_path(sweep_dir).glob("experiment_state-*.json"), key=lambda p: p.name)
    if not states:
        return None
    try:
        saved = json.loads(states[-1].read_text())
        return {json.loads(entry[0])["trial_id"] for entry in saved["trial_data"]}
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None  # being replaced, or a Ray whose format differs: nothing known


def _wait_until_saved(job: Job, trial_id: str) -> None:
    # Without this, a driver killed in the seconds between a trial's start and Ray's next save would
    # leave a run folder that no restored trial owns.
    deadline = time.monotonic() + SAVED_STATE_WAIT_S
    while time.monotonic() < deadline:
        ids = saved_trial_ids(job.sweep_dir)
        if ids is not None and trial_id in ids:
            return
        time.sleep(0.5)


def _remove_empty_attempts(job: Job, trial_id: str) -> None:
    """Remove this trial's earlier run folders that were killed with no backup to resume from.

    The run then starts a new folder from epoch 0 with the same seed, which
    trains again whatever epochs the old one holds (a kill can land after an
    epoch's events, while the trial reports to Ray Tune, before its backup is
    written); the old ones would be dead rows in the history.
    """
    from ..runs import folders
    from ..runs.events import Status

    for info in folders.list_runs(job.sweep_dir):
        mine = info.config.get("options", {}).get("tag") == tag(job, trial_id)
        unended = info.status in (Status.INTERRUPTED, Status.CANCELLED)
        if mine and unended and not folders.can_resume(info.path):
            shutil.rmtree(info.path, ignore_errors=True)


def run_name(trial_id: str) -> str:
    return f"trial-{trial_id}"


def tag(job: Job, trial_id: str) -> str:
    return f"{job.sweep}/{trial_id}"


def train_trial(config: dict[str, Any], job: Job) -> None:
    import ray
    from ray import tune

    from ..presenter import Terminal
    from ..runs import folders
    from ..training.run import RunOptions, run

    trial_id = tune.get_context().get_trial_id()
    node = {"node_id": ray.get_runtime_context().get_node_id(), "node_ip": ray.util.get_node_ip_address()}
    recipe = params.apply(job.recipe, config)
    where: dict[str, str] = {}

    def report(epoch: int, val_accuracy: float, best: float | None, patience_left: int | None) -> None:
        last = epoch >= recipe.epochs or patience_left == 0
        tune.report(
            {
                "val_accuracy": val_accuracy,
                "epoch": epoch,
                "best_val_accuracy": best if best is not None else val_accuracy,
                "last_epoch": last,
                "run_dir": where.get("run_dir", ""),
                **node,
            }
        )

    _wait_until_saved(job, trial_id)
    done = _finished_run(job, trial_id)
    if done is not None:
        # The driver died after this trial ended, before Ray Tune saved that: replay, do not retrain.
        where["run_dir"] = done.name
        best: float | None = None
        epochs = done.epochs()
        for i, e in enumerate(epochs):
            val = e.metrics.get("val_accuracy") or 0.0
            best = val if best is None else max(best, val)
            report(e.epoch, val, best, 0 if i == len(epochs) - 1 else None)
        return

    last_report: list[tuple[int, float, float | None, int | None]] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["event"] == "start":
            where["run_dir"] = Path(event["run_dir"]).name
        elif event["event"] == "epoch":
            metrics = event.get("metrics") or {}
            epoch = (
                event["epoch"],
                float(metrics.get("val_accuracy", 0.0)),
                event.get("best_val_accuracy"),
                event.get("patience_left"),
            )
            if epoch[0] >= recipe.epochs or epoch[3] == 0:
                # The last epoch is reported once the run has written its end: Ray Tune (ASHA at max_t)
                # may stop the trial at this report, which would end the run before its end event.
                last_report.append(epoch)
            else:
                report(*epoch)

    _remove_empty_attempts(job, trial_id)
    tracker = None
    if job.track:
        from ..tracking.live import LiveTracker

        tracker = LiveTracker(job.track, job.track_target)
    options = RunOptions(
        data=job.data,
        runs_dir=job.sweep_dir,
        name=run_name(trial_id),
        quiet=True,
        tag=tag(job, trial_id),
        listeners=(on_event, tracker.listener) if tracker else (on_event,),
        evaluate=False,
        **job.run_options.for_trials(),
    )
    if job.workers > 1:
        from ..training.ray_train import train_trial_on_workers

        try:
            wide = train_trial_on_workers(recipe, options, workers=job.workers)
        except KerasketchError as err:
            raise RuntimeError(err.message) from None
        if wide.exit_code != 0:
            raise RuntimeError(f"the trial's run {wide.reason}; see {wide.run_dir or 'its run.log'}")
        return  # its rank 0 reported every epoch, the last one after the run's end
    result = None
    try:
        result = run(recipe, options, presenter=Terminal(quiet=True))
    except KerasketchError as err:
        raise RuntimeError(err.message) from None
    finally:
        if tracker is not None:
            tracker.finish(result.run_dir if result else None)
    if result.exit_code != 0:
        log = result.run_dir / folders.LOG if result.run_dir else "its run.log"
        raise RuntimeError(f"the trial's run {result.reason}; see {log}")
    for epoch in last_report:
        report(*epoch)


def close_run(sweep_dir: Path, run_dir: str | None, reason: str) -> bool:
    """End a trial's run folder as a run ends, where Ray Tune stopped the trial before its run could
    (ASHA stops a trial at one of its reports); True if an end event was written.

    Without it the folder would read as interrupted, and ``compare`` would pass the trial over.
    """
    from ..errors import RunError
    from ..runs import events, folders

    if not run_dir:
        return False
    path = Path(sweep_dir) / run_dir
    try:
        info = folders.load(path)
    except (RunError, OSError):
        return False
    if info.status in events.END_REASONS:
        return False  # the run wrote its own
    end = events.make(
        "end", info.name, reason=reason, best_epoch=info.best_epoch, best_val_accuracy=info.best_val_accuracy
    )
    try:
        with open(path / folders.EVENTS, "a", encoding="utf-8") as f:
            f.write(events.encode(end) + "\n")
    except OSError:
        return False
    return True


def _finished_run(job: Job, trial_id: str):
    """This trial's run folder if it already ended well (else None)."""
    from ..runs import folders
    from ..runs.events import SUCCEEDED

    for info in folders.list_runs(job.sweep_dir):
        if info.config.get("options", {}).get("tag") == tag(job, trial_id) and info.status in SUCCEEDED:
            return info
    return None
