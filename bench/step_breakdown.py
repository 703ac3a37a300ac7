"""Where a model's training step loses to the channels_last PyTorch loop: fit, train_step, model.

Four ways of training the same number of batches, alternated in one process
(medians of ``--rounds``), each against the plain channels_last PyTorch loop
of ``bench/train_throughput.py``:

  fit            what a recipe runs (``model.fit`` over ``Batches``, with the run's callbacks);
  train_step     the same compiled model's ``train_step`` called on ready torch batches
                 (no fit loop, data adapter or callbacks);
  torch loop     a plain PyTorch loop (``nn.CrossEntropyLoss``, torch's AdamW) driving the
                 Keras model's forward and backward (no Keras loss, metrics or optimiser);
  torch cl       the channels_last loop on the original torch module.

fit against train_step is Keras' fit machinery; train_step against torch loop
is Keras' loss, metric and optimiser against torch's; torch loop against
torch cl is the model's own forward and backward.

    OMP_NUM_THREADS=1 python bench/step_breakdown.py --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from train_throughput import IMAGE_SIZES, NUM_CLASSES, KerasPath, TorchLoop  # bench/ is on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="like_vgg", choices=sorted(IMAGE_SIZES))
    parser.add_argument("--steps", type=int, default=40, help="batches of 64 per timed round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    size = IMAGE_SIZES[args.model]
    rng = np.random.default_rng(0)
    x = (rng.random((64 * args.steps, size, size)) * 255).astype(np.uint8)
    y = rng.integers(0, NUM_CLASSES, len(x))
    tmp = Path(tempfile.mkdtemp())
    fit, bare, driven = (KerasPath(args.model, x, y, tmp / name) for name in ("fit", "bare", "driven"))
    loop = TorchLoop(args.model, x, y, True, "cpu")
    batches = [
        (torch.from_numpy(np.ascontiguousarray(bx)), torch.from_numpy(np.asarray(by))) for bx, by in bare.plan.train
    ]
    bare.epoch_rate(), driven.epoch_rate()  # builds each optimiser

    def train_step_rate() -> float:
        start = time.perf_counter()
        for batch in batches:
            bare.model.train_step(batch)
        return len(y) / (time.perf_counter() - start)

    optimizer = torch.optim.AdamW([v.value for v in driven.model.trainable_variables], lr=1e-3, weight_decay=0.01)
    criterion = nn.CrossEntropyLoss()

    def torch_loop_rate() -> float:
        start = time.perf_counter()
        for bx, by in batches:
            optimizer.zero_grad()
            criterion(driven.model(bx, training=True), by.long()).backward()
            optimizer.step()
        return len(y) / (time.perf_counter() - start)

    ways = {
        "fit": fit.epoch_rate,
        "train_step": train_step_rate,
        "torch loop": torch_loop_rate,
        "torch cl": loop.epoch_rate,
    }
    for way in ways.values():
        way()  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, way in ways.items():
            rates[name].append(way())
    med = {name: statistics.median(r) for name, r in rates.items()}
    print(
        f"{args.model}, {torch.get_num_threads()} threads, {args.steps} batches of 64 x {args.rounds} alternated rounds"
    )
    print("| way | img/s (median) | min | max | / torch cl |\n| --- | ---: | ---: | ---: | ---: |")
    for name, r in rates.items():
        print(f"| {name} | {med[name]:,.0f} | {min(r):,.0f} | {max(r):,.0f} | {med[name] / med['torch cl']:.3f} |")


if __name__ == "__main__":
    main()
