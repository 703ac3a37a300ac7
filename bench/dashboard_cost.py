"""Dashboard cost: training throughput with kerasketch-tui attached against a plain headless run.

Both train the same like_vgg_adamw run on the synthetic set in a child
process; they alternate (A B A B ...). A is the headless command with its
events going to a file; B is launched by the real dashboard (run headless by
Textual's test driver at 120x40), showing the run's live screen (epoch
table, curves, progress) the whole time, which is the most it ever draws.
Throughput is the training images of an epoch over the epoch's seconds, from
each run's own events; the first epoch of each run is left out (warm-up).

    python bench/dashboard_cost.py [--rounds 3] [--epochs 4] [--max-per-class 600] [--frames-only]

First it times one frame of the confusion heat map of 200 classes at 120x40
(``heatmap_frame_ms=``; it used to be a test's wall-clock bound of 50 ms,
which a loaded machine broke). The last line is ``dashboard_cost=<1 - B/A>``:
the share of throughput the dashboard costs (negative when B happened to be
faster).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import kerasketch  # noqa: F401
from kerasketch.runs.eventlog import read
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.launch import LaunchRequest, child_env


def epoch_rates(run_dir: Path) -> list[float]:
    evs = read(run_dir / "events.jsonl")
    start = next(e for e in evs if e["event"] == "start")
    train_images = start["dataset"]["splits"]["train"]
    return [train_images / e["seconds"] for e in evs if e["event"] == "epoch"][1:]


def only_run(runs_dir: Path) -> Path:
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    return run


def _request(args: argparse.Namespace) -> LaunchRequest:
    """The same run for both sides of the comparison."""
    return LaunchRequest(
        "like_vgg_adamw",
        data="synthetic",
        max_per_class=args.max_per_class,
        epochs=args.epochs,
        patience=100,
        fresh=True,
    )


def headless(runs_dir: Path, args: argparse.Namespace) -> list[float]:
    request = _request(args)
    argv = [
        sys.executable,
        "-m",
        "kerasketch.recipes.like_vgg_adamw",
        "--runs-dir",
        str(runs_dir),
        "--quiet",
        "--events",
        str(runs_dir.parent / f"{runs_dir.name}.events"),
        *request.options(),
    ]
    subprocess.run(argv, check=True, env=child_env(), stdout=subprocess.DEVNULL)
    return epoch_rates(only_run(runs_dir))


async def with_dashboard(runs_dir: Path, args: argparse.Namespace) -> list[float]:
    request = _request(args)
    app = KerasketchApp(runs_dir=runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        state = app.launch(request)
        app.open_run(state.key)
        deadline = time.monotonic() + 1800
        while state.active and time.monotonic() < deadline:
            await pilot.pause(0.5)
        await pilot.pause(0.5)
    return epoch_rates(only_run(runs_dir))


async def heatmap_frame_seconds(frames: int = 50) -> float:
    """The median time to render every visible line of a 200-class heat map."""
    from textual.app import App

    from kerasketch.tui.widgets.heatmap import ConfusionHeatmap

    names = [f"class {i:03d}" for i in range(200)]
    matrix = [[(i * 7 + j * 3) % 5 if i != j else 40 for j in range(200)] for i in range(200)]

    class One(App):
        def compose(self):
            yield ConfusionHeatmap(names, matrix)

    times = []
    async with One().run_test(size=(120, 40)) as pilot:
        heatmap = pilot.app.query_one(ConfusionHeatmap)
        for _ in range(frames):
            started = time.perf_counter()
            for y in range(heatmap.size.height):
                heatmap.render_line(y)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--max-per-class", type=int, default=600)
    parser.add_argument("--frames-only", action="store_true", help="time the heat map's frame and stop")
    args = parser.parse_args()
    print(f"heatmap_frame_ms={asyncio.run(heatmap_frame_seconds()) * 1000:.2f}", flush=True)
    if args.frames_only:
        return
    rates: dict[str, list[float]] = {"headless": [], "dashboard": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            rates["headless"] += headless(Path(tmp) / f"a{r}", args)
            rates["dashboard"] += asyncio.run(with_dashboard(Path(tmp) / f"b{r}", args))
            print(
                f"round {r + 1}: headless {statistics.median(rates['headless']):,.0f} img/s, "
                f"with dashboard {statistics.median(rates['dashboard']):,.0f} img/s",
                flush=True,
            )
    a, b = statistics.median(rates["headless"]), statistics.median(rates["dashboard"])
    print(
        f"\nlike_vgg_adamw on the synthetic set, {args.max_per_class} per class, epochs 2-{args.epochs} of {args.rounds} runs each"
    )
    print("| run | training img/s (median of epochs) | min | max |\n| --- | ---: | ---: | ---: |")
    for label, values in rates.items():
        print(f"| {label} | {statistics.median(values):,.0f} | {min(values):,.0f} | {max(values):,.0f} |")
    print(f"\ndashboard_cost={1 - b / a:.4f}")


if __name__ == "__main__":
    main()
