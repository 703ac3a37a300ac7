"""The compare screen's screenshots, from real run folders, into bench/out/ (the docs show the test snapshots).

Usage (any 2 to 10 runs will do)::

    python bench/compare_screenshots.py --runs-dir /tmp/compare-runs

Marks every run of the folder (at most ten, newest first), opens the compare
screen and saves it with the app's own ``save_screenshot`` at 80x24 and at
120x32 (the training curves toggled on; from 160 columns the table sits beside the curves).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.screens.compare import CompareScreen
from kerasketch.tui.widgets.runs_table import RunsTable

SHOTS = ((80, 24, (), "compare-80x24.svg"), (120, 32, ("t",), "compare-120x32.svg"))


async def shoot(runs_dir: Path, out: Path, size: tuple[int, int], keys: tuple[str, ...], name: str) -> Path:
    app = KerasketchApp(runs_dir=runs_dir, watch_interval=0, ui_interval=0.01)
    async with app.run_test(size=size) as pilot:
        await pilot.press("2")
        table = app.screen.query_one(RunsTable)
        for _ in range(min(table.row_count, 10)):
            await pilot.press("space")
        await pilot.press("v")
        while not isinstance(app.screen, CompareScreen):
            await pilot.pause(0.05)
        await pilot.press(*keys)
        while app.updates_pending:
            await pilot.pause(0.05)
        await pilot.pause()
        return Path(app.save_screenshot(name, path=str(out)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, default=Path("/tmp/compare-runs"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args()
    for width, height, keys, name in SHOTS:
        path = asyncio.run(shoot(args.runs_dir, args.out, (width, height), keys, name))
        print(f"{path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
