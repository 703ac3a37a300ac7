"""``kerasketch benchmark``: a run's model in each runtime, timed on this machine and compared with Keras.

For each format (the run's ``best.keras`` and the exports written for the
benchmark): the size of its files, the time to load it, the latency of one
drawing (p50 and p99 over repeated calls, after a warm-up), the throughput at
batch 256, and its agreement with the Keras model on the run's test split (top-1
agreement, largest probability difference, and its own accuracy where the
drawings' classes are known). Each figure times ``Runtime.probabilities``, what
``kerasketch serve`` calls: input conversion, the model, the softmax.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, KerasketchError
from .agreement import agreement, held_out_drawings
from .export import SUFFIX, export_run
from .model import load_trained
from .runtimes import Runtime, keras_runtime, open_runtime

FORMATS = ("keras", "onnx", "openvino", "pt2")
COLUMNS = (
    "format",
    "size_mb",
    "load_s",
    "latency_p50_ms",
    "latency_p99_ms",
    "throughput_per_s",
    "top1_agreement",
    "max_probability_difference",
    "accuracy",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _files(runtime: Runtime) -> list[Path]:
    return [runtime.path] + ([runtime.path.with_suffix(".bin")] if runtime.format == "openvino" else [])


def _timed(call: Callable[[], Any], *, seconds: float, least: int, most: int) -> list[float]:
    """Wall times of ``call`` repeated for about ``seconds`` (at least ``least``, at most ``most`` times)."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < most and (len(times) < least or time.perf_counter() - start < seconds):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times


def benchmark(
    run: str | Path,
    formats: Sequence[str] = FORMATS,
    *,
    out_dir: str | Path | None = None,
    drawings: int = 2000,
    seconds: float = 3.0,
    threads: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Measure each format; write ``benchmark.csv`` and ``benchmark.json`` into ``out_dir`` and return the table.

    ``threads`` sets torch's threads (Keras and .pt2); onnxruntime and OpenVINO choose their own.
    """
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError(f"--formats: unknown format {unknown[0]!r}", f"choose from {', '.join(FORMATS)}")
    trained = load_trained(run)
    out = Path(out_dir) if out_dir is not None else trained.run_dir / "benchmark"
    out.mkdir(parents=True, exist_ok=True)
    images, labels, what = held_out_drawings(trained, drawings)
    progress(f"agreement on {what}")
    reference = trained.probabilities(images)
    one = images[:1]
    batch = np.resize(images, (256, *images.shape[1:]))
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for fmt in formats:
        progress(f"{fmt}: exporting and loading")
        try:
            if fmt == "keras":
                t0 = time.perf_counter()
                runtime = keras_runtime(trained.run_dir)
            else:
                path = out / f"model-{fmt}{SUFFIX[fmt]}"
                export_run(trained.run_dir, fmt, path)
                t0 = time.perf_counter()
                runtime = open_runtime(path)
            load_s = time.perf_counter() - t0
        except KerasketchError as err:  # a missing optional package: the others are still measured
            skipped[fmt] = err.message
            progress(f"{fmt}: skipped ({err.message})")
            continue
        progress(f"{fmt}: timing")
        _timed(partial(runtime.probabilities, one), seconds=0.0, least=5, most=5)  # warm-up
        single = np.array(_timed(partial(runtime.probabilities, one), seconds=seconds, least=20, most=2000))
        runtime.probabilities(batch)
        big = _timed(partial(runtime.probabilities, batch), seconds=seconds, least=3, most=200)
        probs = np.concatenate([runtime.probabilities(images[i : i + 256]) for i in range(0, len(images), 256)])
        match = agreement(reference, probs)
        known = labels is not None and (labels >= 0).all() and len(labels)
        rows.append(
            {
                "format": fmt,
                "size_mb": round(sum(f.stat().st_size for f in _files(runtime)) / 1e6, 3),
                "load_s": round(load_s, 3),
                "latency_p50_ms": round(float(np.percentile(single, 50)) * 1e3, 3),
                "latency_p99_ms": round(float(np.percentile(single, 99)) * 1e3, 3),
                "throughput_per_s": round(256 / float(np.median(big)), 1),
                "top1_agreement": match["top1_agreement"],
                "max_probability_difference": match["max_probability_difference"],
                "accuracy": float((probs.argmax(axis=1) == labels).mean()) if known else None,
            }
        )
    report = {
        "run": trained.run_dir.name,
        "drawings": what,
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "torch_threads": _torch_threads(),
        },
        "rows": rows,
        "skipped": skipped,
        "csv": str(out / "benchmark.csv"),
        "json": str(out / "benchmark.json"),
    }
    with open(out / "benchmark.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    (out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def table(report: dict[str, Any]) -> str:
    """The rows as an aligned plain-text table."""
    heads = (
        "format",
        "size MB",
        "load s",
        "p50 ms (b=1)",
        "p99 ms (b=1)",
        "per s (b=256)",
        "top-1 agree",
        "max |dp|",
        "accuracy",
    )
    cells = [
        [
            r["format"],
            f"{r['size_mb']:.2f}",
            f"{r['load_s']:.2f}",
            f"{r['latency_p50_ms']:.2f}",
            f"{r['latency_p99_ms']:.2f}",
            f"{r['throughput_per_s']:,.0f}",
            f"{r['top1_agreement']:.4f}",
            f"{r['max_probability_difference']:.1e}",
            "-" if r["accuracy"] is None else f"{r['accuracy']:.4f}",
        ]
        for r in report["rows"]
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(heads)]
    lines = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(heads, widths)))]
    lines += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in cells]
    return "\n".join(lines)
