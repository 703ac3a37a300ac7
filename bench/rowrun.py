"""The rows of a study, each an ordinary ``kerasketch run`` in a child process: N at once, resumable.

Used by ``bench/imbalance.py`` and ``bench/beyond.py``. A row has an id (its run's ``--name``) and the
arguments of ``kerasketch run`` that make it (recipe, data, seed, options); the runner adds where it lands
(``OUT/runs/<id>-<UTC>/``), ``--quiet`` and ``--threads``. A row whose result line is in the study's
results file is skipped; an interrupted row's run resumes from its last epoch (``kerasketch run``
finds it by its settings); a finished run without a result line (the study stopped between the two) is
not trained again. A lock keeps a second study off the same folder, which would resume one run twice.

The results file lives in the repository (``bench/results/<study>.jsonl``), not beside the runs: a study
of many hours outlives the machine it started on, and a finished row's line (every figure the report and
its figure need) is committed with the page it feeds, while the run folders stay local.

``jobs`` rows train at once with the cores shared out: a small CNN's step uses a second thread poorly,
so on 2 cores two one-thread rows finish sooner than one two-thread row after another
(docs/results/imbalance.md has the figure).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Row:
    id: str
    #: ``kerasketch run``'s arguments: the recipe first, then data, seed and options.
    argv: tuple[str, ...]
    #: What the result line records about the row besides its scores (recipe, dataset, remedy, seed...).
    fields: dict[str, Any]
    #: Another study's runs folder where the same row (same id, same command) may have finished already:
    #: its run is scored instead of training the row again.
    reuse: Path | None = None


def finished_ids(results: Path) -> set[str]:
    if not results.exists():
        return set()
    return {json.loads(line)["id"] for line in results.read_text().splitlines() if line.strip()}


def run_folder(runs: Path, name: str) -> Path | None:
    """The row's finished run: the newest folder of that name with an evaluation."""
    done = sorted(p for p in runs.glob(f"{name}-*") if (p / "eval.json").exists())
    return done[-1] if done else None


def train(row: Row, *, runs: Path, nice: int, threads: int, log: Path) -> Path:
    """The row's finished run folder, trained (or resumed) by a child ``kerasketch run`` when there is none."""
    for where in (runs, row.reuse):
        folder = run_folder(where, row.id) if where is not None else None
        if folder is not None:
            return folder
    cmd = [sys.executable, "-m", "kerasketch", "run", *row.argv]
    cmd += ["--runs-dir", str(runs), "--name", row.id, "--quiet", "--threads", str(threads)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        code = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT, preexec_fn=lambda: os.nice(nice))
    folder = run_folder(runs, row.id)
    if code != 0 or folder is None:
        raise SystemExit(f"error: row {row.id} failed (exit {code}); see {log}, then run this again to resume")
    return folder


def run_rows(
    rows: list[Row],
    *,
    out: Path,
    results: Path,
    jobs: int,
    nice: int,
    score: Callable[[Row, Path], dict[str, Any]],
) -> None:
    """Train every row not finished yet, ``jobs`` at once, appending ``score(row, folder)`` to ``results``.

    ``score`` runs one row at a time (it may load the model), and its dict is the row's line, with the id,
    the fields, the run folder's name and the threads added."""
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    lock = (out / "study.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"error: a study is already running on {out}; wait for it or stop it first") from None
    results.parent.mkdir(parents=True, exist_ok=True)
    finished = finished_ids(results)
    todo = [row for row in rows if row.id not in finished]
    print(f"{len(rows)} rows, {len(rows) - len(todo)} finished already", flush=True)
    threads = max(1, (os.cpu_count() or 1) // jobs)
    written = threading.Lock()

    def one(row: Row) -> None:
        started = time.time()
        print(f"{time.strftime('%H:%M:%S')} {row.id} ...", flush=True)
        folder = train(row, runs=runs, nice=nice, threads=threads, log=out / "logs" / f"{row.id}.log")
        with written:
            record = {**row.fields, "id": row.id, "run": folder.name, "threads": threads, **score(row, folder)}
            with results.open("a") as f:
                f.write(json.dumps(record) + "\n")
        accuracy = record.get("test", {}).get("accuracy")
        shown = f"test accuracy {accuracy:.4f} " if isinstance(accuracy, float) else ""
        print(f"{time.strftime('%H:%M:%S')} {row.id}: {shown}({(time.time() - started) / 60:.1f} min)", flush=True)

    with ThreadPoolExecutor(jobs) as pool:
        # list() waits for every row and raises the first row's failure (its message says how to resume).
        list(pool.map(one, todo))


def read_results(results: Path) -> list[dict[str, Any]]:
    if not results.exists():
        raise SystemExit(f"error: no finished rows in {results}; run the study first")
    return [json.loads(line) for line in results.read_text().splitlines() if line.strip()]


def mean_spread(values: list[float], digits: int = 4) -> str:
    """'mean ± half the range' of the seeds' values (the range of 2 seeds is their spread)."""
    if not values:
        return ""
    mean = sum(values) / len(values)
    return f"{mean:.{digits}f}" + (f" ± {(max(values) - min(values)) / 2:.{digits}f}" if len(values) > 1 else "")
