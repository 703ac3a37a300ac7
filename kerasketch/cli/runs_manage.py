"""``kerasketch runs list | tag | note | archive | delete``: managing run folders, as TensorBoard,
MLflow and W&B users expect (the logic is :mod:`kerasketch.training.runs_admin`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import RunError


def register(commands: argparse._SubParsersAction) -> None:
    """Add the management sub-commands to the ``runs`` group."""
    ls = commands.add_parser("list", help="the runs of a runs folder, newest first, with filters")
    ls.add_argument("runs_dir", nargs="?", type=Path, default=Path("runs"), help="the runs folder (default runs/)")
    ls.add_argument("--recipe", help="only this recipe's runs")
    ls.add_argument("--data", metavar="KEY", help="only the runs on this data (its key, as compare shows it)")
    ls.add_argument(
        "--status", help="only runs with this status (finished, early_stopped, failed, cancelled, running, ...)"
    )
    ls.add_argument("--tag", help="only runs with this tag")
    ls.add_argument("--archived", action="store_true", help="list the archived runs instead")
    ls.add_argument("--json", action="store_true", help="print a JSON list")
    ls.set_defaults(handler=cmd_list)

    tg = commands.add_parser("tag", help="add tags to a run (with --remove: take them off)")
    tg.add_argument("run", type=Path, help="a run folder")
    tg.add_argument("tags", nargs="+", metavar="TAG", help="one word each")
    tg.add_argument("--remove", action="store_true", help="remove these tags instead")
    tg.set_defaults(handler=cmd_tag)

    nt = commands.add_parser("note", help="set a run's note ('' clears it)")
    nt.add_argument("run", type=Path, help="a run folder")
    nt.add_argument("text", help="the note, quoted")
    nt.set_defaults(handler=cmd_note)

    ar = commands.add_parser(
        "archive", help="move runs into the runs folder's .archive/, out of the dashboard and compare"
    )
    ar.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders (never one that still runs)")
    ar.add_argument("--undo", action="store_true", help="bring archived runs back (give their .archive/ paths)")
    ar.set_defaults(handler=cmd_archive)

    rm = commands.add_parser("delete", help="delete run folders for good, after a confirmation")
    rm.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders (never one that still runs)")
    rm.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    rm.set_defaults(handler=cmd_delete)


def cmd_list(args: argparse.Namespace) -> int:
    from ..training import runs_admin

    rows = runs_admin.list_runs(
        args.runs_dir, recipe=args.recipe, data=args.data, status=args.status, tag=args.tag, archived=args.archived
    )
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return 0
    if not rows:
        print(f"no runs in {args.runs_dir / runs_admin.ARCHIVE if args.archived else args.runs_dir} match")
        return 0
    print("| run | recipe | status | best val_acc | test acc | data | tags | note |")
    print("| --- | --- | --- | ---: | ---: | --- | --- | --- |")
    for r in rows:
        j = r.to_json()
        print(
            f"| {j['run']} | {j['recipe']} | {j['status']} | {_num(j['best_val_accuracy'])} | "
            f"{_num(j['test_accuracy'])} | {r.data} | {', '.join(j['tags'])} | {j['note']} |"
        )
    return 0


def _num(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def cmd_tag(args: argparse.Namespace) -> int:
    from ..training import runs_admin

    tags = runs_admin.tag(args.run, args.tags, remove=args.remove)
    print(f"{args.run}: tags {', '.join(tags) if tags else '(none)'}")
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    from ..training import runs_admin

    text = runs_admin.note(args.run, args.text)
    print(f"{args.run}: note {text!r}" if text else f"{args.run}: note cleared")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    from ..training import runs_admin

    return _each(args.runs, lambda p: f"{p} -> {runs_admin.archive(p, undo=args.undo)}")


def cmd_delete(args: argparse.Namespace) -> int:
    from ..runs import folders
    from ..training import runs_admin

    runs = [folders.require_run_dir(p) for p in args.runs]
    if not args.yes:
        if not sys.stdin.isatty():
            raise RunError(
                "kerasketch runs delete asks before deleting, and there is no terminal to ask on",
                "add --yes to delete without asking",
            )
        shown = ", ".join(p.name for p in runs)
        answer = input(f"delete {len(runs)} run folder{'s' if len(runs) != 1 else ''} for good ({shown})? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1

    def delete(path: Path) -> str:
        runs_admin.delete(path)
        return f"deleted {path}"

    return _each(runs, delete)


def _each(paths: list[Path], act) -> int:
    """``act`` on each path, one line each; an error names its run and the others go on."""
    from ..errors import KerasketchError

    failed = 0
    for path in paths:
        try:
            print(act(path))
        except KerasketchError as err:
            failed += 1
            print(f"error: {err.message}" + (f"\nhint: {err.hint}" if err.hint else ""), file=sys.stderr)
    return 2 if failed else 0
