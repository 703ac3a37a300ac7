"""The ``kerasketch`` command line: data, runs, evaluation and comparison.

Each sub-command lives in a small module that registers its parser; errors
reach the user as one message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

import kerasketch

from ..console import guarded
from . import data_cmds, ensemble_cmds, predict_cmds, report_cmds, run_cmds, runs_cmds, serve_cmds, sweep_cmds


class _Parser(argparse.ArgumentParser):
    """A parser that records itself as the one whose usage a mistake shows: the innermost
    sub-command's defaults win, so ``args.usage_parser`` is the command the user typed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_defaults(usage_parser=self)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kerasketch",
        description="Train and inspect Quick, Draw! sketch classifiers (Keras 3 on PyTorch).",
    )
    parser.add_argument("--version", action="version", version=f"kerasketch {kerasketch.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run_cmds.register(sub)
    data_cmds.register(sub)
    report_cmds.register(sub)
    predict_cmds.register(sub)
    ensemble_cmds.register(sub)
    serve_cmds.register(sub)
    sweep_cmds.register(sub)
    runs_cmds.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    def run() -> int:
        args, unknown = build_parser().parse_known_args(argv)
        if unknown:
            # argparse would report these with the top-level usage; the sub-command's says what it takes.
            args.usage_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        return args.handler(args)

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
