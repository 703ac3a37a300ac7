"""One optimiser update on a recipe's model: kerasketch's (what a run uses), Keras' own and torch's AdamW kernels.

Keras' torch AdamW runs its update as ``torch._foreach_*`` calls, five of
which make a new list of temporaries; a run uses the same update with two of
them written into lists it already has (``kerasketch/inplace_adam.py``, equal
bit for bit). torch's CPU default updates tensor by tensor and its fused
kernel in one pass. The torch variants are timings only: torch adds epsilon
after dividing by sqrt(1 - beta_2^t), Keras before, so they do not compute
Keras' update. Calls are alternated (A B C D ...) and the medians compared.

    python bench/optimizer_step.py
    python bench/optimizer_step.py --recipe ai_inno_cnn --rounds 50
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import kerasketch  # noqa: F401  selects the torch backend before Keras is imported
from kerasketch.recipes import registry
from kerasketch.training.fit import compile_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default="like_vgg_adamw")
    parser.add_argument("--classes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5, help="untimed alternated rounds first")
    args = parser.parse_args()
    recipe = registry.get(args.recipe)
    model = compile_model(recipe, args.classes, seed=0)
    optimizer, variables = model.optimizer, model.trainable_variables
    grads = [torch.randn(tuple(v.shape)) * 1e-3 for v in variables]
    params = [torch.nn.Parameter(torch.randn(tuple(v.shape))) for v in variables]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    # What a run uses (kerasketch.inplace_adam's update on torch) beside Keras' own update.
    keras_model = compile_model(recipe, args.classes, seed=0)
    plain = keras_model.optimizer
    del plain._parallel_update_step  # the instance's in-place update gone, Keras' class method is back
    steps = {
        f"keras {type(optimizer).__name__}.apply, kerasketch's in-place update": lambda: optimizer.apply(
            grads, variables
        ),
        f"keras {type(plain).__name__}.apply, Keras' own update": lambda: plain.apply(
            grads, keras_model.trainable_variables
        ),
    }
    for label, kw in (
        ("CPU default, tensor by tensor", {}),
        ("foreach", {"foreach": True}),
        ("fused", {"fused": True}),
    ):
        steps[f"torch AdamW, {label}"] = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01, **kw).step
    # Warm-up, alternated too: the first calls of each run several times slower (the optimiser's
    # variables, and glibc's mmap threshold still rising for the large temporaries).
    for _ in range(args.warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(args.rounds):
        for label, step in steps.items():
            start = time.perf_counter()
            step()
            times[label].append(time.perf_counter() - start)
    size = sum(int(np.prod(v.shape)) for v in variables)
    print(f"{args.recipe}: {len(variables)} variables, {size:,} parameters; {args.rounds} alternated rounds\n")
    print("| update | median (ms) | min (ms) |\n| --- | ---: | ---: |")
    for label, t in times.items():
        print(f"| {label} | {statistics.median(t) * 1e3:.1f} | {min(t) * 1e3:.1f} |")


if __name__ == "__main__":
    main()
