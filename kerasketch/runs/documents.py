"""The JSON documents of a run folder as types: ``config.json`` (:class:`RunConfig`,
also the ``start`` event's ``config``), ``eval.json`` (:class:`Evaluation`) and ``trained.json``
(:class:`TrainedRecord`).

Readers check what they read against these (:mod:`.schema`); every key may be
missing from an old or damaged file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict


class OriginalResult(TypedDict, total=False):
    number: int
    title: str
    loss: str
    optimizer: str
    val_acc: float
    best_epoch: int


class RecipeConfig(TypedDict, total=False):
    name: str
    model: str
    loss: str
    optimizer: str
    image_size: int
    original: OriginalResult | None  # None: a recipe of ours
    optimizer_settings: dict[str, Any]
    l2: float
    batch_size: int
    epochs: int
    patience: int
    weights: str | None
    model_options: dict[str, Any]
    label_smoothing: float  # this and the three below: absent at their defaults (recipes.base.LATER_FIELDS)
    schedule: str
    warmup_epochs: int
    augmentation: dict[str, float]


class DatasetSummary(TypedDict, total=False):
    source: str
    synthetic: bool
    image_size: int
    num_classes: int
    classes: dict[str, int]
    splits: dict[str, int]
    total: int
    imbalance: float | None
    skipped_bad_lines: Any
    cache: str | None
    # The drawings' and labels' hash (kerasketch.data.digest); absent from runs recorded before it.
    digest: str | None


class Params(TypedDict, total=False):
    trainable: int
    total: int


class RunConfig(TypedDict, total=False):
    """The resolved configuration a run records; every key may be missing from an old or damaged file."""

    # The run-folder format that wrote the folder (runs.folders.FORMAT_VERSION); absent: format 0.
    format_version: int
    recipe: RecipeConfig
    data: dict[str, Any]
    dataset: DatasetSummary
    class_names: list[str]
    params: Params
    fingerprint: str
    options: dict[str, Any]
    created: str
    versions: dict[str, str]
    device: str
    # How the steps ran (training/execution.py): mode, precision and why, threads, memory format, update.
    execution: dict[str, Any]
    # How many processes trained it, how (training/distributed.py's record); absent: one process.
    distributed: dict[str, Any]


def distributed_record(config: Mapping[str, Any]) -> dict[str, Any]:
    """config.json's ``distributed`` as readers need it: ``world_size`` always a whole number of at
    least 1 (1 for a folder from before data parallelism, or a damaged record), the other keys as
    written where they have their types, else None."""
    given = config.get("distributed") if isinstance(config, Mapping) else None
    record = given if isinstance(given, dict) else {}
    size = record.get("world_size")
    out: dict[str, Any] = {
        "world_size": size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 1
    }
    for key in ("global_batch", "per_rank_batch", "local_ranks", "threads_per_rank"):
        value = record.get(key)
        out[key] = value if isinstance(value, int) and not isinstance(value, bool) else None
    backend = record.get("backend")
    out["backend"] = backend if isinstance(backend, str) else None
    return out


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
    # --precise-bn's record (training/precise_bn.py): drawings used, val_accuracy_before, val_accuracy_after.
    precise_bn: dict[str, float | int]


class TrainedRecord(TypedDict, total=False):
    """``trained.json``: written when training ends, before the evaluation (training/train.py)."""

    reason: str  # finished or early_stopped
    # Evaluation's precise_bn, once the statistics were recomputed: a resumed evaluation does not redo it.
    precise_bn: dict[str, float | int] | None
