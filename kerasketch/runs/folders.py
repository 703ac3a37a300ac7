"""Run folders: ``runs/<name>-<UTC timestamp>/`` and what they hold.

``config.json``    the resolved configuration (recipe, data, options)
``events.jsonl``   the run's events (:mod:`.events`, :mod:`.eventlog`)
``run.log``        what the run printed, and a traceback if it failed
``history.csv``    Keras' CSVLogger, one row per finished epoch
``best.keras``     the best model by validation accuracy, plain Keras (BestModelCheckpoint)
``backup/``        BackupAndRestore's state while the run is unfinished
``eval.json``      the evaluation on the test split
``confusion.csv``  the test confusion matrix, rows true and columns predicted,
                   headed by class names
``mistakes.npz``   the test drawings of the most confused pairs (:mod:`kerasketch.training.mistakes`)

A run's status is read from these files, so it is right whoever asks: the
run itself, the command line, or the dashboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RunError
from . import confusion, eventlog
from .documents import Evaluation, RunConfig
from .events import Epoch, Status
from .jsonfile import DAMAGED_HINT, read_json
from .processes import pid_alive
from .state import RunSummary, fold

#: The format of the run folders this code writes, recorded as config.json's ``format_version``.
#: Folders written before it was recorded have none: format 0, which format 1 extends by the field
#: alone. A change that older readers would misread raises it; a reader takes every format up to its
#: own and names a newer one instead of misreading it.
FORMAT_VERSION = 1

CONFIG = "config.json"
EVENTS = "events.jsonl"
LOG = "run.log"
HISTORY = "history.csv"
BEST = "best.keras"
BACKUP = "backup"
EVAL = "eval.json"
CONFUSION = "confusion.csv"
#: Written once training has ended (finished or early-stopped), before the evaluation: Keras deletes the
#: backup at the end of ``fit``, so a run stopped after it resumes from this file by evaluating alone.
TRAINED = "trained.json"


def new_run_dir(runs_dir: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = runs_dir / f"{name}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def require_run_dir(path: str | Path) -> Path:
    """``path`` if it is a run folder, else a clear error."""
    path = Path(path)
    if not path.exists():
        raise RunError(f"run folder {path} does not exist", "`kerasketch compare` lists the runs in runs/")
    if not (path / CONFIG).is_file():
        raise RunError(
            f"{path} is not a kerasketch run folder (it has no {CONFIG})",
            "give a folder made by a run, like runs/like_vgg_adamw-20261128-120000",
        )
    return path


@dataclass
class RunInfo:
    """A run as its folder describes it."""

    path: Path
    config: RunConfig
    summary: RunSummary
    #: Event lines that were skipped as malformed (``line N: why``): the rest was read.
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def recipe(self) -> str:
        return self.summary.recipe

    @property
    def synthetic(self) -> bool:
        return self.summary.synthetic

    @property
    def status(self) -> Status:
        return self.summary.status

    @property
    def epochs_done(self) -> int:
        return self.summary.epochs_done

    @property
    def best_epoch(self) -> int | None:
        return self.summary.best_epoch

    @property
    def best_val_accuracy(self) -> float | None:
        return self.summary.best_val_accuracy

    @property
    def test_accuracy(self) -> float | None:
        return self.summary.test_accuracy

    @property
    def seconds(self) -> float | None:
        return self.summary.seconds

    @property
    def error(self) -> str | None:
        return self.summary.error

    @property
    def started(self) -> str | None:
        return self.summary.started

    def epochs(self) -> list[Epoch]:
        """The ``epoch`` events, the last one per epoch number (a resumed run repeats none)."""
        return self.summary.epoch_list

    def evaluation(self) -> Evaluation | None:
        """``eval.json``, or None where it is missing or malformed (:func:`read_evaluation` says why)."""
        try:
            return read_evaluation(self.path)
        except RunError:
            return None

    def confusion(self) -> tuple[list[str], list[list[int]]] | None:
        """The test confusion matrix, None before the evaluation; RunError if malformed."""
        return read_confusion(self.path)


def read_config(path: Path) -> RunConfig:
    """A run folder's ``config.json``, checked; RunError if missing, malformed or of a newer format."""
    config: RunConfig | None = read_json(Path(path) / CONFIG, RunConfig)
    if config is None:
        raise RunError(f"{path}: unreadable {CONFIG} (missing)", "is this a run folder?")
    if format_version(config) > FORMAT_VERSION:
        raise RunError(
            f"{path}: run folder format {format_version(config)} is newer than this kerasketch reads "
            f"(format {FORMAT_VERSION} and older)",
            "read it with the kerasketch that wrote it, or upgrade this one",
        )
    return config


