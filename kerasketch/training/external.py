"""``kerasketch evaluate``: a run's best model on every drawing of another data path, or on its test split again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, KerasketchError, RunError
from ..runs import folders
from ..runs.documents import RunConfig

#: Logits of (k, S, S) uint8 bitmaps: a classifier other than the run's own model (TTA, an ensemble).
LogitsOf = Callable[[np.ndarray], np.ndarray]
#: Called with each scored block's logits and true labels, in order (``--save-probabilities``).
Sink = Callable[[np.ndarray, np.ndarray], None]


def evaluate_run(
    run: str | Path,
    data: str | None,
    *,
    batch_size: int = 256,
    logits_of: LogitsOf | None = None,
    sink: Sink | None = None,
) -> dict[str, Any]:
    """Accuracy, top-3 and macro-F1 of the run's best model on all of ``data`` (no split), or on the
    run's own test split again when ``data`` is None (:func:`rescore_test_split`).

    Classes are matched by name; classes of ``data`` that the model was not
    trained on could never be predicted, so they are left out and named in
    ``skipped_classes``. Macro-F1 is averaged over the classes present in
    ``data`` (``averaged_over``), and files the run trained on are named in
    ``overlaps_training``: on those the figure is not a held-out score.
    ``logits_of`` scores in place of the run's best model (the run still names the classes and data);
    ``sink`` sees every block scored.
    """
    if data is None:
        return rescore_test_split(run, batch_size=batch_size, logits_of=logits_of, sink=sink)
    from ..data.sources import scan
    from .evaluate import BLOCK, Tally

    run_dir, config, known, size = trained_run(run, "evaluate a run that trained")
    best = run_dir / folders.BEST
    catalog = scan(data)
    skipped = sorted(set(catalog.counts) - set(known))
    kept = {name: n for name, n in catalog.counts.items() if name in set(known)}
    if not kept:
        shown = ", ".join(map(repr, skipped[:5])) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        raise DataError(
            f"{data} holds none of the classes the model knows (it holds {shown})",
            f"the model of {run_dir.name} knows {len(known)} classes (see its config.json); "
            "point --data at files of those classes",
        )
    logits_of = logits_of or _best_model_logits(best, batch_size)
    index = {name: i for i, name in enumerate(known)}
    # A block of drawings at a time, so that memory stays bounded whatever the size of ``data``.
    tally = Tally(len(known))
    for name, count in kept.items():
        for lo in range(0, count, BLOCK):
            imgs = catalog.images(name, np.arange(lo, min(lo + BLOCK, count)), size)
            score(tally, sink, logits_of(imgs), np.full(len(imgs), index[name], dtype=np.int64))
    result = tally.result()
    y = tally.true_counts
    return {
        "run": str(run_dir),
        "data": str(data),
        "classes": sorted(kept),
        "skipped_classes": {name: catalog.counts[name] for name in skipped},
        "samples": int(y.sum()),
        "accuracy": result["accuracy"],
        "top3_accuracy": result["top3_accuracy"],
        "macro_f1": result["macro_f1"],
        "averaged_over": [known[i] for i in result["present"]],
        "model_classes": len(known),
        "overlaps_training": _overlap(
            config, [src.path for src in catalog.sources if any(c in kept for c in src.counts)]
        ),
        "skipped_bad_lines": catalog.skipped,
    } | class_balance(result, known, class_sizes(config, known))


def rescore_test_split(
    run: str | Path, *, batch_size: int = 256, logits_of: LogitsOf | None = None, sink: Sink | None = None
) -> dict[str, Any]:
    """The run's best model (or ``logits_of``) on its own test split again: the data rebuilt (or reopened
    from the cache) from its config.json, the scores beside the ones its evaluation recorded
    (``recorded_accuracy``)."""
    from ..data import cache
    from .evaluate import BLOCK, Tally

    run_dir, config, known, size = trained_run(run, "evaluate a run that trained")
    data_config = _data_config(run_dir, config, size)
    try:
        dataset = cache.load_or_build(data_config)
    except DataError as err:
        raise DataError(
            f"{run_dir.name}'s data cannot be read again: {err.message}",
            "give --data PATH to evaluate on other drawings of its classes",
        ) from None
    if dataset.class_names != known:
        raise DataError(
            f"{run_dir.name}'s data has changed since it trained: its classes are not the model's",
            "give --data PATH to evaluate on drawings of its classes",
        )
    logits_of = logits_of or _best_model_logits(run_dir / folders.BEST, batch_size)
    tally = Tally(len(known))
    for lo in range(0, len(dataset.y_test), BLOCK):  # a block at a time: memory stays bounded
        score(tally, sink, logits_of(np.asarray(dataset.x_test[lo : lo + BLOCK])), dataset.y_test[lo : lo + BLOCK])
    result = tally.result()
    recorded = (folders.read_evaluation(run_dir) or {}).get("test", {})
    return {
        "run": str(run_dir),
        "data": f"the test split of {dataset.source}",
        "classes": list(known),
        "skipped_classes": {},
        "samples": len(dataset.y_test),
        "accuracy": result["accuracy"],
        "top3_accuracy": result["top3_accuracy"],
        "macro_f1": result["macro_f1"],
        "averaged_over": [known[i] for i in result["present"]],
        "model_classes": len(known),
        "overlaps_training": [],  # the test split is held out from training
        "skipped_bad_lines": dataset.skipped,
        "recorded_accuracy": recorded.get("accuracy"),
    } | class_balance(result, known, np.bincount(dataset.y_train, minlength=len(known)))


def class_balance(result: dict[str, Any], classes: list[str], sizes: np.ndarray | None) -> dict[str, Any]:
    """Balanced accuracy over the classes present, and the recall of the smallest classes by training size
    (where the sizes are known), as eval.json reports them."""
    from .class_evidence import balanced_accuracy, smallest_recall

    recall, support = np.nan_to_num(result["per_class_accuracy"]), result["support"]
    out: dict[str, Any] = {"balanced_accuracy": balanced_accuracy(recall, support)}
    if sizes is not None:
        out["smallest_recall"], out["smallest_classes"] = smallest_recall(recall, support, sizes, classes)
    return out


def class_sizes(config: RunConfig, classes: list[str]) -> np.ndarray | None:
    """Each class's drawings in the run's dataset (config.json's dataset.classes), or None where not recorded."""
    counts = (config.get("dataset") or {}).get("classes")
    if not isinstance(counts, dict) or not all(isinstance(counts.get(c), int) for c in classes):
        return None
    return np.array([counts[c] for c in classes], np.int64)


def score(tally: Any, sink: Sink | None, logits: np.ndarray, labels: np.ndarray) -> None:
    tally.add(logits, labels)
    if sink is not None:
        sink(logits, labels)


def _data_config(run_dir: Path, config: RunConfig, size: int):
    """The data settings a run trained with, as its config.json records them."""
    from ..data.assembly import DataConfig

    data = config.get("data")
    if not isinstance(data, dict):
        raise RunError(f"{run_dir / folders.CONFIG}: field 'data' is missing", "give --data PATH to evaluate on")
    fields = {k: data[k] for k in ("data", "fraction", "max_per_class", "seed", "synthetic_per_class") if k in data}
    classes = data.get("classes")
    try:
        return DataConfig(
            **fields,
            classes=tuple(classes) if isinstance(classes, list) else classes,
            split=tuple(data.get("split", (0.8, 0.1, 0.1))),
            image_size=size,
        )
    except (TypeError, KerasketchError) as err:
        raise RunError(
            f"{run_dir / folders.CONFIG}: field 'data' does not describe a dataset ({err})",
            "give --data PATH to evaluate on",
        ) from None


def trained_run(run: str | Path, hint: str) -> tuple[Path, RunConfig, list[str], int]:
    """A run folder with a ``best.keras``: its path, config, class names and image size, or one message."""
    run_dir = folders.require_run_dir(run)
    config = folders.load(run_dir).config
    classes, size = _model_classes_and_size(run_dir, config)
    if not (run_dir / folders.BEST).is_file():
        raise RunError(f"{run_dir} has no {folders.BEST}: the run never finished an epoch", hint)
    return run_dir, config, classes, size


def _model_classes_and_size(run_dir: Path, config: RunConfig) -> tuple[list[str], int]:
    """The class names and image size the run's config records, or an error naming the field."""
    where = run_dir / folders.CONFIG
    hint = "the run's config.json is damaged: run the recipe again (with --fresh) to make a new folder"
    names = config.get("class_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise RunError(f"{where}: field 'class_names' is missing or not a list of class names", hint)
    recipe = config.get("recipe")
    size = recipe.get("image_size") if isinstance(recipe, dict) else None
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 512:
        raise RunError(f"{where}: field 'recipe.image_size' is missing or not a size in pixels", hint)
    return names, size


def _best_model_logits(path: Path, batch_size: int) -> LogitsOf:
    from .evaluate import predict_logits

    model = _load_model(path)
    return lambda images: predict_logits(model, images, batch_size)


def _load_model(path: Path):
    import zipfile

    import keras

    import kerasketch.models  # noqa: F401  registers the custom layers for loading

    try:
        return keras.saving.load_model(path, compile=False)
    except KerasketchError as err:  # a pretrained model whose weights file is gone says so itself
        raise RunError(
            f"{path}: {err.message}",
            "a pretrained run's model refers to its backbone's weights instead of holding them: "
            "put that file back (or torchvision's ImageNet checkpoint into the torch hub cache)",
        ) from None
    except Exception as err:  # Keras raises ValueError, OSError, zipfile and h5py errors alike
        # Keras calls a file that is not a whole zip archive "File not found", which it is not.
        why = (
            "not a complete .keras zip archive"
            if not zipfile.is_zipfile(path)
            else f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}"
        )
        raise RunError(
            f"{path}: not a readable Keras model ({why})",
            "the file is truncated or damaged (a full disk, a copy cut short); "
            "run the recipe again with --fresh to train a new one",
        ) from None


def _overlap(config: RunConfig, files: list[Path]) -> list[str]:
    """The evaluated files that lie in the data the run trained on."""
    dataset = config.get("dataset")
    source = dataset.get("source") if isinstance(dataset, dict) else None
    if not isinstance(source, str) or (isinstance(dataset, dict) and dataset.get("synthetic")):
        return []
    trained = Path(source).expanduser().resolve()
    out = []
    for f in files:
        f = f.resolve()
        if f == trained or trained in f.parents:
            out.append(str(f))
    return out
