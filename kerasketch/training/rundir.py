"""Run folders: ``runs/<name>-<UTC timestamp>/`` and what they hold.

``config.json``    the resolved configuration (recipe, data, options)
``events.jsonl``   the run's events (:mod:`kerasketch.events`)
``run.log``        what the run printed, and a traceback if it failed
``history.csv``    Keras' CSVLogger, one row per finished epoch
``best.keras``     the best model by validation accuracy, plain Keras (BestModelCheckpoint)
``backup/``        BackupAndRestore's state while the run is unfinished
``eval.json``      the evaluation on the test split
``confusion.csv``  the test confusion matrix, rows true and columns predicted,
                   headed by class names
``mistakes.npz``   the test drawings of the most confused pairs (:mod:`.mistakes`)

A run's status is read from these files, so it is right whoever asks: the
run itself, the command line, or the dashboard.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from .. import events, schema
from ..errors import RunError

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


def new_run_dir(runs_dir: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = runs_dir / f"{name}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def write_json_atomically(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk must not keep a half-written copy


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


def process_started(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, from /proc); None where unknown.

    With the pid, this names one process for good: a pid the kernel hands to a
    new process later has another start time.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22 of stat(5); the split drops the first two
    except (OSError, IndexError, ValueError):
        return None


def this_process() -> dict[str, int | None]:
    """``pid`` and ``pid_started`` of this process, as events and sweep.json record them."""
    return {"pid": os.getpid(), "pid_started": process_started(os.getpid())}


def pid_alive(pid: int | None, started: int | None = None) -> bool:
    """Whether the run's process still runs.

    With ``started`` (what :func:`process_started` said when the run began),
    the process must have that start time: a Ray worker running a trial has no
    "kerasketch" in its command line, and a pid reused by another process
    does not count. Without it (folders written before it was recorded), the
    process must be kerasketch's. A dead but unreaped process (a zombie) never counts.
    """
    if not pid or pid <= 0:  # a damaged file's pid must not name a process group
        return False
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").exists():
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, IndexError):
            return False
        if state == "Z":
            return False
        if started is not None:
            return process_started(pid) == started
        return b"kerasketch" in cmdline
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


# "class" is a keyword: the functional form spells it.
# precision, recall and f1 are absent from eval.json files written before they were recorded.
PerClassRow = TypedDict(
    "PerClassRow",
    {
        "class": str,
        "test_support": int,
        "train_count": int,
        "accuracy": float | None,
        "precision": float | None,
        "recall": float | None,
        "f1": float | None,
    },
    total=False,
)


class ConfusedPair(TypedDict, total=False):
    true: str
    predicted: str
    count: int
    share: float


class TestScores(TypedDict, total=False):
    accuracy: float | None
    top3_accuracy: float | None
    macro_f1: float | None
    balanced_accuracy: float | None  # mean recall over the classes with test drawings
    averaged_over: list[str]  # the classes with test drawings: macro-F1 is their mean
    samples: int
    predictions_outside_classes: int


class Imbalance(TypedDict, total=False):
    """eval.json's ``imbalance``; the keys after ``spearman_size_vs_accuracy`` came later (issue 36)."""

    largest_class: int
    smallest_class: int
    ratio: float
    spearman_size_vs_accuracy: float | None
    spearman_size_vs_recall: float | None
    spearman_ci95_low: float | None  # percentile bootstrap over the classes
    spearman_ci95_high: float | None
    bootstrap_resamples: int
    bootstrap_seed: int
    smallest_recall: float | None  # mean recall of the smallest_classes (fewest training drawings)
    smallest_classes: list[str]


class Evaluation(TypedDict, total=False):
    """``eval.json``, as :func:`kerasketch.training.evaluate.evaluation_report` writes it."""

    criterion: dict[str, float | int | None]
    test: TestScores
    imbalance: Imbalance
    per_class: list[PerClassRow]
    epochs_run: int
    train_seconds: float
    most_confused: list[ConfusedPair]
    synthetic: bool


@dataclass
class RunInfo:
    """A run as its folder describes it."""

    path: Path
    config: events.RunConfig
    summary: events.RunSummary
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
    def status(self) -> events.Status:
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

    def epochs(self) -> list[events.Epoch]:
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


def read_json(path: Path, hint: Any) -> Any:
    """A JSON file checked against its type; None if it does not exist, RunError if it is malformed."""
    folder, name = path.parent, path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise RunError(f"{folder}: unreadable {name} (not UTF-8 text)", _DAMAGED) from None
    except OSError as err:
        raise RunError(f"{folder}: unreadable {name} ({err.strerror or err})", _DAMAGED) from None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise RunError(f"{folder}: unreadable {name} ({err})", _DAMAGED) from None
    if not isinstance(obj, dict):
        raise RunError(f"{folder}: {name} is not a JSON object", _DAMAGED)
    try:
        schema.check(obj, hint)
    except schema.SchemaError as err:
        field = f"field '{err.where}'" if err.where else "the document"
        raise RunError(f"{path}: {field} {err.reason}", _DAMAGED) from None
    return obj


_DAMAGED = "is this a run folder? A damaged file can be moved away; the rest of the folder stays readable"


def read_config(path: Path) -> events.RunConfig:
    """A run folder's ``config.json``, checked; RunError if missing, malformed or of a newer format."""
    config: events.RunConfig | None = read_json(Path(path) / CONFIG, events.RunConfig)
    if config is None:
        raise RunError(f"{path}: unreadable {CONFIG} (missing)", "is this a run folder?")
    if format_version(config) > FORMAT_VERSION:
        raise RunError(
            f"{path}: run folder format {format_version(config)} is newer than this kerasketch reads "
            f"(format {FORMAT_VERSION} and older)",
            "read it with the kerasketch that wrote it, or upgrade this one",
        )
    return config


def format_version(config: events.RunConfig) -> int:
    """The format a run folder was written in: config.json's ``format_version``, 0 where it has none."""
    return config.get("format_version", 0)


def read_evaluation(path: Path) -> Evaluation | None:
    """A run folder's ``eval.json``, checked; None before the evaluation, RunError if malformed."""
    return read_json(Path(path) / EVAL, Evaluation)


def read_confusion(path: Path) -> tuple[list[str], list[list[int]]] | None:
    """A run folder's test confusion matrix, None before the evaluation; RunError if malformed."""
    from . import confusion

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
    loaded = events.load(path / EVENTS)
    if loaded.problems and not loaded.events:
        raise RunError(f"{path}: {EVENTS} holds no readable event ({loaded.problems[0]})", _DAMAGED)
    summary = events.fold(loaded.events, events.RunSummary(name=path.name, run_dir=path))
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
        summary.status = events.Status.RUNNING if alive else events.Status.INTERRUPTED
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


def find_resumable(runs_dir: Path, fingerprint: str) -> RunInfo | None:
    """The newest unfinished run with this fingerprint that left a backup to resume from."""
    for run in list_runs(runs_dir):
        if (
            run.config.get("fingerprint") == fingerprint
            and run.status in (events.Status.INTERRUPTED, events.Status.CANCELLED)
            and (run.path / BACKUP).is_dir()
        ):
            return run
    return None