def format_version(config: RunConfig) -> int:
    """The format a run folder was written in: config.json's ``format_version``, 0 where it has none."""
    return config.get("format_version", 0)


def read_evaluation(path: Path) -> Evaluation | None:
    """A run folder's ``eval.json``, checked; None before the evaluation, RunError if malformed."""
    return read_json(Path(path) / EVAL, Evaluation)


def read_confusion(path: Path) -> tuple[list[str], list[list[int]]] | None:
    """A run folder's test confusion matrix, None before the evaluation; RunError if malformed."""
    return confusion.read(Path(path) / CONFUSION)


def read_log(path: Path, lines: int = 200) -> list[str]:
    """The last lines of a run folder's ``run.log`` (none if it has none or it cannot be read)."""
    try:
        text = (Path(path) / LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def load(path: str | Path) -> RunInfo:
    """Read a run folder (``require_run_dir`` first where the path comes from a user).

    RunError if its config or events cannot be read; single malformed event
    lines are skipped and listed in ``problems``.
    """
    path = Path(path)
    config = read_config(path)
    loaded = eventlog.load(path / EVENTS)
    if loaded.problems and not loaded.events:
        raise RunError(f"{path}: {EVENTS} holds no readable event ({loaded.problems[0]})", DAMAGED_HINT)
    summary = fold(loaded.events, RunSummary(name=path.name, run_dir=path))
    summary.name, summary.run_dir = path.name, path
    summary.config = summary.config or config
    recipe = config.get("recipe", {})
    summary.recipe = recipe.get("name", summary.recipe) if summary.recipe == "?" else summary.recipe
    summary.dataset = summary.dataset or config.get("dataset", {})
    if summary.epochs_planned is None:
        summary.epochs_planned = recipe.get("epochs")
    summary.started = summary.started or config.get("created")
    if summary.active:
        # No end event: the process still runs, or it died without one.
        alive = pid_alive(summary.pid, summary.pid_started)
        summary.status = Status.RUNNING if alive else Status.INTERRUPTED
    return RunInfo(path=path, config=config, summary=summary, problems=loaded.problems)


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """Every readable run folder directly under ``runs_dir``, newest first."""
    runs_dir = Path(runs_dir)
    try:
        paths = list(runs_dir.iterdir()) if runs_dir.is_dir() else []
    except OSError:
        return []
    runs = []
    for path in paths:
        try:
            if (path / CONFIG).is_file():
                runs.append(load(path))
        except (RunError, OSError):
            continue
    runs.sort(key=lambda r: r.started or r.path.name, reverse=True)
    return runs


def can_resume(path: Path) -> bool:
    """Whether a run that ended unfinished left what its command resumes from: the backup of its last
    finished epoch, or (stopped after training, before its evaluation) the record that training ended."""
    return (path / BACKUP).is_dir() or (path / TRAINED).is_file()


def find_resumable(runs_dir: Path, is_this_run: Callable[[RunConfig], bool]) -> RunInfo | None:
    """The newest unfinished run whose config ``is_this_run`` accepts that left something to resume from.

    ``is_this_run`` is asked last: for a folder recorded before datasets had a digest it computes a
    fingerprint, which finished folders, the most of a runs folder, never need."""
    for run in list_runs(runs_dir):
        if run.status in (Status.INTERRUPTED, Status.CANCELLED) and can_resume(run.path) and is_this_run(run.config):
            return run
    return None
