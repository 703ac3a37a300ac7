"""Data speed: the rasterizer, building a 200-class x 1% dataset cache, reopening caches, peak memory.

    python bench/data_throughput.py                  # everything; generates ~30 GB of files in bench/out/
    python bench/data_throughput.py --only raster    # just the rasterizer
    python bench/data_throughput.py --rows-per-class 20000   # smaller generated files

The rasterizer runs on the real simplified drawings in ../shared/quickdraw
when present (else on the synthetic set), on one core. The cache builds read
files of realistic size (the official files hold 100k-300k drawings per class,
~145k on average): real ones where ``--bitmaps`` / ``--ndjson`` point at them,
else generated ones that repeat the real sample's rows and lines (or
synthetic drawings) under 200 class names. Each build and reopen runs in a
fresh process, so its peak memory (max RSS) is its own; ``python + imports``
is what an empty process of the same kind holds. The last line holds the
headline figures as name=value pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
QUICKDRAW = Path(os.environ.get("KERASKETCH_QUICKDRAW", ROOT.parent / "shared" / "quickdraw"))


def peak_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: a child keeps
    its parent's ru_maxrss across exec, but gets a fresh address space."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- rasterizer


def sample_drawings():
    from kerasketch.data.strokes import from_xy_lists

    simplified = QUICKDRAW / "simplified"
    if simplified.is_dir():
        drawings = []
        for f in sorted(simplified.glob("*.ndjson")):
            drawings += [from_xy_lists(json.loads(line)["drawing"]) for line in f.read_text().splitlines() if line]
        return drawings, f"{len(drawings):,} real simplified drawings"
    from kerasketch.data.synthetic import SYNTHETIC_CLASSES, generate_drawings

    drawings = [d for c in SYNTHETIC_CLASSES for d in generate_drawings(c, 500, seed=0)]
    return drawings, f"{len(drawings):,} synthetic drawings (../shared/quickdraw absent)"


def bench_raster(repeats: int) -> dict[str, float]:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    from kerasketch.data.rasterize import rasterize

    drawings, what = sample_drawings()
    out = {}
    for size in (28, 64):
        rasterize(drawings[:500], size)
        best = 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            rasterize(drawings, size)
            best = max(best, len(drawings) / (time.perf_counter() - start))
        out[size] = best
    print(f"rasterizer, one core, {what}, best of {repeats}:")
    print("| size | drawings/s |\n| ---: | ---: |")
    for size, rate in out.items():
        print(f"| {size}x{size} | {rate:,.0f} |")
    return out


# ---------------------------------------------------------------- generated sources


def class_names(n: int) -> list[str]:
    from kerasketch.data.categories import official_classes

    return official_classes()[:n]


def make_bitmaps(folder: Path, classes: list[str], rows: int) -> None:
    """Official-layout .npy files that repeat the real sample's rows."""
    folder.mkdir(parents=True, exist_ok=True)
    if (QUICKDRAW / "bitmap").is_dir():
        pool = np.concatenate([np.load(f, mmap_mode="r")[:3000] for f in sorted((QUICKDRAW / "bitmap").glob("*.npy"))])
    else:
        from kerasketch.data.synthetic import generate

        pool = generate(2000, seed=0)[0].reshape(-1, 784)
    for i, name in enumerate(classes):
        path = folder / f"{name}.npy"
        if path.exists() and path.stat().st_size == 128 + rows * 784:
            continue
        mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(rows, 784))
        start = (i * 7919) % len(pool)
        for lo in range(0, rows, len(pool)):
            take = min(len(pool), rows - lo)
            mm[lo : lo + take] = np.roll(pool, -start, axis=0)[:take]
        mm.flush()
        del mm


def make_ndjson(folder: Path, classes: list[str], rows: int) -> None:
    """Simplified-layout .ndjson files that repeat the real sample's lines under each class's name."""
    folder.mkdir(parents=True, exist_ok=True)
    if (QUICKDRAW / "simplified").is_dir():
        lines = [
            json.loads(ln)
            for f in sorted((QUICKDRAW / "simplified").glob("*.ndjson"))
            for ln in f.read_text().splitlines()
            if ln
        ]
    else:
        from kerasketch.data.synthetic import SYNTHETIC_CLASSES, generate_drawings

        lines = [
            {"drawing": [[s[:, 0].astype(int).tolist(), s[:, 1].astype(int).tolist()] for s in d]}
            for c in SYNTHETIC_CLASSES
            for d in generate_drawings(c, 200, seed=0)
        ]
    for i, name in enumerate(classes):
        path = folder / f"{name}.ndjson"
        if path.exists():
            continue
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            for k in range(rows):
                obj = lines[(i * 7919 + k) % len(lines)]
                f.write(
                    json.dumps(
                        {
                            "word": name,
                            "countrycode": "US",
                            "recognized": True,
                            "key_id": str(10**15 + k),
                            "drawing": obj["drawing"],
                        }
                    )
                    + "\n"
                )
        os.replace(tmp, path)


