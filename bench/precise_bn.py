"""BatchNorm statistics recomputed after training ("precise BN"): what a run's best model scores with the
moving statistics it saved against statistics recomputed for its final weights on clean training drawings.

Training computes BatchNorm's moving statistics on augmented batches (sketch_resnet's RandomAffine) and, with
``--ema``, for the raw weights while the model saved holds their average (Keras' ``use_ema`` averages the
trainable variables only). This script measures what that costs: for each run folder it loads ``best.keras``,
scores the validation and test splits, recomputes every BatchNormalization layer's statistics by forward
passes in training mode over the run's own training split without augmentation (100 batches at momentum 0.9,
then 400 at 0.99; no weight changes), and scores them again. The run's dataset cache must be on this machine.

Usage: python bench/precise_bn.py RUN [RUN ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from kerasketch.inference.runtimes import model_input
from kerasketch.training.evaluate import predict_logits, scores

#: (momentum, batches of 64) passes: the first forgets the saved statistics, the second averages many batches.
PASSES = ((0.9, 100), (0.99, 400))


def walk(layer) -> Iterator:
    yield layer
    for sub in getattr(layer, "layers", []):
        yield from walk(sub)


def accuracy(model, x: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    """As the evaluation scores a run (a prediction beyond the classes, as TS_CNN's head has, is wrong)."""
    return scores(predict_logits(model, x), y.astype(np.int64), n_classes)["accuracy"]


def measure(run: Path) -> dict[str, float]:
    import h5py
    import keras
    import torch

    config = json.loads((run / "config.json").read_text())
    cache = Path(config["dataset"]["cache"])
    if not cache.is_file():
        raise SystemExit(
            f"error: {run}'s dataset cache {cache} is not on this machine: run the study's rows here first"
        )
    model = keras.saving.load_model(run / "best.keras", compile=False)
    norms = [layer for layer in walk(model) if isinstance(layer, keras.layers.BatchNormalization)]
    n = config["dataset"]["num_classes"]
    with h5py.File(cache, "r") as f, torch.no_grad():
        x_train, x_val, y_val, x_test, y_test = (f[k][:] for k in ("x_train", "x_val", "y_val", "x_test", "y_test"))
        out = {"val": accuracy(model, x_val, y_val, n), "test": accuracy(model, x_test, y_test, n)}
        rng = np.random.default_rng(0)
        for momentum, batches in PASSES:
            for layer in norms:
                layer.momentum = momentum
            order = rng.permutation(len(x_train))[: 64 * batches]
            for i in range(0, len(order) - 63, 64):
                model(model_input(x_train[np.sort(order[i : i + 64])]), training=True)
        out |= {"val_precise": accuracy(model, x_val, y_val, n), "test_precise": accuracy(model, x_test, y_test, n)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore", message="The structure of `inputs`")
    print("| run | val acc | test acc | val acc, statistics recomputed | test acc, statistics recomputed |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for run in args.runs:
        r = measure(run)
        print(f"| {run.name} | {r['val']:.4f} | {r['test']:.4f} | {r['val_precise']:.4f} | {r['test_precise']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
