"""A full, read-only or misplaced runs folder: exit 2, one message, nothing partial left, the run says failed.

Real file systems: small tmpfs mounts (the tests run as root, which ignores
chmod, so permissions would prove nothing). Skipped where mounting is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from kerasketch.cli import main
from kerasketch.runs import folders

SMALL = ["baseline", "--data", "synthetic", "--classes", "4", "--max-per-class", "30", "--epochs", "1", "--quiet"]


@pytest.fixture
def mount(tmp_path):
    mounted = []

    def make(size: str, *, read_only: bool = False):
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if proc.returncode != 0 or shutil.which("mount") is None:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode(errors='replace').strip()}")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def used_bytes(point) -> int:
    return shutil.disk_usage(point).used


def test_a_full_disk_fails_the_run_clearly_and_frees_the_partial_file(mount, capsys):
    disk = mount("200k")
    runs = disk / "runs"
    assert main(["run", *SMALL, "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 1 and "no space left on the device holding" in err and "Traceback" not in err
    (run,) = runs.iterdir()
    assert not any(p.name.startswith(".") for p in run.rglob("*")), "no hidden partial or temporary file"
    best = run / folders.BEST
    assert not best.exists(), "a partial best.keras would keep the disk full"
    info = folders.load(run)
    assert info.status == "failed" and "no space left" in info.error
    end = json.loads((run / folders.EVENTS).read_text().splitlines()[-1])
    assert end["event"] == "end" and end["reason"] == "failed"
    assert used_bytes(disk) < 150_000, "what the failed write took is given back"


def test_a_read_only_runs_folder_is_one_message(mount, capsys):
    disk = mount("1m", read_only=True)
    assert main(["run", *SMALL, "--runs-dir", str(disk / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 1 and "is on a read-only file system" in err and "Traceback" not in err
    assert list(disk.iterdir()) == []


def test_a_file_where_the_runs_folder_should_be(tmp_path, capsys):
    (tmp_path / "runs").write_text("not a folder")
    assert main(["run", *SMALL, "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "a file is where a folder is expected" in err and "--runs-dir" in err and "Traceback" not in err
    assert (tmp_path / "runs").read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
