"""``kerasketch runs ...``: what is done with run folders once they exist."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..tracking.kinds import TRACKERS
from . import runs_manage


def register(sub: argparse._SubParsersAction) -> None:
    runs = sub.add_parser(
        "runs", help="run folders: list, tag, note, archive or delete them, or send them to experiment trackers"
    )
    commands = runs.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)
    runs_manage.register(commands)
    register_export(commands)


def register_export(commands: argparse._SubParsersAction) -> None:
    ex = commands.add_parser(
        "export",
        help="send run folders to MLflow, TensorBoard or W&B (again: only what the tracker lacks)",
        description="Send each run folder (finished, interrupted or still running) to a tracker: the config as "
        "parameters, every epoch's metrics, the batch losses, the test scores, the system metrics, and the files "
        "(best.keras, eval.json, the HTML report). The tracker's run is found by the folder's name, so exporting "
        "again adds what is missing and duplicates nothing. See docs/trackers.md.",
    )
    ex.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders, e.g. runs/like_vgg_adamw-*")
    ex.add_argument("--to", required=True, choices=TRACKERS, help="the tracker")
    ex.add_argument(
        "--track-dir",
        type=Path,
        metavar="DIR",
        help="TensorBoard's event files (DIR/tensorboard/RUN) and W&B's local files "
        "(default: the runs' folder's tracking/, as --track uses)",
    )
    ex.add_argument(
        "--track-uri",
        metavar="URI",
        help="MLflow's tracking server or store (default: MLFLOW_TRACKING_URI, else MLflow's own default)",
    )
    ex.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from ..errors import KerasketchError
    from ..tracking.export import export_run
    from ..tracking.kinds import require
    from ..tracking.target import Target

    require(args.to)
    failed = 0
    for path in args.runs:
        # The default folder is the one `--track` would have used for this run: beside it, in tracking/.
        where = args.track_dir or Path(path).resolve().parent / "tracking"
        try:
            shown = export_run(path, args.to, Target(track_dir=where, uri=args.track_uri))
        except KerasketchError as err:
            failed += 1
            print(f"error: {err.message}", file=sys.stderr)
            if err.hint:
                print(f"hint: {err.hint}", file=sys.stderr)
            continue
        print(f"{path}: {shown}")
    if failed:
        print(f"{failed} of {len(args.runs)} runs not exported", file=sys.stderr)
        return 2
    return 0
