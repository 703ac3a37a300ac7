"""One run of a recipe: data, model, ``model.fit`` with Keras' callbacks, evaluation.

The order of things, and why:

1. The dataset is assembled (or reopened from the cache) before a run folder
   exists, so bad input leaves no empty run behind.
2. An unfinished run with the same resolved configuration is resumed
   (``BackupAndRestore``) unless ``fresh`` is set; else a new folder is made.
3. One seed drives the data protocol, the initialisation and the shuffling.
4. ``model.fit`` runs with Keras' own EarlyStopping, CSVLogger,
   BackupAndRestore and TerminateOnNaN, plus ours: the best-model checkpoint
   (saved as plain Keras) and the callback that writes events.
5. The best checkpoint is evaluated on the test split: ``eval.json`` and
   ``confusion.csv``.

SIGTERM (the dashboard's stop) and Ctrl-C end the run as *cancelled*: the
backup of the last finished epoch stays, and the same command resumes it.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import active_backend, validation
from ..data.assembly import DataConfig, Dataset
from ..errors import KerasketchError
from ..recipes.base import Recipe
from ..runs import eventlog, events, folders, storage
from ..runs.documents import RunConfig
from ..runs.jsonfile import write_json_atomically
from ..runs.processes import this_process
from . import compile_cache, distributed, execution, stop
from .assemble import open_dataset, progress_events
from .config import fingerprint, is_this_run, numeric, resolved_config
from .narration import Narration, Presenter, Silent
from .open_run import OpenRun
from .record import RunResult, conclude
from .run_options import RunOptions
from .train import mark_trained, train, trained_before


def run(recipe: Recipe, options: RunOptions, *, presenter: Presenter | None = None) -> RunResult:
    """Run ``recipe`` as ``options`` say; ``presenter`` shows what the run says (none: only its run.log keeps it).

    The steps: resolve the config (:mod:`.config`) and assemble the data (:mod:`.assemble`), both
    in :func:`_prepare`; make or find the run folder (:func:`_open_folder`); fit (:func:`.train.train`);
    evaluate and record (:func:`.record.conclude`). Each reports by events and by its :class:`~.narration.Narration`.
    """

    data_config = replace(options.data, image_size=recipe.image_size)
    # `--precision auto` becomes the policy it picks before anything (the fingerprint, the config) sees it.
    precision, precision_why = execution.resolve_precision(options.precision, backend=active_backend.name())
    options = replace(options, precision=precision)
    world = distributed.start(
        distributed.world_from_env(),
        backend=options.dist_backend,
        timeout=options.dist_timeout,
        threads=options.threads,
    )
    distributed.check_batch(recipe.batch_size, world)
    distributed.check_sync_bn(sync_bn=options.sync_bn, jit_compile=options.jit_compile, world=world)
    if world.leader:
        out = Narration(presenter)
        stream = eventlog.open_stream(options.events)
        sink = eventlog.EventSink([stream] if stream else [], listeners=[out.on_event, *options.listeners])
    else:
        # Rank 0 speaks for the run; the others keep their own log (rank-N.log) in its folder.
        out = Narration(Silent())
        stream, sink = None, eventlog.EventSink([])
    label = options.name or recipe.name
    started = time.perf_counter()
    try:
        with stop.on_signals():
            dataset, config, is_this = _prepare(
                recipe=recipe,
                options=options,
                data_config=data_config,
                out=out,
                sink=sink,
                label=label,
                precision_why=precision_why,
                world=world,
            )
            if not world.leader:
                run_dir, resuming = distributed.broadcast_object(None, world)  # the folder rank 0 chose
                out.open_log(run_dir / f"rank-{world.rank}.log")
                with compile_cache.kept(options.jit_compile):
                    return _train_and_record(
                        OpenRun(recipe, options, dataset, run_dir, config, resuming, out, sink, started, world)
                    )
            run_dir, resuming = _open_folder(
                recipe=recipe,
                options=options,
                config=config,
                is_this=is_this,
                label=label,
                out=out,
                sink=sink,
                world=world,
            )
            distributed.broadcast_object((run_dir, resuming), world)
            out.say(dataset.describe())
            return _guarded(OpenRun(recipe, options, dataset, run_dir, config, resuming, out, sink, started, world))
    finally:
        # Every line was flushed as written: closing can only fail on a disk that already failed.
        with contextlib.suppress(OSError):
            sink.close()
        with contextlib.suppress(OSError):
            out.close()
        eventlog.close_stream(stream)
        distributed.stop()


def _prepare(
    *,
    recipe: Recipe,
    options: RunOptions,
    data_config: DataConfig,
    out: Narration,
    sink: eventlog.EventSink,
    label: str,
    precision_why: str,
    world: distributed.World,
) -> tuple[Dataset, dict[str, Any], Callable[[RunConfig], bool]]:
    """Resolve the config and assemble the data, before any folder exists: (dataset, config, and the test
    that tells an unfinished run of these settings and data, to resume, by its recorded config).

    A failure here trained nothing: it is reported as an ``end`` event and raised, leaving no folder.
    """
    sink.emit(events.make("status", label, message="preparing data", **this_process()))
    try:
        # Before the data and the folder: compile_model would refuse a misfit only after both.
        validation.check_loss_options(
            recipe.loss,
            recipe=recipe.name,
            label_smoothing=recipe.label_smoothing,
            logit_adjust=options.logit_adjust,
            focal_alpha=options.focal_alpha,
            focal_gamma=options.focal_gamma,
        )
        if not world.leader:
            distributed.wait_for_leader(world)  # rank 0 builds the cache; the others then open it
        with out.presenter.data_progress() as bar:
            dataset = open_dataset(options, data_config, progress=progress_events(sink, label, bar))
        if world.leader:
            distributed.wait_for_leader(world)
        validation.check_trainable_classes(dataset.class_names, dataset.source)
        numbers = options.values(only=numeric)
        fp = fingerprint(recipe, data_config, dataset=dataset.digest, tag=options.tag, **numbers)
        # Resolving the config imports Keras and torch (seconds): done before the
        # folder exists, so that a stop meanwhile leaves no folder without a config.
        config = resolved_config(
            recipe=recipe,
            options=options,
            data_config=data_config,
            dataset=dataset,
            fingerprint=fp,
            precision_why=precision_why,
            world=world,
        )
    except (KerasketchError, KeyboardInterrupt) as err:
        # Nothing was trained: report, leave no run folder behind.
        cancelled = isinstance(err, KeyboardInterrupt)
        sink.emit(
            events.make(
                "end", label, reason="cancelled" if cancelled else "failed", error=None if cancelled else str(err)
            )
        )
        raise

    def is_this(recorded: RunConfig) -> bool:
        return is_this_run(recorded, fp, recipe, data_config, tag=options.tag, **numbers)

    return dataset, config, is_this


def _open_folder(
    *,
    recipe: Recipe,
    options: RunOptions,
    config: dict[str, Any],
    is_this: Callable[[RunConfig], bool],
    label: str,
    out: Narration,
    sink: eventlog.EventSink,
    world: distributed.World,
) -> tuple[Path, bool]:
    """Rank 0's run folder: the unfinished one to resume, else a new one with its config.json; (folder, resuming)."""
    resumed = None if options.fresh else folders.find_resumable(options.runs_dir, is_this)
    switched = distributed.resume_note(folders.read_config(resumed.path), world) if resumed is not None else None
    made: Path | None = None
    try:
        run_dir = resumed.path if resumed else folders.new_run_dir(options.runs_dir, label)
        made = None if resumed else run_dir
        if not resumed:
            write_json_atomically(run_dir / folders.CONFIG, config)
        out.open_log(run_dir / folders.LOG)
        sink.open_file(run_dir / folders.EVENTS)
    except OSError as err:
        # Nothing trained yet: a folder we just made holds nothing worth keeping.
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        failure = storage.as_run_error(err, options.runs_dir)
        _emit_quietly(sink, events.make("end", label, reason="failed", error=failure.message))
        raise failure from None
    out.say(f"kerasketch {recipe.name}: {'resuming ' if resumed else ''}run folder {run_dir}")
    if switched:
        out.say(switched)
    return run_dir, resumed is not None


