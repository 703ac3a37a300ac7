"""Load on ``kerasketch serve``: N concurrent clients posting one drawing each, for a fixed time.

Usage:
    python bench/serve_load.py RUN [--clients 1,8,64] [--seconds 30] [--serve-option=--max-wait-ms=5 ...]
    python bench/serve_load.py --url http://127.0.0.1:8000 --pid PID [--clients ...]

With RUN it starts ``kerasketch serve RUN`` on a free port of 127.0.0.1 (and
stops it at the end); with ``--url`` it drives a service already running,
whose process ``--pid`` names for the memory figures. Each client is an
asyncio task with its own connection (httpx) that sends a request as soon as
the previous one is answered: a batch-1 request, a synthetic drawing of the
run's classes in the simplified format. For each client count it prints
requests per second, the latency p50/p95/p99 in ms, the error count (any
status but 200, or a failed connection), and the service's resident memory
(RSS, from /proc) at the start, at the end and at its largest, sampled every
second. The load generator runs on the same machine and shares its cores with
the service: the figures are a lower bound of what the service does alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

from kerasketch.data.synthetic import SYNTHETIC_CLASSES, generate_drawings


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bodies(count: int = 64) -> list[bytes]:
    """Different drawings (batch 1 each), so that no layer can answer from a cache."""
    classes = sorted(SYNTHETIC_CLASSES)
    out = []
    for i in range(count):
        drawing = generate_drawings(classes[i % len(classes)], 1, seed=i)[0]
        strokes = [[s[:, 0].astype(int).tolist(), s[:, 1].astype(int).tolist()] for s in drawing]
        out.append(json.dumps({"drawing": strokes, "top": 3}).encode())
    return out


async def one_level(url: str, pid: int | None, clients: int, seconds: float) -> dict:
    payloads = bodies()
    latencies: list[float] = []
    errors = 0
    rss: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def client(index: int) -> None:
        nonlocal errors
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
            n = index
            while time.perf_counter() < stop_at:
                body = payloads[n % len(payloads)]
                n += clients
                t0 = time.perf_counter()
                try:
                    answer = await http.post("/v1/predict", content=body, headers={"content-type": "application/json"})
                    ok = answer.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors += 1

    async def sample() -> None:
        while time.perf_counter() < stop_at and pid is not None:
            rss.append(rss_mb(pid))
            await asyncio.sleep(1.0)

    started = time.perf_counter()
    await asyncio.gather(sample(), *(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    if pid is not None:
        rss.append(rss_mb(pid))
    ms = np.array(latencies) * 1e3
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "p95_ms": round(float(np.percentile(ms, 95)), 1) if len(ms) else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
        "errors": errors,
        "rss_mb_start": round(rss[0], 1) if rss else None,
        "rss_mb_end": round(rss[-1], 1) if rss else None,
        "rss_mb_max": round(max(rss), 1) if rss else None,
        "rss_mb_every_second": [round(r, 1) for r in rss],
    }


def start(run: str, options: list[str]) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "kerasketch", "serve", run, "--port", str(port), "--log-level", "warning", *options]
    process = subprocess.Popen(argv)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"kerasketch serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise SystemExit("kerasketch serve did not become ready in 300 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", help="a run folder (or export) to serve for the test")
    parser.add_argument("--url", help="drive this running service instead")
    parser.add_argument("--pid", type=int, help="the running service's process id (for RSS)")
    parser.add_argument("--clients", default="1,8,64", help="client counts, one level each (default 1,8,64)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each level (default 30)")
    parser.add_argument(
        "--serve-option",
        action="append",
        default=[],
        help="passed to kerasketch serve, e.g. --serve-option=--workers=2",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if (args.run is None) == (args.url is None):
        parser.error("give RUN or --url")
    process = None
    url, pid = args.url, args.pid
    if args.run:
        process, url = start(args.run, [o for opt in args.serve_option for o in opt.split("=", 1)])
        pid = process.pid
    try:
        levels = [int(c) for c in args.clients.split(",")]
        results = [asyncio.run(one_level(url, pid, n, args.seconds)) for n in levels]
        model = httpx.get(f"{url}/v1/model", timeout=10).json()
        stats = httpx.get(f"{url}/v1/stats", timeout=10).json()
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "?",
    )
    print(
        f"{model.get('run') or model['file']} ({model['format']}) on {cpu}, {os.cpu_count()} cores shared with the load generator"
    )
    print(
        f"{'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6} {'RSS MB start/end/max':>22}"
    )
    for r in results:
        memory = f"{r['rss_mb_start']}/{r['rss_mb_end']}/{r['rss_mb_max']}"
        print(
            f"{r['clients']:>7} {r['requests_per_s']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8} {r['errors']:>6} {memory:>22}"
        )
    print(f"model calls {stats['model_calls']:,} for {stats['requests']:,} requests (micro-batching)")
    if args.json:
        args.json.write_text(
            json.dumps({"model": model.get("run"), "cpu": cpu, "levels": results, "stats": stats}, indent=2)
        )


if __name__ == "__main__":
    main()
