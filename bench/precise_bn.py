"""BatchNorm statistics recomputed after training ("precise BN"): what a run's best model scores with the
moving statistics it saved against the statistics ``--precise-bn`` would have given it.

Training computes BatchNorm's moving statistics on augmented batches (sketch_resnet's RandomAffine) and, with
``--ema``, for the raw weights while the model saved holds their average (Keras' ``use_ema`` averages the
trainable variables only). For each run folder this loads ``best.keras``, scores the validation and test
splits, recomputes the statistics exactly as a run with ``--precise-bn`` does after training
(``kerasketch.training.precise_bn.recompute``, with the run's batch size and seed), and scores them again:
the option measured on runs trained without it. The run's dataset cache must be on this machine.

Usage: python bench/precise_bn.py RUN [RUN ...] [--results bench/results/precise_bn.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from kerasketch.inference.benchmark import cpu_model
from kerasketch.training.evaluate import predicted_scores
from kerasketch.training.precise_bn import recompute


def accuracy(model, x: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    """As the evaluation scores a run (a prediction beyond the classes, as TS_CNN's head has, is wrong)."""
    return float(predicted_scores(model, x, y.astype(np.int64), n_classes)["accuracy"])


def measure(run: Path) -> dict[str, float]:
    import h5py
    import keras

    config = json.loads((run / "config.json").read_text())
    cache = Path(config["dataset"]["cache"])
    if not cache.is_file():
        raise SystemExit(
            f"error: {run}'s dataset cache {cache} is not on this machine: run the study's rows here first"
        )
    model = keras.saving.load_model(run / "best.keras", compile=False)
    n = config["dataset"]["num_classes"]
    with h5py.File(cache, "r") as f:
        x_train, x_val, y_val, x_test, y_test = (f[k][:] for k in ("x_train", "x_val", "y_val", "x_test", "y_test"))
    out = {"val": accuracy(model, x_val, y_val, n), "test": accuracy(model, x_test, y_test, n)}
    recompute(model, x_train, config["recipe"]["batch_size"], seed=int(config["data"]["seed"]))
    return out | {"val_precise": accuracy(model, x_val, y_val, n), "test_precise": accuracy(model, x_test, y_test, n)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+")
    p.add_argument(
        "--results",
        type=Path,
        help="also append each run's figures as a JSON line to this file (bench/results/precise_bn.jsonl keeps "
        "the study's: run folders do not outlive their machine)",
    )
    args = p.parse_args(argv)
    print("| run | val acc | test acc | val acc, statistics recomputed | test acc, statistics recomputed |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for run in args.runs:
        r = measure(run)
        print(f"| {run.name} | {r['val']:.4f} | {r['test']:.4f} | {r['val_precise']:.4f} | {r['test_precise']:.4f} |")
        if args.results:
            args.results.parent.mkdir(parents=True, exist_ok=True)
            with args.results.open("a") as f:
                f.write(
                    json.dumps({"run": run.name, "cpu": cpu_model()} | {k: round(v, 6) for k, v in r.items()}) + "\n"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
