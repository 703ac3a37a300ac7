"""``kerasketch evaluate``: a run's best model on every drawing of another data path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, RunError
from . import rundir


def evaluate_run(run: str | Path, data: str, *, batch_size: int = 256) -> dict[str, Any]:
    """Accuracy, top-3 and macro-F1 of the run's best model on all of ``data`` (no split).

    Classes are matched by name; a class in ``data`` that the model was not
    trained on is an error, since it could never be predicted.
    """
    import keras

    import kerasketch.models  # noqa: F401  registers the custom layers for loading

    from ..data.sources import scan
    from .evaluate import predict_logits, scores

    run_dir = rundir.require_run_dir(run)
    config = rundir.load(run_dir).config
    best = run_dir / rundir.BEST
    if not best.is_file():
        raise RunError(
            f"{run_dir} has no {rundir.BEST}: the run never finished an epoch", "evaluate a run that trained"
        )
    known = config["class_names"]
    size = int(config["recipe"]["image_size"])
    catalog = scan(data)
    unknown = sorted(set(catalog.counts) - set(known))
    if unknown:
        shown = ", ".join(map(repr, unknown[:5])) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise DataError(
            f"{data} holds class{'es' if len(unknown) > 1 else ''} the model does not know: {shown}",
            f"the model of {run_dir.name} knows {len(known)} classes (see its config.json); "
            "point --data at files of those classes only",
        )
    index = {name: i for i, name in enumerate(known)}
    images, labels = [], []
    for name, count in catalog.counts.items():
        imgs = catalog.images(name, np.arange(count), size)
        images.append(imgs)
        labels.append(np.full(len(imgs), index[name], dtype=np.int64))
    x, y = np.concatenate(images), np.concatenate(labels)
    model = keras.saving.load_model(best, compile=False)
    result = scores(predict_logits(model, x, batch_size), y, len(known))
    return {
        "run": str(run_dir),
        "data": str(data),
        "classes": sorted(catalog.counts),
        "samples": len(y),
        "accuracy": result["accuracy"],
        "top3_accuracy": result["top3_accuracy"],
        "macro_f1": result["macro_f1"],
        "skipped_bad_lines": catalog.skipped,
    }
