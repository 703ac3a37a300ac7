"""``kerasketch evaluate``: a run's best model on every drawing of another data path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, KerasketchError, RunError
from ..events import RunConfig
from . import rundir


def evaluate_run(run: str | Path, data: str, *, batch_size: int = 256) -> dict[str, Any]:
    """Accuracy, top-3 and macro-F1 of the run's best model on all of ``data`` (no split).

    Classes are matched by name; a class in ``data`` that the model was not
    trained on is an error, since it could never be predicted. Macro-F1 is
    averaged over the classes present in ``data`` (``averaged_over``), and
    files the run trained on are named in ``overlaps_training``: on those the
    figure is not a held-out score.
    """
    from ..data.sources import scan
    from .evaluate import BLOCK, Tally, predict_logits

    run_dir, config, known, size = trained_run(run, "evaluate a run that trained")
    best = run_dir / rundir.BEST
    catalog = scan(data)
    unknown = sorted(set(catalog.counts) - set(known))
    if unknown:
        shown = ", ".join(map(repr, unknown[:5])) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise DataError(
            f"{data} holds class{'es' if len(unknown) > 1 else ''} the model does not know: {shown}",
            f"the model of {run_dir.name} knows {len(known)} classes (see its config.json); "
            "point --data at files of those classes only",
        )
    model = _load_model(best)
    index = {name: i for i, name in enumerate(known)}
    # A block of drawings at a time, so that memory stays bounded whatever the size of ``data``.
    tally = Tally(len(known))
    for name, count in catalog.counts.items():
        for lo in range(0, count, BLOCK):
            imgs = catalog.images(name, np.arange(lo, min(lo + BLOCK, count)), size)
            tally.add(predict_logits(model, imgs, batch_size), np.full(len(imgs), index[name], dtype=np.int64))
    result = tally.result()
    y = tally.true_counts
    return {
        "run": str(run_dir),
        "data": str(data),
        "classes": sorted(catalog.counts),
        "samples": int(y.sum()),
        "accuracy": result["accuracy"],
        "top3_accuracy": result["top3_accuracy"],
        "macro_f1": result["macro_f1"],
        "averaged_over": [known[i] for i in result["present"]],
        "model_classes": len(known),
        "overlaps_training": _overlap(config, [src.path for src in catalog.sources]),
        "skipped_bad_lines": catalog.skipped,
    }


def trained_run(run: str | Path, hint: str) -> tuple[Path, RunConfig, list[str], int]:
    """A run folder with a ``best.keras``: its path, config, class names and image size, or one message."""
    run_dir = rundir.require_run_dir(run)
    config = rundir.load(run_dir).config
    classes, size = _model_classes_and_size(run_dir, config)
    if not (run_dir / rundir.BEST).is_file():
        raise RunError(f"{run_dir} has no {rundir.BEST}: the run never finished an epoch", hint)
    return run_dir, config, classes, size


def _model_classes_and_size(run_dir: Path, config: RunConfig) -> tuple[list[str], int]:
    """The class names and image size the run's config records, or an error naming the field."""
    where = run_dir / rundir.CONFIG
    hint = "the run's config.json is damaged: run the recipe again (with --fresh) to make a new folder"
    names = config.get("class_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise RunError(f"{where}: field 'class_names' is missing or not a list of class names", hint)
    recipe = config.get("recipe")
    size = recipe.get("image_size") if isinstance(recipe, dict) else None
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 512:
        raise RunError(f"{where}: field 'recipe.image_size' is missing or not a size in pixels", hint)
    return names, size


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
