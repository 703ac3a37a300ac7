"""``kerasketch serve | benchmark``: a run's model behind HTTP, and its exports timed side by side."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    from ..serving.limits import MEANING, Limits

    sv = sub.add_parser(
        "serve",
        help="serve a run's model over HTTP (FastAPI): POST /v1/predict, a drawing page at /, /docs",
        description="Load a run's best model (or an exported .onnx, .xml (OpenVINO) or .pt2 file) once and answer "
        "HTTP requests: drawings as strokes (simplified, raw, sketch-rnn stroke-3) or images. Concurrent requests are "
        "batched into one model call. Not the same thing as `predict --serve` (JSON lines on stdin, for the dashboard). "
        "Every limit below refuses a request with a 4xx JSON error naming it. See docs/serving.md.",
    )
    sv.add_argument("run", type=Path, metavar="RUN", help="a run folder with best.keras, or an exported model file")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    sv.add_argument("--workers", type=int, default=1, help="server processes, each with its own model (default 1)")
    sv.add_argument("--max-batch", type=int, default=32, help="most drawings in one model call (default 32)")
    sv.add_argument(
        "--max-wait-ms",
        type=float,
        default=5.0,
        help="how long a request waits for others to share its model call (default 5)",
    )
    sv.add_argument("--top", type=int, default=5, help="classes per answer unless the request says (default 5)")
    sv.add_argument(
        "--threads",
        type=int,
        help="torch threads per model call in each worker (default: torch's, one per core); "
        "on a small machine, fewer than the cores leaves one for the requests",
    )
    defaults = Limits()
    for name, value in defaults.as_dict().items():
        flag = "--" + name.replace("_", "-")
        kind = float if isinstance(value, float) else int
        shown = f"{value:,g}" if kind is float else f"{value:,}"
        sv.add_argument(flag, type=kind, default=value, help=f"the limit of {MEANING[name]} (default {shown})")
    sv.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    sv.set_defaults(handler=cmd_serve)

    bm = sub.add_parser(
        "benchmark",
        help="time a run's model as Keras, ONNX, OpenVINO and .pt2: size, load, latency, throughput, agreement",
        description="Export the run's model to each format, then measure on this machine: file size, load time, "
        "latency at batch 1 (p50, p99), throughput at batch 256, and agreement with the Keras model on the run's "
        "test split. Prints a table and writes benchmark.csv and benchmark.json.",
    )
    bm.add_argument("run", type=Path, metavar="RUN", help="a run folder with best.keras")
    bm.add_argument(
        "--formats", default="keras,onnx,openvino,pt2", help="comma-separated (default keras,onnx,openvino,pt2)"
    )
    bm.add_argument("-o", "--out", type=Path, help="folder for the exports and results (default RUN/benchmark)")
    bm.add_argument("--drawings", type=int, default=2000, help="test-split drawings for agreement (default 2000)")
    bm.add_argument("--seconds", type=float, default=3.0, help="timing per measurement and format (default 3)")
    bm.add_argument(
        "--threads",
        type=int,
        help="torch threads for Keras and .pt2 (default: torch's, one per core); as serve --threads",
    )
    bm.add_argument("--json", action="store_true", help="print the results as one JSON object")
    bm.set_defaults(handler=cmd_benchmark)


def cmd_serve(args: argparse.Namespace) -> int:
    from ..serving.limits import Limits
    from ..serving.server import serve

    limits = Limits(**{name: getattr(args, name) for name in Limits().as_dict()})
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {args.host}: other machines can reach this service")
    if not args.run.exists():
        raise ConfigError(
            f"{args.run} does not exist", "give a run folder (kerasketch compare lists them) or an export"
        )
    return serve(
        args.run,
        host=args.host,
        port=args.port,
        workers=args.workers,
        limits=limits,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        top=args.top,
        threads=args.threads,
        log_level=args.log_level,
    )


def cmd_benchmark(args: argparse.Namespace) -> int:
    import sys

    from ..inference.benchmark import benchmark, table

    if args.drawings < 1 or not 0 < args.seconds <= 600:
        raise ConfigError("--drawings must be at least 1 and --seconds from 0 to 600")
    if args.threads is not None and not 1 <= args.threads <= 256:
        raise ConfigError(f"--threads must be from 1 to 256, got {args.threads}")
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    quiet = args.json

    def say(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    report = benchmark(
        args.run,
        formats,
        out_dir=args.out,
        drawings=args.drawings,
        seconds=args.seconds,
        threads=args.threads,
        progress=say,
    )
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    machine = report["machine"]
    print(
        f"{report['run']} on {machine['cpu']} ({machine['cores']} cores, torch threads {machine['torch_threads']}); "
        f"agreement on {report['drawings']}"
    )
    print(table(report))
    for fmt, why in report["skipped"].items():
        print(f"skipped {fmt}: {why}")
    print(f"written: {report['csv']}, {report['json']}")
    return 0
