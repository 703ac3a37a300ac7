"""``--address``: the ranks of one run as a Ray Train job (``TorchTrainer``) on a Ray cluster.

The driver (the command the user typed) checks the data, then asks the
cluster for ``--nproc`` workers; each worker runs the same
:func:`kerasketch.training.run.run` as a rank of ``--nproc`` or torchrun does.
Ray Train has made the process group and set torchrun's variables (RANK,
WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE) before a worker starts, so the run
finds its place among the ranks as it does under torchrun, and uses the
group as Ray made it (its backend, its timeout); the model is not given to
``ray.train.torch.prepare_model``, whose wrapper has no ``fit``: the run's
own train step averages the gradients.

Every worker calls ``ray.train.report`` once after each epoch (the metrics
are all-reduced, so every rank reports the same) and once at the end, so
Ray's barrier sees the same number of reports from each; rank 0 attaches the
checkpoint: the run folder's backup of that epoch, and at the end the whole
run folder (``Result.checkpoint``; Ray keeps the last one). Rank 0 writes the
run folder where ``--runs-dir`` says: on a cluster of several machines that
path must be a filesystem they share (docs/scaling-out.md).

A sweep's trial of several workers (``kerasketch sweep ... --nproc N``) is the
same job started from within the Ray Tune trial (:func:`train_trial_on_workers`),
as Ray documents for Tune with Ray Train: Ray Tune's ``TuneReportCallback``
passes rank 0's reports on to Tune, which then carry what a one-process trial
reports (see :func:`tune_result`).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..data.assembly import SYNTHETIC
from ..errors import ConfigError, KerasketchError, RunError
from ..recipes.base import Recipe
from ..runs import folders
from . import distributed
from .assemble import open_dataset
from .record import RunResult
from .run_options import RunOptions

INSTALL = 'training on a Ray cluster needs Ray Train: pip install "kerasketch[sweep]" (or `make install`)'
#: Ray Train's own folder (its checkpoints and state) inside the runs folder; hidden, so `kerasketch runs` skips it.
STORAGE_DIR = ".ray-train"
#: The scores of the test split the end report carries back to the driver, as the run prints them.
SCORES = {"accuracy": "test accuracy", "top3_accuracy": "top-3", "macro_f1": "macro-F1"}
#: Starts the line that carries a worker's error (message and hint, as JSON) to the driver.
MARK = "kerasketch-error: "


def require_ray_train() -> None:
    try:
        import ray.train.torch  # noqa: F401
    except ImportError:
        raise ConfigError(INSTALL) from None


def driver_options(options: RunOptions) -> RunOptions:
    """``options`` as a worker gets them: paths absolute (a worker's working folder is not ours), no listeners."""
    from ..data import cache

    if options.events == "-":
        raise ConfigError(
            "--events - writes the events to this terminal, which the Ray workers do not have",
            "give a file (--events FILE), or read events.jsonl in the run folder",
        )
    data = options.data
    resolved = data.resolved_data()
    if resolved != SYNTHETIC:
        data = replace(data, data=str(Path(resolved).expanduser().resolve()))
    return replace(
        options,
        data=data,
        runs_dir=options.runs_dir.expanduser().resolve(),
        cache_dir=(options.cache_dir or cache.default_cache_dir()).expanduser().resolve(),
        events=str(Path(options.events).expanduser().resolve()) if options.events else None,
        listeners=(),
    )


def train_on_ray(
    recipe: Recipe,
    options: RunOptions,
    *,
    address: str,
    workers: int,
    say: Callable[[str], None],
) -> int:
    """Run ``recipe`` as ``workers`` Ray Train workers on the cluster at ``address``; returns the exit code."""
    distributed.check_batch(recipe.batch_size, distributed.World(size=workers))  # before asking for workers
    options = driver_options(options)
    require_ray_train()
    # Bad data is one message here, before Ray starts; the workers then open the cache rank 0 would build.
    dataset = open_dataset(options, replace(options.data, image_size=recipe.image_size))
    _start_ray(address)
    import ray

    try:
        use_gpu = _use_gpu(options.dist_backend, workers, ray.cluster_resources().get("GPU", 0))
        if not options.quiet:
            say(
                f"kerasketch {recipe.name}: {workers} Ray Train workers{' on GPUs' if use_gpu else ''} "
                f"at {address}; {dataset.describe()}"
            )
        result = _fit(recipe, options, workers, use_gpu)
    except KeyboardInterrupt:
        # The workers are gone with the job; the run folder keeps its backup of the last finished epoch.
        say(f"cancelled; the same command resumes the run from its last finished epoch (under {options.runs_dir})")
        return 130
    finally:
        ray.shutdown()
    return _conclude(result, options, say)


def _use_gpu(backend: str, workers: int, gpus: float) -> bool:
    """One GPU per worker where the cluster has as many (gloo asked for: none)."""
    if backend == "nccl" and gpus < workers:
        raise ConfigError(
            f"--dist-backend nccl needs a GPU for each of the {workers} workers; the cluster has {gpus:g}",
            "use gloo (the default on CPUs), or fewer workers",
        )
    return backend != "gloo" and gpus >= workers


def _start_ray(address: str) -> None:
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    import ray

    env = {k: os.environ[k] for k in ("KERAS_BACKEND",) if k in os.environ}
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR, runtime_env={"env_vars": env})
    except ConnectionError as err:
        raise ConfigError(
            f"cannot reach the Ray cluster at {address}: {_first_line(str(err))}",
            "start it with `ray start --head --port PORT` and give --address HOST:PORT (or ray://HOST:PORT, auto)",
        ) from None
    for name in ("ray", "ray.train", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)


