"""What ``--jit-compile`` costs a first run and a second identical one, whose compiled graphs come from the cache.

Runs ``kerasketch run RECIPE --jit-compile`` twice as child processes (each
one a new command, as a user would), on the synthetic set under a fresh
temporary data root, so that the first finds an empty
``<data root>/torch-compile`` and the second the folder the first filled.
For each it reports the first epoch's seconds (mostly compiling; the epochs
are a few steps), the process's wall time, torch's own compile timers
(``torch._dynamo.utils.calculate_time_spent``) and the cache counters.

    python bench/compile_cache.py                       # the Baseline: about 2 minutes on 2 busy cores
    python bench/compile_cache.py --recipe like_vgg_adamw

The last line holds the figures as name=value pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Each child prints torch's counters and timers after the run: the parent never imports torch.
CHILD = """
import json, sys
from torch._dynamo.utils import calculate_time_spent, counters
from kerasketch.cli.run import main
from kerasketch.recipes import registry
code = main(registry.get(sys.argv[1]), sys.argv[2:])
print(json.dumps({"code": code, "inductor": dict(counters["inductor"]), "aot": dict(counters["aot_autograd"]),
                  "timers": calculate_time_spent()}))
"""


def run_once(recipe: str, data_root: Path, runs: Path, argv: list[str]) -> dict:
    env = {**os.environ, "KERASKETCH_DATA": str(data_root)}
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)  # the run's own folder, as by default
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, recipe, *argv, "--jit-compile", "--runs-dir", str(runs), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"the run failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    events = [json.loads(line) for line in next(runs.iterdir()).joinpath("events.jsonl").read_text().splitlines()]
    epochs = [e["seconds"] for e in events if e["event"] == "epoch"]
    return {**result, "wall": wall, "epochs": epochs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default="baseline")
    parser.add_argument("--classes", default="6")
    parser.add_argument("--max-per-class", default="100")
    parser.add_argument("--epochs", default="2")
    args = parser.parse_args()
    argv = ["--classes", args.classes, "--max-per-class", args.max_per_class, "--epochs", args.epochs]
    with tempfile.TemporaryDirectory() as tmp:
        data_root = Path(tmp) / "data"
        runs = [run_once(args.recipe, data_root, Path(tmp) / f"runs{i}", argv) for i in (1, 2)]
        kept = sum(f.stat().st_size for f in (data_root / "torch-compile").rglob("*") if f.is_file())
    print(f"{args.recipe}: {' '.join(argv)}; torch-compile folder after the first run: {kept / 2**20:.1f} MiB\n")
    print(
        "| run | first epoch (s) | next epochs (s) | process (s) | dynamo+inductor compile (s) | fx graph hit/miss | autograd hit/miss |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, r in zip(("first (cold cache)", "second (warm cache)"), runs, strict=True):
        later = ", ".join(f"{s:.1f}" for s in r["epochs"][1:]) or "-"
        ind, aot = r["inductor"], r["aot"]
        print(
            f"| {label} | {r['epochs'][0]:.1f} | {later} | {r['wall']:.1f} | {r['timers']['total_wall_time']:.1f} "
            f"| {ind.get('fxgraph_cache_hit', 0)}/{ind.get('fxgraph_cache_miss', 0)} "
            f"| {aot.get('autograd_cache_hit', 0)}/{aot.get('autograd_cache_miss', 0)} |"
        )
    cold, warm = runs
    print(
        f"\nfirst_epoch_cold={cold['epochs'][0]:.1f} first_epoch_warm={warm['epochs'][0]:.1f} "
        f"compile_cold={cold['timers']['total_wall_time']:.1f} compile_warm={warm['timers']['total_wall_time']:.1f}"
    )


if __name__ == "__main__":
    main()
