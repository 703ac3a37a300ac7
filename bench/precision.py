"""Training throughput under Keras' mixed_bfloat16 policy against float32, recipe by recipe.

Both variants run exactly what a recipe runs (``compile_model`` + ``plan_fit``
+ ``model.fit``, as ``bench/train_throughput.py``'s kerasketch path), one
epoch each, alternated in one process (A B A B ...) after a warm-up epoch
each; the medians and their ratio are printed. bfloat16 pays where the
hardware has it: GPUs, and CPUs with AVX-512 BF16 or AMX (the first line
says whether this one has them); elsewhere torch emulates it and it is
slower. Accuracy is a matter for real runs: ``--precision mixed_bfloat16``.

``--jit`` adds the same pair under ``--jit-compile`` (each compiled variant's first epoch, its compile,
is the warm-up). The first lines also say what ``--precision auto`` picks here.

    python bench/precision.py
    python bench/precision.py --recipes like_vgg_adamw --steps 40 --rounds 5 --jit
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch
from train_throughput import NUM_CLASSES, KerasPath  # the same kerasketch path (bench/ is on sys.path)

from kerasketch.recipes import registry
from kerasketch.training.execution import resolve_precision

PRECISIONS = ("float32", "mixed_bfloat16")


def bf16_hardware() -> str:
    """What this machine offers bfloat16: a GPU's name, or the CPU's bf16 instruction sets."""
    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name()}"
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return "CPU (flags unknown)"
    found = sorted({f for f in flags.split() if f in {"avx512_bf16", "amx_bf16", "amx_tile", "avx512f"}})
    return "CPU with " + ", ".join(found) if found else "CPU without AVX-512 BF16 or AMX (bfloat16 is emulated)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", default="like_vgg_adamw,sketch_resnet")
    parser.add_argument("--steps", type=int, default=20, help="training steps of batch 64 per timed epoch")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per variant, alternated")
    parser.add_argument("--jit", action="store_true", help="also both precisions under --jit-compile")
    args = parser.parse_args()
    print(f"{bf16_hardware()}; {torch.get_num_threads()} torch threads; torch {torch.__version__}")
    print("--precision auto picks {} here ({})".format(*resolve_precision("auto", backend="torch")))
    print(f"batch 64, {args.steps} steps per epoch, {args.rounds} alternated rounds after a warm-up each\n")
    print(
        "| recipe | path | float32 img/s | mixed_bfloat16 img/s | bf16 / float32 |\n| --- | --- | ---: | ---: | ---: |"
    )
    paths = (False, True) if args.jit else (False,)
    for name in args.recipes.split(","):
        recipe = registry.get(name)
        rng = np.random.default_rng(0)
        x = (rng.random((64 * args.steps, recipe.image_size, recipe.image_size)) * 255).astype(np.uint8)
        y = rng.integers(0, NUM_CLASSES, len(x))
        keys = [(jit, p) for jit in paths for p in PRECISIONS]
        with tempfile.TemporaryDirectory() as tmp:
            variants = {
                (jit, p): KerasPath(name, x, y, Path(tmp) / f"{p}-{jit}", jit_compile=jit, precision=p)
                for jit, p in keys
            }
            for v in variants.values():
                v.epoch_rate()  # warm-up (and, compiled, the compile)
            rates: dict[tuple[bool, str], list[float]] = {k: [] for k in keys}
            for _ in range(args.rounds):
                for k, v in variants.items():
                    rates[k].append(v.epoch_rate())
        for jit in paths:
            f32, bf16 = (statistics.median(rates[jit, p]) for p in PRECISIONS)
            path = "--jit-compile" if jit else "eager"
            print(f"| {name} | {path} | {f32:,.0f} | {bf16:,.0f} | {bf16 / f32:.2f} |", flush=True)


if __name__ == "__main__":
    main()
