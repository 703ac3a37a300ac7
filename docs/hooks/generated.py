"""The documentation site's generated files, made on every build (`make docs`, `mkdocs serve`).

An mkdocs hook (mkdocs.yml's ``hooks``) that adds two things to the site, neither
kept in ``docs/``, so that neither can drift from the code:

- ``screenshots/<test>.svg``: every dashboard snapshot of ``tests/tui/__snapshots__``,
  the SVGs pytest-textual-snapshot compares the real app with on every test run;
- ``reference/cli.md``: the ``--help`` of every command, from the argument parsers
  (``kerasketch`` and its sub-commands, ``kerasketch-tui``, each recipe module),
  which ``tests/docs/test_cli_reference.py`` compares with the installed commands;
- the dashboard's keys table, where a page holds ``<!-- generated: dashboard keys -->``,
  from the ``BINDINGS`` of the app, its screens and widgets.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "tests" / "tui" / "__snapshots__"
CLI_PAGE = "reference/cli.md"
# Columns the help text is wrapped to; argparse wraps at the terminal's width less two.
WIDTH = 78


@contextlib.contextmanager
def terminal_columns(width: int = WIDTH) -> Iterator[None]:
    """argparse reads the width from ``COLUMNS`` (through shutil): set it for the block."""
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width + 2)
    try:
        yield
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def help_text(parser: argparse.ArgumentParser, width: int = WIDTH) -> str:
    with terminal_columns(width):
        return parser.format_help()


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """The parser and every sub-command's parser, depth first, each with its words after the program."""
    yield path, parser
    for action in parser._actions:  # argparse has no public way to reach its sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def sections() -> Iterator[tuple[str, str]]:
    """(command line, its ``--help``) for every command the site documents."""
    from kerasketch.cli import build_parser
    from kerasketch.cli.run import build_parser as recipe_parser
    from kerasketch.recipes import registry
    from kerasketch.tui.__main__ import build_parser as tui_parser

    for path, parser in commands(build_parser()):
        yield " ".join(("kerasketch", *path)), help_text(parser)
    yield "kerasketch-tui", help_text(tui_parser())
    for name in registry.NAMES:
        yield f"python -m kerasketch.recipes.{name}", help_text(recipe_parser(registry.get(name)))


def cli_reference() -> str:
    lines = [
        "# Command-line reference",
        "",
        "Every command's `--help`, as the installed commands print it in a terminal "
        f"{WIDTH + 2} columns wide. This page is written from the argument parsers each "
        "time the site is built (`make docs`), and `tests/docs/test_cli_reference.py` "
        "compares it with what `kerasketch ... --help` prints, so it cannot go stale. "
        "The guides explain the options: [running experiments](../running.md), "
        "[data](../data.md), [sweeps](../sweeps.md), [using a model](../using-a-model.md), "
        "[reports and comparisons](../reports.md).",
        "",
    ]
    for command, text in sections():
        lines += [f"## `{command}`", "", "```text", text.rstrip("\n"), "```", ""]
    return "\n".join(lines)


# Where each class with key bindings lives on screen, in the order the keys table shows them.
KEY_OWNERS = (
    ("kerasketch.tui.app", "KerasketchApp", "everywhere"),
    ("kerasketch.tui.screens.dashboard", "DashboardScreen", "dashboard"),
    ("kerasketch.tui.widgets.runs_table", "RunsTable", "dashboard: the runs table"),
    ("kerasketch.tui.screens.launch_form", "LaunchScreen", "launch form"),
    ("kerasketch.tui.screens.run_detail", "RunScreen", "a run"),
    ("kerasketch.tui.screens.compare", "CompareScreen", "compare"),
    ("kerasketch.tui.screens.confusion", "ConfusionScreen", "confusion matrix"),
    ("kerasketch.tui.widgets.heatmap", "ConfusionHeatmap", "confusion matrix: the heat map"),
    ("kerasketch.tui.screens.sweep_trials", "SweepScreen", "a sweep's trials"),
    ("kerasketch.tui.screens.pad", "PadScreen", "sketch pad"),
    ("kerasketch.tui.screens.pad", "SaveDrawingScreen", "sketch pad: saving"),
    ("kerasketch.tui.screens.quit_confirm", "QuitScreen", "quitting with runs going"),
    ("kerasketch.tui.screens.manage", "AskLineScreen", "a run's tags or note, the tag filter"),
    ("kerasketch.tui.screens.manage", "DeleteScreen", "deleting a run"),
    ("kerasketch.tui.screens.help", "HelpScreen", "help"),
)
KEYS_MARKER = "<!-- generated: dashboard keys -->"
KEY_NAMES = {
    "question_mark": "?",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "pageup": "page up",
    "pagedown": "page down",
}


def key_label(keys: str) -> str:
    return " / ".join(f"`{KEY_NAMES.get(key, key)}`" for key in keys.split(","))


def keys_table() -> str:
    """The dashboard's key bindings, read from the classes' ``BINDINGS`` (what the footer and ``?`` show)."""
    import importlib

    rows = ["| where | key | what it does |", "| --- | --- | --- |"]
    for module, name, where in KEY_OWNERS:
        owner = getattr(importlib.import_module(module), name)
        for binding in owner.__dict__.get("BINDINGS", []):
            key, description = (
                (binding[0], binding[2]) if isinstance(binding, tuple) else (binding.key, binding.description)
            )
            rows.append(f"| {where} | {key_label(key)} | {description} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if KEYS_MARKER in markdown:
        markdown = markdown.replace(KEYS_MARKER, keys_table())
    return markdown


def snapshot_files() -> list[Path]:
    return sorted(SNAPSHOTS.glob("*/*.svg"))


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for svg in snapshot_files():
        files.append(File.generated(config, f"screenshots/{svg.name}", abs_src_path=str(svg)))
    files.append(File.generated(config, CLI_PAGE, content=cli_reference()))
    return files
