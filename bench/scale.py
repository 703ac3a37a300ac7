"""Data larger than memory: build caches of 1M-16M drawings and train on them streaming.

For each size, generates realistic numpy bitmap files over the 345 official
classes from the real sample's rows (``--sample``, 37 classes: each class of
the output takes one sample class's rows, each shifted by up to 2 pixels at
random, so no two output rows need be equal), builds the dataset cache with
``kerasketch data prepare`` in a child process, and trains a fixed number of
steps on it in another (the recipe's model, loss and optimiser, the
``Batches`` input). It reports the build's time, the cache's size, the peak
RSS of both children from the kernel (``VmHWM`` in ``/proc/<pid>/status``;
beside it the peak of the build's process tree, its workers' proportional set
sizes summed) and the training throughput: streamed at every size and loaded
in memory at the smallest, each in its own child (whose peak RSS is the
figure), and then both alternated in one child (the streamed split against
its first million rows loaded; five rounds each of a fifth of ``--steps``),
whose median ratio is the fair comparison on a noisy machine. The timed
fits are shorter than an epoch, so each keeps its order: drawing a new one
for 12.8 million training drawings takes about 1.4 s once an epoch (200,000
steps), which rounds of 60 steps would otherwise pay every round (it made
16M look 20% slower streamed than in memory); the bench reports it apart.

    python bench/scale.py --sizes 1M,4M,16M --steps 300     # the issue's figures (about 30 GB of disk)
    nice -n 10 python bench/scale.py --sizes 200k --steps 30 # a smoke run

Everything is written under ``--out`` (default ``bench/out/scale``, git-ignored);
the free disk is checked first and a size that does not fit is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path(os.environ.get("KERASKETCH_QUICKDRAW", ROOT.parent / "shared" / "quickdraw")) / "bitmap"

_TRAIN = """
import json, sys, time
from pathlib import Path
import kerasketch  # before Keras: it selects the torch backend, where Keras would read ~/.keras/keras.json
import keras, numpy as np
from kerasketch.data import cache
from kerasketch.recipes.registry import get
from kerasketch.training.fit import compile_model
from kerasketch.training.inputs import Batches
path, stream, steps, recipe_name, shuffle = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
recipe = get(recipe_name)
t = time.perf_counter()
ds = cache.open_cache(Path(path), "always" if stream == "alternate" else stream)
opened = time.perf_counter() - t
model = compile_model(recipe, ds.num_classes, 0)
batches = Batches(ds.x_train, ds.y_train, recipe.batch_size, shuffle=True, seed=0, order=shuffle)


def rate(data, n):
    t = time.perf_counter()
    model.fit(data, epochs=1, steps_per_epoch=n, verbose=0, shuffle=False)
    return n * recipe.batch_size / (time.perf_counter() - t)


# Times a new epoch's order once; the timed fits below are shorter than an epoch, so they keep theirs.
def keep_order(data):
    t = time.perf_counter()
    data.on_epoch_end()
    data.on_epoch_end = lambda: None
    return time.perf_counter() - t