def train_trial_on_workers(recipe: Recipe, options: RunOptions, *, workers: int) -> RunResult:
    """One sweep trial as ``workers`` Ray Train workers, from within its Ray Tune trial (already on the cluster).

    Every report reaches Ray Tune through its ``TuneReportCallback`` (rank 0's);
    raises :class:`RunError` with the failed rank's message.
    """
    import ray
    from ray.tune.integration.ray_train import TuneReportCallback

    distributed.check_batch(recipe.batch_size, distributed.World(size=workers))
    options = driver_options(options)
    use_gpu = _use_gpu(options.dist_backend, workers, ray.cluster_resources().get("GPU", 0))
    result = _fit(recipe, options, workers, use_gpu, callbacks=[TuneReportCallback()], for_tune=True)
    metrics = result.metrics or {}  # the end report: the run folder's name in the sweep folder
    run_dir = options.runs_dir / metrics["run_dir"] if metrics.get("run_dir") else None
    return RunResult(run_dir, str(metrics.get("reason", "unknown")), int(metrics.get("exit_code", 1)))


def _fit(
    recipe: Recipe,
    options: RunOptions,
    workers: int,
    use_gpu: bool,
    *,
    callbacks: list[Any] | None = None,
    for_tune: bool = False,
) -> Any:
    import ray.train
    from ray.train.torch import TorchConfig, TorchTrainer

    trainer = TorchTrainer(
        _worker,
        train_loop_config={"recipe": recipe, "options": options, "for_tune": for_tune},
        scaling_config=ray.train.ScalingConfig(num_workers=workers, use_gpu=use_gpu),
        torch_config=TorchConfig(
            backend=None if options.dist_backend == "auto" else options.dist_backend,
            timeout_s=int(options.dist_timeout),
        ),
        run_config=ray.train.RunConfig(
            name=f"{options.name or recipe.name}-{uuid.uuid4().hex[:8]}",
            storage_path=str(options.runs_dir / STORAGE_DIR),
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=1),
            failure_config=ray.train.FailureConfig(max_failures=0),  # a failed run resumes by the same command
            callbacks=callbacks,
        ),
    )
    try:
        return trainer.fit()
    except SystemExit:
        # Ray Train's own Ctrl-C handler aborts the job, and its waiting driver then exits (status 1).
        raise KeyboardInterrupt from None
    except ray.train.TrainingFailedError as err:
        raise _failure(err, options, workers) from None


def _failure(err: Exception, options: RunOptions, workers: int) -> RunError:
    """One message for a failed job: the first failed rank's own error, without Ray's traceback around it."""
    failures: dict[int, Exception] = getattr(err, "worker_failures", None) or {}
    if not failures:
        cause = getattr(err, "controller_failure", None) or err
        return RunError(f"the Ray Train job failed: {_last_line(str(cause))}", _failure_hint(options))
    rank = min(failures)
    text = str(failures[rank])
    for line in text.splitlines():
        if MARK in line:  # one of ours: its message and hint as the run would print them
            ours = json.loads(line[line.index(MARK) + len(MARK) :])
            return RunError(
                f"rank {rank} of {workers} failed: {ours['message']}", ours["hint"] or _failure_hint(options)
            )
    return RunError(f"rank {rank} of {workers} failed: {_last_line(text)}", _failure_hint(options))


def _first_line(text: str) -> str:
    # Ray Client's refusals carry the server's traceback after their first line.
    return next((line.strip().rstrip(":") for line in text.splitlines() if line.strip()), "no message")


def _last_line(text: str) -> str:
    # A traceback's text ends with the exception's "Type: message" line.
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _failure_hint(options: RunOptions) -> str:
    return (
        f"the same command resumes the run from its last finished epoch; the run folder under {options.runs_dir} "
        "holds rank 0's run.log and the other ranks' rank-N.log"
    )


def _conclude(result: Any, options: RunOptions, say: Callable[[str], None]) -> int:
    metrics = result.metrics or {}
    if "exit_code" not in metrics:
        raise RunError(
            "the Ray Train job ended without the run's last report (rank 0 wrote no run folder)",
            _failure_hint(options),
        )
    run_dir = metrics["run_dir"]
    code = int(metrics.get("exit_code", 1))
    reason = metrics.get("reason", "unknown")
    if code != 0:
        say(f"the run ended {reason}; see {Path(run_dir) / folders.LOG}")
        return code
    if not options.quiet:
        scores = ", ".join(f"{label} {metrics[name]:.4f}" for name, label in SCORES.items() if name in metrics)
        say(f"{reason}{': ' + scores if scores else ''}")
    say(f"run folder: {run_dir}")
    return 0


