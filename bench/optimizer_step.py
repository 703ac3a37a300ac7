"""One optimiser update on a recipe's model: kerasketch's (what a run uses), Keras' own and torch's AdamW.

kerasketch's Adam and AdamW are Keras' optimisers with PyTorch's update rule,
run on torch as PyTorch's fused kernel (``kerasketch/pytorch_adam.py``).
Keras' own torch update makes five ``torch._foreach_*`` passes over the
weights and three lists of temporaries; torch's CPU default updates tensor by
tensor (what the original's loop ran), foreach and fused in fewer passes.
Calls are alternated (A B C D ...) and the medians compared.

    python bench/optimizer_step.py
    python bench/optimizer_step.py --recipe ai_inno_cnn --rounds 50
"""

from __future__ import annotations

import argparse
import statistics
import time

import kerasketch  # noqa: F401  selects the torch backend before Keras is imported

# isort: split
import keras
import numpy as np
import torch

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
    # What a run uses (PyTorch's rule, fused) beside Keras' own class with the same settings.
    keras_model = compile_model(recipe, args.classes, seed=0)
    plain = keras.optimizers.get({"class_name": type(optimizer).__name__, "config": optimizer.get_config()})
    steps = {
        f"kerasketch {type(optimizer).__name__}.apply (PyTorch's rule, fused)": lambda: optimizer.apply(
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