warm = min(20, steps // 4)
if stream != "alternate":
    rate(batches, warm)
    new_order = keep_order(batches)
    img_s = rate(batches, steps)
    print(
        json.dumps(
            {"img_s": img_s, "open_s": opened, "streaming": ds.streaming, "new_order_s": new_order, "train_rows": len(ds.y_train)}
        )
    )
    sys.exit()
# Streamed (the whole split, from the file) and in memory (its first rows, loaded) alternated in
# one process, so that the machine's noise falls on both alike.
rows = min(len(ds.y_train), 1_000_000)
loaded = Batches(ds.x_train[:rows], ds.y_train[:rows], recipe.batch_size, shuffle=True, seed=0, order=shuffle)
rate(batches, warm), rate(loaded, warm)
keep_order(batches), keep_order(loaded)
rounds, per_round = 5, max(1, steps // 5)
streamed, memory = [], []
for _ in range(rounds):
    streamed.append(rate(batches, per_round))
    memory.append(rate(loaded, per_round))
ratios = sorted(s / m for s, m in zip(streamed, memory))
print(json.dumps({"stream_img_s": sorted(streamed)[rounds // 2], "memory_img_s": sorted(memory)[rounds // 2],
                  "ratio": ratios[rounds // 2], "ratio_min": ratios[0], "ratio_max": ratios[-1], "memory_rows": rows}))
"""


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid: int) -> int:
    """The process's proportional set size: pages shared by n processes count 1/n in each."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measured(argv: list[str], env: dict[str, str]) -> dict:
    """Run ``argv``; its wall time, stdout, VmHWM (its own, sampled until it exits) and the peak of
    its process tree's summed PSS (workers included; pages a forked worker shares with its parent
    count once, as VmRSS sums would not)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    hwm = tree_peak = 0
    while proc.poll() is None:
        hwm = max(hwm, status_kb(proc.pid, "VmHWM"))
        tree_peak = max(tree_peak, sum(pss_kb(p) for p in tree(proc.pid)))
        time.sleep(0.2)
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{err[-3000:]}")
    return {
        "seconds": time.perf_counter() - start,
        "stdout": out,
        "vmhwm_mb": hwm / 1024,
        "tree_peak_mb": tree_peak / 1024,
    }


def generate(folder: Path, drawings: int, classes: list[str], sample: Path, seed: int = 0) -> None:
    """``drawings`` rows over ``classes``, written class by class (bounded memory), from the sample's rows."""
    from kerasketch.data.sources import BitmapSource

    real = sorted(sample.glob("*.npy"))
    if not real:
        sys.exit(f"no .npy bitmaps in {sample}: give the real sample with --sample (or set KERASKETCH_QUICKDRAW)")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per_class = np.full(len(classes), drawings // len(classes))
    per_class[: drawings % len(classes)] += 1
    for k, (name, count) in enumerate(zip(classes, per_class.tolist())):
        source = BitmapSource(real[k % len(real)])
        rows = source.rows(np.arange(next(iter(source.counts.values())))).reshape(-1, 28, 28)
        out = np.lib.format.open_memmap(folder / f"{name}.npy", "w+", np.uint8, (count, 784))
        for lo in range(0, count, 50_000):
            n = min(50_000, count - lo)
            pick = rows[rng.integers(0, len(rows), n)]
            dx, dy = rng.integers(-2, 3, 2)
            out[lo : lo + n] = np.roll(pick, (int(dy), int(dx)), axis=(1, 2)).reshape(n, 784)
        out.flush()
        del out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,4M,16M", help="drawings per dataset, comma-separated (k, M)")
    parser.add_argument("--steps", type=int, default=300, help="training steps measured (after a warm-up)")
    parser.add_argument("--recipe", default="like_vgg_adamw")
    parser.add_argument("--shuffle", choices=("exact", "chunks"), default="exact")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="the real bitmaps to resample")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scale")
    parser.add_argument("--keep", action="store_true", help="keep each size's files and cache (default: removed after)")
    args = parser.parse_args()

    from kerasketch.data.categories import official_classes

    sizes = [parse_size(s) for s in args.sizes.split(",")]
    classes = official_classes()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows = []
    for i, n in enumerate(sizes):
        folder, cache_dir = args.out / f"files-{n}", args.out / f"cache-{n}"
        need = 2 * n * 784 + (1 << 30)  # the .npy files, the cache, a margin
        args.out.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(args.out).free
        if need > free:
            sys.exit(
                f"{n:,} drawings need about {need / 1e9:.1f} GB under {args.out} and {free / 1e9:.1f} GB are free: "
                "free some space, give --out on a larger disk, or leave this size out of --sizes"
            )
        t = time.perf_counter()
        generate(folder, n, classes, args.sample)
        generated = time.perf_counter() - t
        build = measured(
            [
                sys.executable,
                "-m",
                "kerasketch",
                "data",
                "prepare",
                "--data",
                str(folder),
                "--cache-dir",
                str(cache_dir),
                "--json",
                "--quiet",
            ],
            env,
        )
        summary = json.loads(build["stdout"])
        cache_path = Path(summary["cache"])
        row = {
            "drawings": n,
            "generate_s": round(generated, 1),
            "build_s": round(build["seconds"], 1),
            "cache_gb": round(cache_path.stat().st_size / 1e9, 3),
            "build_vmhwm_mb": round(build["vmhwm_mb"]),
            "build_tree_peak_mb": round(build["tree_peak_mb"]),
        }
        modes = ["always", "never"] if i == 0 else ["always"]
        for mode in modes:
            train = measured(
                [sys.executable, "-c", _TRAIN, str(cache_path), mode, str(args.steps), args.recipe, args.shuffle], env
            )
            result = json.loads(train["stdout"].strip().splitlines()[-1])
            key = "stream" if mode == "always" else "memory"
            row[f"{key}_img_s"] = round(result["img_s"])
            row[f"{key}_vmhwm_mb"] = round(train["vmhwm_mb"])
            row[f"{key}_new_order_s"] = round(result["new_order_s"], 2)
            row["train_rows"] = result["train_rows"]
        alternated = measured(
            [sys.executable, "-c", _TRAIN, str(cache_path), "alternate", str(args.steps), args.recipe, args.shuffle],
            env,
        )
        result = json.loads(alternated["stdout"].strip().splitlines()[-1])
        row["alternated"] = {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}
        print(json.dumps(row), flush=True)
        rows.append(row)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(cache_dir, ignore_errors=True)

    print(
        "\n| drawings | build | cache | build peak (parent RSS / all processes' PSS) | training peak RSS "
        "| streamed img/s | streamed / in memory, alternated (min-max) |"
        "\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    for r in rows:
        print(
            f"| {r['drawings']:,} | {r['build_s']} s | {r['cache_gb']} GB | {r['build_vmhwm_mb']} / {r['build_tree_peak_mb']} MB "
            f"| {r['stream_vmhwm_mb']} MB | {r['stream_img_s']:,} "
            f"| {r['alternated']['ratio']:.3f} ({r['alternated']['ratio_min']:.3f}-{r['alternated']['ratio_max']:.3f}) |"
        )
    first = rows[0]
    print(
        f"\nin memory at {first['drawings']:,}: {first['memory_img_s']:,} img/s, peak RSS {first['memory_vmhwm_mb']} MB; "
        f"streamed / in memory = {first['stream_img_s'] / first['memory_img_s']:.3f}"
    )
    last = rows[-1]
    print(
        f"a new epoch's order of {last['train_rows']:,} training drawings: {last['stream_new_order_s']} s, "
        "once an epoch (left out of the timed steps)"
    )
    if len(rows) > 1:
        print(
            f"training peak RSS growth {rows[0]['drawings']:,} -> {rows[-1]['drawings']:,}: "
            f"{rows[-1]['stream_vmhwm_mb'] / rows[0]['stream_vmhwm_mb'] - 1:+.1%}"
        )


if __name__ == "__main__":
    main()
