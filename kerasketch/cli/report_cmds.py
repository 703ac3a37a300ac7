"""``kerasketch report``: figures, epochs as CSV and an HTML page for each run, kept in a folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser(
        "report",
        help="PNG and SVG figures, epochs.csv and an HTML page for each run (and their validation curves together)",
        description="Write OUT/<run>/ for each run: training curves, the confusion matrix, per-class accuracy "
        "against class size (PNG and SVG), epochs.csv and index.html; and OUT/index.html, with the runs' "
        "validation curves overlaid when there are several.",
    )
    rep.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders, e.g. runs/like_vgg_adamw-*")
    rep.add_argument(
        "-o", "--output", type=Path, default=Path("reports"), metavar="DIR", help="the report folder (default reports/)"
    )
    rep.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from ..reports.build import write_report  # matplotlib loads only for this command

    report = write_report(args.runs, args.output)
    for run in report.runs:
        print(f"{run.name}: {args.output / run.name / 'index.html'}")
    print(f"report: {report.index} ({len(report.files)} files)")
    return 0