# ---------------------------------------------------------------- on each worker


def _worker(config: dict[str, Any]) -> None:
    """One rank: the run, with a report to Ray Train after each epoch and at the end."""
    import ray.train
    import torch.distributed as dist

    from .run import run

    context = ray.train.get_context()
    rank = context.get_world_rank()
    # Ray Train sets torchrun's variables itself; set from its context where a Ray release does not.
    for name, value in (
        ("RANK", rank),
        ("WORLD_SIZE", context.get_world_size()),
        ("LOCAL_RANK", context.get_local_rank()),
        ("LOCAL_WORLD_SIZE", context.get_local_world_size()),
    ):
        os.environ.setdefault(name, str(value))
    recipe: Recipe = config["recipe"]
    options: RunOptions = config["options"]
    for_tune = bool(config.get("for_tune"))
    backend = str(dist.get_backend()) if dist.is_initialized() else options.dist_backend
    options = replace(options, dist_backend=backend, epoch_callbacks=(_epoch_reporter(rank, for_tune),))
    try:
        result = run(recipe, options)
    except KerasketchError as err:
        # Ray hands the driver a worker's error as its traceback's text: the message and hint go as one line.
        raise RuntimeError(MARK + json.dumps({"message": err.message, "hint": err.hint})) from None
    except Exception as err:
        raise RuntimeError(MARK + json.dumps({"message": f"{type(err).__name__}: {err}", "hint": None})) from err
    # Ray keeps the metrics of reports that carry a checkpoint: rank 0 attaches the whole run folder, which
    # is then the job's last checkpoint (Result.checkpoint) as well as the driver's answer (Result.metrics).
    folder = result.run_dir if rank == 0 and result.run_dir is not None and result.run_dir.is_dir() else None
    end = _end_metrics(result)
    if for_tune and result.run_dir is not None:
        # The trial's last epoch, held back until the run had written its end (Ray Tune may stop it there).
        end = {**end, **tune_result(result.run_dir, last=True), "run_dir": result.run_dir.name}
    ray.train.report(
        end,
        checkpoint=ray.train.Checkpoint.from_directory(str(folder)) if folder else None,
        checkpoint_dir_name=f"run-{result.run_dir.name if result.run_dir else 'none'}",
        delete_local_checkpoint_after_upload=False,
    )


def _end_metrics(result: RunResult) -> dict[str, Any]:
    scores = (result.evaluation or {}).get("test") or {}  # eval.json's test scores (rank 0's alone)
    return {
        "run_dir": str(result.run_dir) if result.run_dir else "",
        "reason": result.reason,
        "exit_code": result.exit_code,
        **{name: scores.get(name) for name in SCORES if scores.get(name) is not None},
    }


def tune_result(run_dir: Path, *, last: bool) -> dict[str, Any]:
    """What a sweep's trial reports to Ray Tune for its latest epoch (kerasketch.sweep.trial reports the same
    for a trial of one process), from the run folder's history: rank 0's, the one TuneReportCallback passes on."""
    import ray

    from .history import read_history

    rows = read_history(run_dir / folders.HISTORY)
    scores = [float(row.get("val_accuracy") or 0.0) for row in rows] or [0.0]
    return {
        "val_accuracy": scores[-1],
        "epoch": len(rows),
        "best_val_accuracy": max(scores),
        "last_epoch": last,
        "run_dir": run_dir.name,
        "node_id": ray.get_runtime_context().get_node_id(),
        "node_ip": ray.util.get_node_ip_address(),
    }


def _epoch_reporter(rank: int, for_tune: bool = False) -> Callable[[Path], Any]:
    """Makes, with the run folder, the Keras callback that reports each epoch to Ray Train.

    ``for_tune``: a sweep trial's reports, shaped as Ray Tune's results (:func:`tune_result`); the last
    epoch's is left to the end report, sent once the run has written its end."""

    def make(run_dir: Path) -> Any:
        import keras
        import ray.train

        class ReportEpochs(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                metrics = {name: float(value) for name, value in (logs or {}).items()}
                if for_tune:
                    # Every rank decides alike: the same epoch count, and stop_training is rank 0's (SyncRanks).
                    if epoch + 1 >= self.params.get("epochs", 0) or self.model.stop_training:
                        return
                    metrics = {**metrics, **tune_result(run_dir, last=False)}
                backup = run_dir / folders.BACKUP
                # Rank 0's backup of this epoch (written by the callback before this one); the others report alone.
                checkpoint = ray.train.Checkpoint.from_directory(str(backup)) if rank == 0 and backup.is_dir() else None
                ray.train.report(
                    {**metrics, "epoch": epoch + 1, "run_dir": run_dir.name if for_tune else str(run_dir)},
                    checkpoint=checkpoint,
                    checkpoint_dir_name=f"epoch-{epoch + 1:04d}",
                    delete_local_checkpoint_after_upload=False,  # the backup is the run's own
                )

        return ReportEpochs()

    return make
