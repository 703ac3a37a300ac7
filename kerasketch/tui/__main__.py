"""``kerasketch-tui [--data PATH] [--runs-dir DIR] [--pad RUN_DIR]``: the terminal dashboard."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import kerasketch  # noqa: F401  children inherit the torch backend choice


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kerasketch-tui",
        description="A terminal dashboard for the nine kerasketch experiments: launch runs, watch them, "
        "stop them, compare them, read their confusion matrices and draw for their models. Keys: ? for help, q to quit.",
    )
    parser.add_argument(
        "--data", help="the launch form's default data: a file or folder of Quick, Draw! files, or 'synthetic'"
    )
    parser.add_argument(
        "--runs-dir",
        type=Path,
        help="the runs folder to show and to launch into (default runs/, or the folder holding --pad's run)",
    )
    parser.add_argument(
        "--pad",
        type=Path,
        metavar="RUN_DIR",
        help="open the sketch pad on this run's best model at once (escape goes on to the dashboard)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.data and args.data != "synthetic" and not Path(args.data).expanduser().exists():
        print(f"error: --data {args.data} does not exist", file=sys.stderr)
        return 2
    if args.pad is not None and not args.pad.expanduser().is_dir():
        print(
            f"error: --pad {args.pad} is not a run folder (give runs/NAME-TIME, a folder with best.keras)",
            file=sys.stderr,
        )
        return 2
    pad = args.pad.expanduser() if args.pad is not None else None
    runs_dir = args.runs_dir or (pad.parent if pad is not None else Path("runs"))
    if runs_dir.exists() and not runs_dir.is_dir():
        print(f"error: --runs-dir {runs_dir} is not a folder", file=sys.stderr)
        return 2
    from .app import KerasketchApp  # Textual only once the arguments are good

    KerasketchApp(runs_dir=runs_dir, data=args.data, pad=pad).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
