"""Data-parallel training on one machine: 1 process x T threads against N processes x T/N threads.

Each variant is the real command (``python -m kerasketch.recipes.RECIPE
--data synthetic ... --nproc N --threads T/N``) in a child process; the
images per second of its epochs after the first (the first warms up) come
from the run's events. Variants alternate (1, N, 1, N, ...) so that the
machine's noise hits them alike; the medians are compared. Efficiency is
N-process img/s over 1-process img/s: on the same cores, 1.0 means the
all-reduces cost nothing; on a machine with N times the cores (or GPUs) the
ideal would be N.

It also prints what one step all-reduces for each recipe (the gradients of
every trainable weight in float32, plus the row count), and what that costs
on paper with a ring all-reduce, 2 (N - 1) / N x bytes / bandwidth, on the
links of docs/scaling-out.md.

    python bench/data_parallel.py                                  # baseline and like_vgg_adamw, 2 processes
    python bench/data_parallel.py --recipes like_vgg_adamw --rounds 5

The last line holds name=value pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from kerasketch.inference.benchmark import cpu_model

ROOT = Path(__file__).resolve().parents[1]
#: Links an all-reduce crosses, with the bus bandwidth NCCL's all-reduce reaches on them (bytes/s).
LINKS = {
    "8 GPUs, NVLink 4 (one H100 node)": 360e9,
    "8 GPUs, PCIe 5 (one node)": 40e9,
    "2 nodes, 400 Gb/s InfiniBand": 45e9,
    "2 nodes, 100 Gb/s Ethernet": 11e9,
}


def run(recipe: str, nproc: int, threads: int, args: argparse.Namespace, workdir: Path) -> float:
    """Median img/s of one run's epochs after the first."""
    events = workdir / f"events-{recipe}-{nproc}-{os.getpid()}.jsonl"
    events.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", f"kerasketch.recipes.{recipe}",
        "--data", "synthetic", "--max-per-class", str(args.max_per_class), "--epochs", str(args.epochs),
        "--patience", "1000", "--runs-dir", str(workdir / "runs"), "--cache-dir", str(workdir / "cache"),
        "--events", str(events), "--fresh", "--quiet", "--threads", str(threads),
    ]  # fmt: skip
    if nproc > 1:
        command += ["--nproc", str(nproc)]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "torch"}
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    rates = [
        e["system"]["images_per_second"]
        for e in map(json.loads, events.read_text().splitlines())
        if e.get("event") == "epoch" and e.get("epoch", 0) > 1 and (e.get("system") or {}).get("images_per_second")
    ]
    return statistics.median(rates)


def all_reduce_bytes(recipe_name: str) -> int:
    import kerasketch  # noqa: F401
    from kerasketch.models import param_counts
    from kerasketch.recipes import registry

    recipe = registry.get(recipe_name)
    trainable, _ = param_counts(recipe.model, 200, recipe.image_size, **dict(recipe.model_options))
    return 4 * (trainable + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", default="baseline,like_vgg_adamw")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="threads in all (default: every core)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per variant, alternated")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (the first is not timed)")
    parser.add_argument("--max-per-class", type=int, default=400, help="synthetic drawings per class (16 classes)")
    args = parser.parse_args()

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; {args.threads} threads in all")
    print(
        f"synthetic 16 classes x {args.max_per_class}, epochs 2-{args.epochs} timed, {args.rounds} alternated rounds\n"
    )
    print(
        f"| recipe | 1 process x {args.threads} threads | {args.nproc} processes x {args.threads // args.nproc} | efficiency |"
    )
    print("| --- | ---: | ---: | ---: |")
    headline = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for recipe in args.recipes.split(","):
            one, many = [], []
            for _ in range(args.rounds):
                one.append(run(recipe, 1, args.threads, args, workdir))
                many.append(run(recipe, args.nproc, max(1, args.threads // args.nproc), args, workdir))
            a, b = statistics.median(one), statistics.median(many)
            print(
                f"| {recipe} | {a:,.0f} ({min(one):,.0f}-{max(one):,.0f}) | {b:,.0f} ({min(many):,.0f}-{max(many):,.0f}) "
                f"| {b / a:.2f} |",
                flush=True,
            )
            headline[f"{recipe}_efficiency"] = round(b / a, 3)

    print(
        "\nall-reduced per step (float32 gradients of the trainable weights, at 200 classes), ring all-reduce on paper:"
    )
    print("| recipe | bytes per step | " + " | ".join(LINKS) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in LINKS) + " |")
    for recipe in args.recipes.split(","):
        size = all_reduce_bytes(recipe)
        cells = []
        for name, bandwidth in LINKS.items():
            ranks = 8 if name.startswith("8") else 2
            cells.append(f"{2 * (ranks - 1) / ranks * size / bandwidth * 1e3:.3f} ms")
        print(f"| {recipe} | {size:,} | " + " | ".join(cells) + " |")
    print(" ".join(f"{k}={v}" for k, v in headline.items()))


if __name__ == "__main__":
    main()