def _guarded(run: OpenRun) -> RunResult:
    """Rank 0's training and record, with a stop, a lost rank and any failure turned into the run's end."""
    name, run_dir, out, sink, started, world = run.name, run.run_dir, run.out, run.sink, run.started, run.world
    try:
        with compile_cache.kept(run.options.jit_compile):
            return _train_and_record(run)
    except KeyboardInterrupt:
        sink.emit(events.make("end", name, reason="cancelled", seconds=round(time.perf_counter() - started, 2)))
        resumes = "evaluates it" if (run_dir / folders.TRAINED).is_file() else "resumes from the last finished epoch"
        out.say(f"cancelled; the same command {resumes} ({run_dir})", essential=True)
        return RunResult(run_dir, "cancelled", 130)
    except Exception as err:
        if world.distributed and distributed.lost_a_rank(err):
            # Another rank died or hung: this one is sound and its folder resumable, as after a stop.
            message = f"rank {world.rank}: another rank stopped answering ({type(err).__name__}: {err})"
            with contextlib.suppress(OSError):
                out.log_only(traceback.format_exc())
            _emit_quietly(sink, events.make("end", name, reason="cancelled", error=message))
            out.say(f"{message}\nthe same command resumes from the last finished epoch ({run_dir})", essential=True)
            return RunResult(run_dir, "cancelled", 1)
        # Our own errors say what they mean; any other with an OSError behind it is the disk's.
        fault = None if isinstance(err, KerasketchError) else storage.storage_fault(err)
        disk_error = storage.as_run_error(fault, run_dir) if fault is not None else None
        if disk_error is not None:
            # After a full disk, first free what the write cut short, so the end event fits.
            removed = storage.remove_partial_files(run_dir)
            if removed:
                disk_error.message += f" (removed the partial {', '.join(removed)})"
            err = disk_error
        message = err.message if isinstance(err, KerasketchError) else f"{type(err).__name__}: {err}"
        with contextlib.suppress(OSError):
            out.log_only(traceback.format_exc())
        _emit_quietly(
            sink,
            events.make("end", name, reason="failed", error=message, seconds=round(time.perf_counter() - started, 2)),
        )
        if disk_error is not None:
            raise disk_error from None
        if isinstance(err, KerasketchError):
            raise
        out.say(f"error: {message}\nthe traceback is in {run_dir / folders.LOG}", essential=True)
        return RunResult(run_dir, "failed", 1)


def _train_and_record(run: OpenRun) -> RunResult:
    # A run stopped after training but before its evaluation (Keras deleted the backup as fit ended)
    # resumes at the evaluation: rank 0 finds training's record, and every rank skips the fit.
    earlier = trained_before(run.run_dir) if run.resuming and run.world.leader else None
    earlier = distributed.broadcast_object(earlier, run.world)
    if earlier is not None:
        run.out.say(f"training had ended ({earlier.reason.replace('_', ' ')} after {len(earlier.history)} epochs)")
        trained = earlier
    else:
        trained = train(run)
        if run.world.leader:
            mark_trained(run.run_dir, trained)
    if not run.world.leader:
        # Rank 0 evaluates the test split alone: a single-process evaluation of the same weights.
        run.out.say(f"rank {run.world.rank}: {trained.reason} after {len(trained.history)} epochs")
        return RunResult(run.run_dir, trained.reason, 0)
    return conclude(run, trained)


def _emit_quietly(sink: eventlog.EventSink, event: dict[str, Any]) -> None:
    """The failure's end event, where the disk still takes it; the error itself is reported anyway."""
    with contextlib.suppress(OSError):
        sink.emit(event)
