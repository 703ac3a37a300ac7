"""The site's CLI reference is what the installed commands print for ``--help``.

The reference is written from the argument parsers by ``docs/hooks/generated.py``
on every build; here each of its sections is compared with the real command's
output, run as a process, and the commands are found by reading ``--help``
itself (the sub-commands each help text lists), not by walking the parsers.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "docs" / "hooks" / "generated.py"


def load_hook():
    spec = importlib.util.spec_from_file_location("docs_generated_hook", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = load_hook()


def page_sections(page: str) -> dict[str, str]:
    """``## `command` `` headings of the generated page, each with its code block's text."""
    found = re.findall(r"^## `([^`]+)`\n\n```text\n(.*?)\n```$", page, flags=re.S | re.M)
    return {command: text for command, text in found}


def argv_of(command: str) -> list[str]:
    """The process that prints ``command``'s help: the installed scripts beside this interpreter."""
    words = command.split()
    bin_dir = Path(sys.executable).parent
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    script = bin_dir / words[0]
    if script.exists():
        return [str(script), *words[1:]]
    module = {"kerasketch": "kerasketch.cli", "kerasketch-tui": "kerasketch.tui"}[words[0]]
    return [sys.executable, "-c", f"import sys, runpy; sys.argv[0] = {words[0]!r}; runpy.run_module({module!r})"]


def real_help(commands: list[str]) -> dict[str, str]:
    """Each command's ``--help`` from a real process, all started at once, in a terminal as wide as the page's."""
    env = {**os.environ, "COLUMNS": str(hook.WIDTH + 2)}
    children = {
        command: subprocess.Popen(
            [*argv_of(command), "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )
        for command in commands
    }
    out = {}
    for command, child in children.items():
        stdout, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, f"{command} --help failed: {stderr}"
        out[command] = stdout.rstrip("\n")
    return out


def listed_subcommands(help_text: str) -> list[str]:
    """The sub-commands a help text lists: argparse indents each under the COMMAND/ACTION placeholder."""
    block = re.search(r"^positional arguments:\n(.*?)(?:\n\n|\Z)", help_text, flags=re.S | re.M)
    if block is None:
        return []
    lines = block.group(1).splitlines()
    if not lines or not re.match(r"^  [A-Z_]+$", lines[0]):
        return []
    return [m.group(1) for line in lines[1:] if (m := re.match(r"^    ([a-z][\w-]*)(?:\s|$)", line))]


@pytest.fixture(scope="module")
def page() -> str:
    return hook.cli_reference()


@pytest.fixture(scope="module")
def printed(page) -> dict[str, str]:
    """Every documented command's real ``--help``, run once for the module."""
    return real_help(list(page_sections(page)))


def test_every_section_is_what_the_command_prints(page, printed):
    sections = page_sections(page)
    assert len(sections) > 10
    for command, text in sections.items():
        diff = "\n".join(difflib.unified_diff(text.splitlines(), printed[command].splitlines(), "page", "--help"))
        assert text == printed[command], f"the reference's `{command}` differs from `{command} --help`:\n{diff}"


def test_every_command_the_help_lists_has_a_section(page, printed):
    """Found from the printed help, level by level, so a new sub-command without a section fails here."""
    sections = page_sections(page)
    expected, level = [], ["kerasketch"]
    while level:
        expected += level
        missing = [command for command in level if command not in printed]
        assert not missing, f"no section for {missing}"
        level = [f"{command} {sub}" for command in level for sub in listed_subcommands(printed[command])]
    assert "kerasketch run" in expected and "kerasketch data download" in expected
    assert "kerasketch-tui" in sections
    recipes = sorted(c.rsplit(".", 1)[1] for c in sections if c.startswith("python -m kerasketch.recipes."))
    listing = subprocess.run(
        [*argv_of("kerasketch list"), "--json"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert recipes == sorted(re.findall(r'"name": "(\w+)"', listing))


def test_the_page_follows_the_parsers(page, printed, monkeypatch):
    """The page is written from the parsers: an option added to one shows, and then differs from the
    installed command's help, which is what the comparison above would catch."""
    import kerasketch.cli

    original = kerasketch.cli.build_parser

    def with_an_option():
        parser = original()
        parser.add_argument("--not-a-real-option", help="added by the test")
        return parser

    monkeypatch.setattr(kerasketch.cli, "build_parser", with_an_option)
    changed = page_sections(hook.cli_reference())["kerasketch"]
    assert "--not-a-real-option" in changed
    assert changed != printed["kerasketch"]
    assert page_sections(page)["kerasketch"] == printed["kerasketch"]


def test_listed_subcommands_reads_argparse_help():
    text = "usage: x\n\npositional arguments:\n  COMMAND\n    run       run it\n    data      data things\n\noptions:\n"
    assert listed_subcommands(text) == ["run", "data"]
    assert listed_subcommands("usage: x\n\npositional arguments:\n  run   a run folder\n") == []