# ---------------------------------------------------------------- phases, each in a fresh process


def phase_build(data: str, cache: str, fraction: float) -> None:
    from kerasketch.data import cache as cache_mod
    from kerasketch.data.assembly import DataConfig

    start = time.perf_counter()
    ds = cache_mod.load_or_build(DataConfig(data=data, fraction=fraction), Path(cache))
    seconds = time.perf_counter() - start
    selected = sum(a.nbytes for a in (ds.x_train, ds.x_val, ds.x_test))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "images": ds.summary()["total"],
                "selected_mb": selected / 2**20,
                "peak_mb": peak_mb(),
                "from_cache": ds.from_cache,
            }
        )
    )


def phase_reopen(path: str) -> None:
    from kerasketch.data import cache as cache_mod

    start = time.perf_counter()
    ds = cache_mod.read(Path(path))
    seconds = time.perf_counter() - start
    selected = sum(a.nbytes for a in (ds.x_train, ds.x_val, ds.x_test))
    print(
        json.dumps(
            {"seconds": seconds, "images": ds.summary()["total"], "selected_mb": selected / 2**20, "peak_mb": peak_mb()}
        )
    )


def phase_write_large(path: str, images: int) -> None:
    """A cached dataset of ``images`` 28x28 drawings, written through the cache module."""
    from kerasketch.data import cache as cache_mod
    from kerasketch.data.assembly import DataConfig, Dataset

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (images, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 200, images)
    n_train, n_val = int(images * 0.8), int(images * 0.1)
    ds = Dataset(
        [f"c{i}" for i in range(200)],
        x[:n_train],
        y[:n_train],
        x[n_train : n_train + n_val],
        y[n_train : n_train + n_val],
        x[n_train + n_val :],
        y[n_train + n_val :],
        source="bench",
        synthetic=True,
    )
    cache_mod.write(ds, Path(path), DataConfig())
    print(json.dumps({"written": images}))


def phase_imports(with_split: bool) -> None:
    if with_split:
        import sklearn.model_selection  # noqa: F401  building a dataset splits it; reopening does not

    from kerasketch.data import cache as _c  # noqa: F401

    print(json.dumps({"peak_mb": peak_mb()}))


