"""``kerasketch runs list | tag | note | archive | delete`` on run folders, as a user types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from run_folders import classes, write_run

from kerasketch.cli import main
from kerasketch.runs import events, folders
from kerasketch.runs.processes import this_process
from kerasketch.training import datakey


def _listed(capsys, *argv: str) -> list[dict]:
    assert main(["runs", "list", *argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _running(runs_dir, name: str):
    """A run folder whose process (this test's) is alive: a run still going."""
    path = write_run(runs_dir, name, classes=classes(3), reason=None)
    start = events.make("start", name, run_dir=str(path), **this_process())
    with open(path / folders.EVENTS, "a") as f:
        f.write(events.encode(start) + "\n")
    return path


def test_list_filters_by_recipe_data_status_and_tag(tmp_path, capsys):
    runs = tmp_path / "runs"
    a = write_run(runs, "a", classes=classes(37), best=0.6, day=3)
    write_run(runs, "b", recipe="baseline", classes=classes(37), best=0.3, day=2)
    write_run(runs, "c", classes=classes(3), best=0.9, reason="failed", day=1)
    big = datakey.of_config(folders.read_config(a)).key
    assert [r["run"] for r in _listed(capsys, str(runs))] == ["a", "b", "c"]
    assert [r["run"] for r in _listed(capsys, str(runs), "--recipe", "baseline")] == ["b"]
    assert [r["run"] for r in _listed(capsys, str(runs), "--data", big[:4])] == ["a", "b"]
    assert [r["run"] for r in _listed(capsys, str(runs), "--status", "failed")] == ["c"]
    assert main(["runs", "tag", str(a), "keep", "paper"]) == 0
    assert main(["runs", "note", str(a), "the one in the README"]) == 0
    capsys.readouterr()
    [row] = _listed(capsys, str(runs), "--tag", "paper")
    assert row["run"] == "a" and row["tags"] == ["keep", "paper"] and row["note"] == "the one in the README"
    assert main(["runs", "tag", str(a), "paper", "--remove"]) == 0
    capsys.readouterr()
    assert _listed(capsys, str(runs), "--tag", "paper") == []
    assert main(["runs", "list", str(runs)]) == 0
    table = capsys.readouterr().out
    assert "| a | like_vgg_adamw | finished | 0.6000 |" in table and f"[{big}]" in table and "| keep |" in table


def test_a_bad_tag_is_one_message(tmp_path, capsys):
    run = write_run(tmp_path, "a", classes=classes(3))
    assert main(["runs", "tag", str(run), "two words"]) == 2
    assert "is not a tag" in capsys.readouterr().err


def test_archive_hides_a_run_from_list_and_compare_and_undo_brings_it_back(tmp_path, capsys):
    runs = tmp_path / "runs"
    a = write_run(runs, "a", classes=classes(4), best=0.7)
    write_run(runs, "b", classes=classes(4), best=0.5)
    assert main(["runs", "archive", str(a)]) == 0
    archived = runs / ".archive" / "a"
    assert archived.is_dir() and not a.exists()
    capsys.readouterr()
    assert [r["run"] for r in _listed(capsys, str(runs))] == ["b"]
    assert [r["run"] for r in _listed(capsys, str(runs), "--archived")] == ["a"]
    assert main(["compare", str(runs)]) == 0
    assert "| 0.5000 |" in capsys.readouterr().out
    assert main(["runs", "archive", str(archived), "--undo"]) == 0
    assert a.is_dir() and not archived.exists()


def test_a_running_run_is_never_archived_or_deleted(tmp_path, capsys):
    running = _running(tmp_path, "going")
    assert folders.load(running).status == "running"
    assert main(["runs", "archive", str(running)]) == 2
    assert "is still running" in capsys.readouterr().err
    assert main(["runs", "delete", str(running), "--yes"]) == 2
    assert "is still running" in capsys.readouterr().err and running.is_dir()


def test_delete_asks_first_and_deletes_on_yes(tmp_path):
    runs = tmp_path / "runs"
    a = write_run(runs, "a", classes=classes(3))
    b = write_run(runs, "b", classes=classes(3))
    command = [sys.executable, "-m", "kerasketch", "runs", "delete", str(a)]
    env = {**os.environ}
    # No terminal to ask on: refused, nothing deleted.
    proc = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, timeout=120)
    assert proc.returncode == 2 and "--yes" in proc.stderr and a.is_dir()
    assert main(["runs", "delete", str(a), "--yes"]) == 0
    assert not a.exists() and b.is_dir()


def _answer(command: list[str], answer: str) -> subprocess.CompletedProcess:
    """Run ``command`` with a terminal as its stdin, typing ``answer``."""
    import pty

    main_fd, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(command, stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(main_fd, answer.encode())
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(main_fd)
        os.close(terminal)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def test_delete_at_a_terminal_deletes_only_on_yes(tmp_path):
    run = write_run(tmp_path / "runs", "a", classes=classes(3))
    command = [sys.executable, "-m", "kerasketch", "runs", "delete", str(run)]
    no = _answer(command, "n\n")
    assert no.returncode == 1 and "nothing deleted" in no.stdout and run.is_dir()
    yes = _answer(command, "y\n")
    assert yes.returncode == 0 and f"deleted {run}" in yes.stdout and not run.exists()
