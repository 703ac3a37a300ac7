"""``kerasketch data cache list | prune``: what the caches hold, when they were last used, and pruning."""

from __future__ import annotations

import fcntl
import json
import os
import time

from kerasketch.cli import main
from kerasketch.data import cache, cache_build
from kerasketch.data.assembly import DataConfig


def _caches(quickdraw, cache_dir) -> list:
    paths = []
    for seed in (0, 1):
        config = DataConfig(data=str(quickdraw / "bitmap"), classes=("cat", "dog"), max_per_class=20, seed=seed)
        paths.append(cache.load_or_build(config, cache_dir).cache_path)
    return paths


def test_list_shows_size_data_and_last_use_and_a_reopened_cache_counts_as_used(quickdraw, tmp_path, capsys):
    old, recent = _caches(quickdraw, tmp_path)
    long_ago = time.time() - 40 * 86400
    os.utime(old, (long_ago, long_ago))
    os.utime(recent, (long_ago, long_ago))
    # Reopening one (as a run does) makes it used now.
    cache.load_or_build(
        DataConfig(data=str(quickdraw / "bitmap"), classes=("cat", "dog"), max_per_class=20, seed=1), tmp_path
    )
    assert main(["data", "cache", "list", "--cache-dir", str(tmp_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["file"] for e in listed] == [str(recent), str(old)]  # most recently used first
    assert all(e["classes"] == 2 and e["drawings"] == 40 and e["image_size"] == 28 for e in listed)
    assert listed[0]["bytes"] == recent.stat().st_size and listed[0]["selection"] == "at most 20 per class, seed 1"
    assert main(["data", "cache", "list", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 caches" in out and "2 classes, 40 drawings at 28x28, at most 20 per class, seed 0" in out


def test_prune_removes_the_unused_ones_and_never_a_build_going_on(quickdraw, tmp_path, capsys):
    old, recent = _caches(quickdraw, tmp_path)
    long_ago = time.time() - 40 * 86400
    os.utime(old, (long_ago, long_ago))
    assert main(["data", "cache", "prune", "--cache-dir", str(tmp_path), "--dry-run"]) == 0
    assert "would remove 1 cache unused for 30 days or more" in capsys.readouterr().out and old.exists()
    assert main(["data", "cache", "prune", "--cache-dir", str(tmp_path)]) == 0
    assert "removed 1 cache" in capsys.readouterr().out
    assert not old.exists() and recent.exists()

    # A build holding its lock stays, even with --all; a stopped build's leftovers go.
    building = tmp_path / "dataset-building.h5"
    cache_build.partial_path(building).write_bytes(b"half")
    stopped = tmp_path / "dataset-stopped.h5"
    cache_build.partial_path(stopped).write_bytes(b"half")
    with open(building.with_name(f".{building.name}.lock"), "a+b") as lock:
        fcntl.lockf(lock.fileno(), fcntl.LOCK_EX)
        # lockf locks are per process: the prune must run in another to see it.
        import subprocess
        import sys

        argv = [sys.executable, "-m", "kerasketch", "data", "cache", "prune", "--cache-dir", str(tmp_path), "--all"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "removed 2 caches" in proc.stdout
    assert cache_build.partial_path(building).exists() and not cache_build.partial_path(stopped).exists()
    assert not recent.exists()