def run_phase(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--phase", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"phase {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_peak_mb(argv: list[str], workdir: Path) -> float:
    """Peak resident memory of a whole recipe run, from the kernel's accounting of the child."""
    proc = subprocess.Popen(
        [sys.executable, "-m", *argv, "--runs-dir", str(workdir / "runs"), "--quiet", "--fresh"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "KERAS_BACKEND": "torch"},
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{argv} failed:\n{proc.stderr.read().decode()[-3000:]}")
    return usage.ru_maxrss / 1024


def drop_page_cache() -> bool:
    """Cold reads where the machine allows it (root on Linux)."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("raster", "cache"), help="run one part")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--classes", type=int, default=200)
    parser.add_argument("--rows-per-class", type=int, default=120_000, help="drawings per generated file")
    parser.add_argument("--fraction", type=float, default=0.01)
    parser.add_argument("--bitmaps", help="a folder of real official .npy files to use instead of generated ones")
    parser.add_argument("--ndjson", help="a folder of real simplified .ndjson files to use instead of generated ones")
    parser.add_argument("--large", type=int, default=300_000, help="images in the reopened large cache")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-run", action="store_true", help="skip measuring a training run's peak memory")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        kind, *rest = args.phase
        {
            "build": lambda: phase_build(rest[0], rest[1], float(rest[2])),
            "reopen": lambda: phase_reopen(rest[0]),
            "write_large": lambda: phase_write_large(rest[0], int(rest[1])),
            "imports": lambda: phase_imports(rest[0] == "split"),
        }[kind]()
        return

    figures: dict[str, str] = {}
    if args.only in (None, "raster"):
        rates = bench_raster(args.repeats)
        figures["raster28_per_s"] = f"{rates[28]:.0f}"
        figures["raster64_per_s"] = f"{rates[64]:.0f}"
    if args.only in (None, "cache"):
        work = args.workdir
        classes = class_names(args.classes)
        bitmaps = Path(args.bitmaps) if args.bitmaps else work / "bitmaps"
        ndjson = Path(args.ndjson) if args.ndjson else work / "ndjson"
        print(
            f"\npreparing sources in {work} ({args.classes} classes x {args.rows_per_class:,} drawings, generated where not given) ...",
            flush=True,
        )
        if not args.bitmaps:
            make_bitmaps(bitmaps, classes, args.rows_per_class)
        if not args.ndjson:
            make_ndjson(ndjson, classes, args.rows_per_class)
        base = run_phase("imports", "split")["peak_mb"]
        reopen_base = run_phase("imports", "plain")["peak_mb"]
        rows = []
        for label, source in (("numpy bitmaps", bitmaps), ("simplified ndjson", ndjson)):
            cache = work / f"cache-{source.name}"
            for old in cache.glob("*.h5"):
                old.unlink()
            cold = drop_page_cache()
            built = run_phase("build", str(source), str(cache), str(args.fraction))
            again = run_phase("build", str(source), str(cache), str(args.fraction))
            size_gb = sum(p.stat().st_size for p in source.iterdir()) / 1e9
            rows.append((label, f"{size_gb:.1f} GB", built, again, cold))
            key = "bitmap" if "bitmap" in label else "ndjson"
            figures[f"build_{key}_s"] = f"{built['seconds']:.1f}"
            figures[f"reopen_{key}_s"] = f"{again['seconds']:.2f}"
        if not args.no_run:
            # A run's peak: the baseline recipe for one epoch on the cached 200-class set,
            # against the same run on a handful of synthetic drawings (imports + model).
            cache = work / f"cache-{bitmaps.name}"
            small = run_peak_mb(
                ["kerasketch.recipes.baseline", "--data", "synthetic", "--max-per-class", "20", "--epochs", "1"], work
            )
            big = run_peak_mb(
                [
                    "kerasketch.recipes.baseline",
                    "--data",
                    str(bitmaps),
                    "--fraction",
                    str(args.fraction),
                    "--epochs",
                    "1",
                    "--cache-dir",
                    str(cache),
                ],
                work,
            )
            selected = rows[0][2]["selected_mb"]
            figures["run_peak_over_data"] = f"{(big - small) / selected:.2f}"
        large = work / "large-300k.h5"
        run_phase("write_large", str(large), str(args.large))
        drop_page_cache()
        reopen = run_phase("reopen", str(large))
        reopen_warm = run_phase("reopen", str(large))
        large.unlink()
        figures["reopen_300k_s"] = f"{reopen['seconds']:.2f}"
        figures["reopen_300k_peak_over_data"] = f"{(reopen['peak_mb'] - reopen_base) / reopen['selected_mb']:.2f}"

        print(
            f"\n{args.classes} classes x {args.fraction:g} of {args.rows_per_class:,} drawings each; python + imports: {base:.0f} MB"
        )
        print(
            "| source | files | build (s) | images | selected data (MB) | build peak RSS (MB) | reopen (s) | reopen peak RSS (MB) |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, size, built, again, cold in rows:
            print(
                f"| {label}{' (cold page cache)' if cold else ''} | {size} | {built['seconds']:.1f} | {built['images']:,} | "
                f"{built['selected_mb']:.0f} | {built['peak_mb']:.0f} | {again['seconds']:.2f} | {again['peak_mb']:.0f} |"
            )
        if not args.no_run:
            print(
                f"\na training run (baseline, 1 epoch) on the cached {rows[0][2]['images']:,}-image set peaked at {big:,.0f} MB; "
                f"the same run on 320 synthetic drawings (imports, model, Keras and torch) at {small:,.0f} MB: "
                f"{(big - small) / selected:.2f} x the {selected:.0f} MB of selected data"
            )
        print(
            f"\nreopening a cached {args.large:,}-image 28x28 dataset ({reopen['selected_mb']:.0f} MB): "
            f"{reopen['seconds']:.2f} s cold, {reopen_warm['seconds']:.2f} s warm; peak RSS {reopen['peak_mb']:.0f} MB "
            f"= imports ({reopen_base:.0f} MB) + {(reopen['peak_mb'] - reopen_base) / reopen['selected_mb']:.2f} x the data"
        )
    print("\n" + " ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
