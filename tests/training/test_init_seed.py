"""``--init-seed``: runs that differ only in it share their data and test split (an ensemble's members must)
but not their initialisation and order; the same init seed trains the same numbers again."""

from __future__ import annotations

import json
from pathlib import Path

from kerasketch.cli.run import main
from kerasketch.recipes import registry
from kerasketch.runs import folders

SMALL = ["--data", "synthetic", "--classes", "4", "--max-per-class", "12", "--batch-size", "16", "--quiet"]


def _run(tmp_path: Path, name: str, *extra: str) -> tuple[dict, str]:
    runs = tmp_path / "runs"
    argv = [*SMALL, "--epochs", "1", "--cache-dir", str(tmp_path / "cache"), "--runs-dir", str(runs), "--name", name]
    assert main(registry.get("like_vgg_adamw"), [*argv, *extra]) == 0
    run_dir = next(runs.glob(f"{name}-*"))
    return json.loads((run_dir / folders.CONFIG).read_text()), (run_dir / folders.HISTORY).read_text()


def test_init_seed_keeps_the_split_and_changes_the_training(tmp_path):
    plain, plain_history = _run(tmp_path, "plain", "--seed", "0")
    other, other_history = _run(tmp_path, "other", "--seed", "0", "--init-seed", "7")
    _, again_history = _run(tmp_path, "again", "--seed", "0", "--init-seed", "7")
    moved, _ = _run(tmp_path, "moved", "--seed", "7")

    assert other["options"]["init_seed"] == 7 and plain["options"]["init_seed"] is None
    assert other["data"]["seed"] == plain["data"]["seed"] == 0
    # The same drawings in the same split: one cache, one digest.
    assert other["dataset"] == plain["dataset"] and moved["dataset"] != plain["dataset"]
    # Not the same run: a stopped one of these settings never resumes the other's folder.
    assert other["fingerprint"] != plain["fingerprint"]
    # Another initialisation and order train other numbers; the same init seed the same ones.
    assert other_history != plain_history
    assert again_history == other_history
