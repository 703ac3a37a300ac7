"""The sweep's driver: Ray Tune with Optuna's TPE (or random search) and ASHA; ``sweep.json``.

Locally Ray starts inside the command (``ray.init``, one CPU per trial, as
many trials at once as cores unless ``max_concurrent`` says fewer); with an
address it joins that cluster. Ray Tune keeps its experiment state in the
sweep folder's hidden ``.tune/``, so the same command restores a killed
sweep (``Tuner.restore``) and finished trials stay finished. Ray's own
output is kept off the terminal; the progress lines are ours.

With ``nproc`` > 1 each trial is a Ray Train job of that many workers
(sweep/trial.py): the trial itself then holds a token share of a CPU
(:data:`TRIAL_CPU`: it only waits on its job, whose workers hold one CPU
each), and as many trials run at once as the cluster has CPUs for their
workers, unless ``max_concurrent`` says fewer.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..data.assembly import SYNTHETIC, DataConfig
from ..errors import ConfigError, RunError
from ..options import TrainOptions
from ..recipes import params
from ..recipes.base import Recipe
from ..runs import events, sweepfile
from ..runs.processes import process_started
from ..tracking.live import warn_stderr as warn
from ..tracking.sweep_runs import finish_sweep, open_sweep, trial_trackers
from ..tracking.target import Target
from .space import Dist
from .trial import DEFAULT_GRACE_PERIOD, TUNE_DIR, Job, close_run, saved_trial_ids, train_trial, tune_path

INSTALL = 'kerasketch sweep needs Ray Tune and Optuna: pip install "kerasketch[sweep]" (or `make install`)'
METRIC = "val_accuracy"
#: What a trial of several Ray Train workers holds itself (it only waits on its job): Ray refuses a trial of
#: no resources at all, and a share this small leaves a node's other CPUs to the workers.
TRIAL_CPU = 0.01


def require_ray() -> None:
    """One line saying how to install the extra, where it is missing."""
    try:
        import optuna  # noqa: F401
        import ray.tune  # noqa: F401
    except ImportError:
        raise ConfigError(INSTALL) from None


@dataclass
class SweepSpec:
    recipe: Recipe  # with the command's run options applied
    data: DataConfig
    space: dict[str, Dist]
    trials: int
    search: str = "optuna"  # or "random"
    scheduler: str = "asha"  # or "none"
    grace_period: int = DEFAULT_GRACE_PERIOD  # ASHA's first rung, in epochs
    max_concurrent: int | None = None
    address: str | None = None
    name: str | None = None
    runs_dir: Path = Path("runs")
    # The command's run options: each trial runs with those a sweep hands on (TrainOptions.for_trials).
    run_options: TrainOptions = field(default_factory=TrainOptions)
    rerun: Callable[[str, dict[str, Any]], str] = field(default=lambda name, values: "")
    say: Callable[[str], None] = print
    trial_lines: bool = True  # each trial's start and end as it happens (off with --quiet)
    track: tuple[str, ...] = ()  # --track: a parent run for the sweep, a child for each trial
    track_target: Target | None = None
    nproc: int = 1  # --nproc: each trial a data-parallel run of this many Ray Train workers

    @property
    def seed(self) -> int:
        return self.data.seed

    def settings(self) -> dict[str, Any]:
        """What makes two sweeps the same sweep (so that the same command resumes it)."""
        return {
            "recipe": self.recipe.to_json(),
            "data": self.data.to_json(),
            "space": {n: d.text for n, d in self.space.items()},
            "search": self.search,
            "scheduler": self.scheduler,
            "trials": self.trials,
            **({"grace_period": self.grace_period} if self.scheduler == "asha" else {}),
            **self.run_options.numeric_changes(),
        }

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.settings(), sort_keys=True, default=str).encode()).hexdigest()[:8]


def sweep_name(spec: SweepSpec) -> str:
    return spec.name or f"{spec.recipe.name}-sweep-{spec.fingerprint()}"


def _absolute_data(data: DataConfig) -> DataConfig:
    resolved = data.resolved_data()
    return data if resolved == SYNTHETIC else replace(data, data=str(Path(resolved).expanduser().resolve()))


def _domain(dist: Dist) -> Any:
    from ray import tune

    if dist.kind == "loguniform":
        return tune.loguniform(float(dist.low or 0), float(dist.high or 0))
    if dist.kind == "uniform":
        return tune.uniform(float(dist.low or 0), float(dist.high or 0))
    if dist.kind == "int":
        return tune.randint(int(dist.low or 0), int(dist.high or 0) + 1)  # randint's upper end is excluded
    return tune.choice(list(dist.choices))


def run_sweep(spec: SweepSpec) -> sweepfile.Sweep:
    """Run (or resume) the sweep; returns its final ``sweep.json``."""
    require_ray()
    from ..data import cache
    from ..training.evaluate import evaluate_test_split

    if spec.nproc > 1:
        _check_workers(spec)

    name = sweep_name(spec)
    sweep_dir = (spec.runs_dir / name).resolve()
    data = _absolute_data(replace(spec.data, image_size=spec.recipe.image_size))
    cache_dir = (spec.run_options.cache_dir or cache.default_cache_dir()).resolve()
    previous = _previous(sweep_dir, spec)

    # The data is checked (and cached for the trials) before Ray starts: bad data is one message.
    dataset = cache.load_or_build(data, cache_dir, **spec.run_options.cache_options())
    spec.say(f"kerasketch sweep {name}: {spec.trials} trials of {spec.recipe.name}; {dataset.describe()}")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    defaults = params.tunable(spec.recipe)
    doc: sweepfile.Sweep = {
        "name": name,
        "recipe": spec.recipe.name,
        "status": "running",
        "driver_pid": os.getpid(),
        "driver_started": process_started(os.getpid()),
        "created": (previous or {}).get("created") or events.utc_now(),
        "updated": events.utc_now(),
        "fingerprint": spec.fingerprint(),
        "space": {n: d.text for n, d in spec.space.items()},
        "search": {
            "algorithm": spec.search,
            "scheduler": spec.scheduler,
            "grace_period": spec.grace_period if spec.scheduler == "asha" else None,
            "seed": spec.seed,
            "trials": spec.trials,
            "max_concurrent": spec.max_concurrent,
            "address": spec.address,
            "nproc": spec.nproc,  # each trial's world size
            "metric": METRIC,
            "mode": "max",
        },
        "defaults": {n: defaults[n].default for n in spec.space},
        "trials": list((previous or {}).get("trials", [])),
        "best": None,
    }
    sweepfile.write(sweep_dir, doc)
    target = None
    if spec.track:
        target = open_sweep(spec.track, spec.track_target or Target(track_dir=spec.runs_dir / "tracking"), name, warn)
    job = Job(
        spec.recipe,
        data,
        sweep_dir,
        name,
        replace(spec.run_options, cache_dir=cache_dir),
        track=trial_trackers(spec.track, target) if target else (),
        track_target=target,
        workers=spec.nproc,
    )

    started = time.perf_counter()
    _start_ray(spec)
    try:
        interrupted = _tune(spec, job, doc, sweep_dir)
    finally:
        import ray

        ray.shutdown()
    doc["updated"] = events.utc_now()
    doc["seconds"] = round(time.perf_counter() - started, 1)
    if interrupted:
        doc["status"] = "interrupted"
        for t in doc["trials"]:
            if t.get("status") in sweepfile.UNENDED:
                t["status"] = sweepfile.INTERRUPTED  # the same command resumes them
        sweepfile.write(sweep_dir, doc)
        if target is not None:
            finish_sweep(target, sweep_dir, doc, warn)
        raise KeyboardInterrupt
    doc["status"] = "finished"
    ranked = [t for t in sweepfile.ranked(doc["trials"]) if t.get("best_val_accuracy") is not None and t.get("run_dir")]
    if ranked:
        top = ranked[0]
        run_dir = sweep_dir / str(top["run_dir"])
        spec.say(f"evaluating the best trial {top['id']} on the test split")
        best_data = replace(data, image_size=params.apply(spec.recipe, top["params"]).image_size)
        report, _ = evaluate_test_split(
            run_dir, cache.load_or_build(best_data, cache_dir, **spec.run_options.cache_options())
        )
        doc["best"] = {
            "trial": top["id"],
            "params": top["params"],
            "best_val_accuracy": top["best_val_accuracy"] or 0.0,
            "test_accuracy": report["test"]["accuracy"],
            "run_dir": str(top["run_dir"]),
            "command": spec.rerun(name, top["params"]),
        }
    sweepfile.write(sweep_dir, doc)
    if target is not None:
        _track_the_end(job, target, sweep_dir, doc)
    doc["folder"] = str(sweep_dir)
    return doc


def _track_the_end(job: Job, target: Target, sweep_dir: Path, doc: sweepfile.Sweep) -> None:
    """The best trial's test scores (evaluated after its run ended) to its tracked copies; the parent's end."""
    from ..errors import KerasketchError
    from ..tracking.export import export_run

    best = doc.get("best")
    if best:
        for kind in job.track:
            try:
                export_run(sweep_dir / str(best["run_dir"]), kind, target)
            except KerasketchError as err:
                warn(f"warning: {err.message}")
    finish_sweep(target, sweep_dir, doc, warn)


def _check_workers(spec: SweepSpec) -> None:
    """Trials of several workers: refused at start where they cannot run (one message each)."""
    from ..training import distributed
    from ..training.ray_train import require_ray_train

    require_ray_train()
    backend = distributed.keras_backend()
    if backend != "torch":
        raise ConfigError(
            f"a sweep's trials of --nproc {spec.nproc} are Ray Train TorchTrainer jobs: Keras' torch backend, not {backend}",
            "run with KERAS_BACKEND=torch (the default), or leave out --nproc",
        )
    if spec.track:
        raise ConfigError(
            "--track is not available for trials of several workers yet", "track the trials' run folders afterwards"
        )
    distributed.check_batch(spec.recipe.batch_size, distributed.World(size=spec.nproc))


def _previous(sweep_dir: Path, spec: SweepSpec) -> sweepfile.Sweep | None:
    if not sweepfile.is_sweep_folder(sweep_dir):
        if sweep_dir.exists() and any(sweep_dir.iterdir()):
            raise ConfigError(f"{sweep_dir} exists and is not a sweep folder", "give another --name")
        return None
    old = sweepfile.read(sweep_dir)
    if old.get("fingerprint") != spec.fingerprint():
        raise ConfigError(
            f"the sweep {sweep_dir.name} exists with other settings (recipe, data, space, search or trials)",
            "give another --name, or the same options to resume it",
        )
    if old.get("status") == "running":
        raise RunError(f"the sweep {sweep_dir.name} is still running (pid {old.get('driver_pid')})")
    return old


def _start_ray(spec: SweepSpec) -> None:
    # Our paths are absolute, and the trials' output goes to their run folders, not the terminal.
    os.environ["RAY_CHDIR_TO_TRIAL_DIR"] = "0"
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "2")  # experiment state a kill can lose: seconds
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # no CSV/TensorBoard files of Ray's
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    import ray

    env = {k: os.environ[k] for k in ("KERAS_BACKEND", "RAY_CHDIR_TO_TRIAL_DIR") if k in os.environ}
    common: dict[str, Any] = {
        "log_to_driver": False,
        "logging_level": logging.ERROR,
        "runtime_env": {"env_vars": env},
    }
    try:
        if spec.address:
            ray.init(address=spec.address, **common)
        else:
            # "local": a new Ray inside this command, never a cluster this machine happens to run.
            # Trials of several workers: one CPU more for the trials' token shares (TRIAL_CPU), else the
            # workers of a trial on a machine of N cores would wait forever for the last whole CPU.
            cpus = (os.cpu_count() or 1) + (1 if spec.nproc > 1 else 0)
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, **common)
    except ConnectionError as err:
        raise ConfigError(
            f"cannot reach the Ray cluster at {spec.address}: {err}",
            "start it with `ray start --head --port PORT` and give --address HOST:PORT",
        ) from None
    except Exception as err:  # Ray's own start-up failures (a raylet or GCS that timed out) name no type of theirs
        raise RunError(
            f"Ray did not start: {err}",
            "on an overloaded machine its processes can time out; run the same command again to resume",
        ) from None
    for name in ("ray", "ray.tune", "ray.train", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _tune(spec: SweepSpec, job: Job, doc: sweepfile.Sweep, sweep_dir: Path) -> bool:
    """Run Ray Tune to the end; True if it was interrupted (Ctrl-C) before."""
    import optuna
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # its "new study created" line is not ours
    trainable = tune.with_parameters(functools.partial(train_trial), job=job)
    max_concurrent = spec.max_concurrent
    if job.workers > 1:
        # The trial only waits on its Ray Train job, whose workers hold the CPUs (one each).
        trainable = tune.with_resources(trainable, {"cpu": TRIAL_CPU})
        import ray

        cpus = float(ray.cluster_resources().get("CPU", 0))
        if cpus < job.workers + TRIAL_CPU:
            raise ConfigError(
                f"a trial of {job.workers} workers needs {job.workers} CPUs and a share of one more; "
                f"the Ray cluster has {cpus:g}",
                "add CPUs or nodes to the cluster, or use fewer --nproc",
            )
        if max_concurrent is None:
            max_concurrent = max(1, int(cpus) // job.workers)
    path = tune_path(sweep_dir)
    recorder = _recorder_class()(doc, sweep_dir, spec.say if spec.trial_lines else _silent, job.workers)
    # tuner.pkl holds the callbacks; a restore must use this session's recorder (see _Recorder.__reduce__).
    _SESSION["recorder"] = recorder
    run_config = tune.RunConfig(
        name="tune",
        storage_path=str(sweep_dir / TUNE_DIR),
        verbose=0,
        callbacks=[recorder],
        failure_config=tune.FailureConfig(max_failures=0),
    )
    if tune.Tuner.can_restore(str(path)):
        spec.say(f"resuming the sweep from {path}")
        recorder.keep_only(saved_trial_ids(sweep_dir))
        tuner = tune.Tuner.restore(str(path), trainable, resume_unfinished=True, resume_errored=False)
    else:
        search: Any = (
            OptunaSearch(seed=spec.seed) if spec.search == "optuna" else BasicVariantGenerator(random_state=spec.seed)
        )
        scheduler = (
            ASHAScheduler(time_attr="epoch", max_t=spec.recipe.epochs, grace_period=spec.grace_period)
            if spec.scheduler == "asha"
            else None
        )
        tuner = tune.Tuner(
            trainable,
            param_space={n: _domain(d) for n, d in spec.space.items()},
            tune_config=tune.TuneConfig(
                metric=METRIC,
                mode="max",
                search_alg=search,
                scheduler=scheduler,
                num_samples=spec.trials,
                max_concurrent_trials=max_concurrent,
                # A new worker per trial would import Keras and torch again (tens of seconds on 2 cores).
                reuse_actors=True,
            ),
            run_config=run_config,
        )
    try:
        grid = tuner.fit()
    except KeyboardInterrupt:
        return True
    recorder.save()
    # A Ctrl-C that Ray Tune caught itself leaves trials that never ended.
    return any(t.get("status") in sweepfile.UNENDED for t in doc["trials"]) or len(grid) < spec.trials


def _silent(line: str) -> None:
    pass


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


#: The running sweep's recorder, for a restore to find (a driver runs one sweep at a time).
_SESSION: dict[str, Any] = {}


def _session_recorder() -> Any:
    return _SESSION["recorder"]


def _recorder_class() -> type:
    from ray.tune import Callback

    class _Recorder(Callback):
        """Keeps ``sweep.json`` up to date from Ray Tune's trial events and prints our progress lines."""

        def __init__(self, doc: sweepfile.Sweep, sweep_dir: Path, say: Callable[[str], None], world_size: int = 1):
            self.world_size = world_size  # each trial's number of processes (--nproc)
            self.doc = doc
            self.sweep_dir = sweep_dir
            self.say = say
            self.by_id = {t["id"]: t for t in doc["trials"]}

        def __reduce__(self):
            # Ray Tune pickles the callbacks into tuner.pkl and a restore unpickles them: without this,
            # the restored sweep would report to the killed session's copy, not to this sweep.json.
            return (_session_recorder, ())

        def keep_only(self, saved: set[str] | None) -> None:
            """Forget trials Ray Tune's saved state does not hold: a restore starts others in their place."""
            if saved is None:
                return
            self.doc["trials"] = [t for t in self.doc["trials"] if t["id"] in saved]
            self.by_id = {t["id"]: t for t in self.doc["trials"]}
            self.save()

        def trial(self, trial: Any) -> sweepfile.Trial:
            entry = self.by_id.get(trial.trial_id)
            if entry is None:
                entry = {
                    "id": trial.trial_id,
                    "params": dict(trial.config),
                    "status": sweepfile.PENDING,
                    "node_id": None,
                    "node_ip": None,
                    "best_val_accuracy": None,
                    "epochs": 0,
                    "run_dir": None,
                    "error": None,
                    "world_size": self.world_size,
                }
                self.by_id[trial.trial_id] = entry
                self.doc["trials"].append(entry)
            return entry

        def save(self) -> None:
            self.doc["updated"] = events.utc_now()
            sweepfile.write(self.sweep_dir, self.doc)

        def on_trial_start(self, iteration, trials, trial, **info):
            entry = self.trial(trial)
            entry["status"] = sweepfile.RUNNING
            shown = ", ".join(f"{k}={_short(v)}" for k, v in entry["params"].items())
            self.say(f"trial {trial.trial_id} started: {shown}")
            self.save()

        def on_trial_result(self, iteration, trials, trial, result, **info):
            entry = self.trial(trial)
            entry["status"] = sweepfile.RUNNING
            entry["epochs"] = int(result.get("epoch", entry.get("epochs", 0)))
            entry["best_val_accuracy"] = result.get("best_val_accuracy")
            entry["node_id"] = result.get("node_id")
            entry["node_ip"] = result.get("node_ip")
            entry["run_dir"] = result.get("run_dir") or entry.get("run_dir")
            self.save()

        def on_trial_complete(self, iteration, trials, trial, **info):
            entry = self.trial(trial)
            last = trial.last_result or {}
            entry["status"] = sweepfile.FINISHED if last.get("last_epoch") else sweepfile.STOPPED
            close_run(self.sweep_dir, entry.get("run_dir"), "finished" if last.get("last_epoch") else "early_stopped")
            best = entry.get("best_val_accuracy")
            how = "finished" if entry["status"] == sweepfile.FINISHED else "stopped early by ASHA"
            self.say(
                f"trial {trial.trial_id} {how} after {entry['epochs']} epochs: best val_accuracy "
                + ("none" if best is None else f"{best:.4f}")
            )
            self.save()

        def on_trial_error(self, iteration, trials, trial, **info):
            entry = self.trial(trial)
            entry["status"] = sweepfile.FAILED
            entry["error"] = _error_text(trial)
            self.say(f"trial {trial.trial_id} failed: {entry['error']}")
            self.save()

    return _Recorder


def _error_text(trial: Any) -> str:
    text = str(getattr(trial, "error_message", None) or "")
    lines = [line for line in text.splitlines() if line.strip()]
    # Ray's message ends with the exception's own line ("RuntimeError: ..."), which is ours.
    return lines[-1].split(": ", 1)[-1] if lines else "see the trial's run.log"
