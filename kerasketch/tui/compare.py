"""What the compare screen shows of its runs: colours, the settings that differ, the results.

Pure functions over run states and what :mod:`kerasketch.runs.folders`
reads; the screen (``screens/compare.py``) only lays them out.

The settings are every leaf of ``config.json`` (recipe, optimiser settings,
data options, backend, and whatever else a run records, sweep parameters
included), less what describes the outcome or the machine rather than a
choice; a setting is shown only where the marked runs do not all agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kerasketch.errors import KerasketchError
from kerasketch.runs import folders
from kerasketch.runs.documents import Evaluation, distributed_record
from kerasketch.training import datakey

from .runstate import RunState

#: The compare screen takes 2 to 10 runs: one colour each, told apart on a dark terminal.
MIN_RUNS, MAX_RUNS = 2, 10
#: Tableau 10: a categorical palette designed for telling ten lines apart.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)

#: Leaves of config.json that are not choices: results, bookkeeping, the machine.
_IGNORED = (
    "format_version",
    "class_names",
    "created",
    "fingerprint",
    "params",
    "device",
    "dataset",
    "recipe.original",
    "options.runs_dir",
    "options.name",
    "options.cache_dir",
    "versions",
    # Data parallelism: the processes and their backend are choices; the rest follows from them or the machine.
    "distributed.global_batch",
    "distributed.per_rank_batch",
    "distributed.local_ranks",
    "distributed.threads_per_rank",
    "distributed.keras_distributes",
)
#: Kept from those: the backend is a choice (the data key, ``data``, says what the data was).
_KEPT = ("versions.backend",)
#: Short column titles for the usual settings; others show their dotted path less "recipe."/"data.".
_LABELS = {
    "recipe.name": "recipe",
    "versions.backend": "backend",
    "data.max_per_class": "max/class",
    "data.seed": "seed",
    "options.init_seed": "init seed",
    "recipe.optimizer": "optimiser",
    "recipe.batch_size": "batch",
    "distributed.world_size": "processes",
    "distributed.backend": "dist backend",
}


def check_count(n: int) -> str | None:
    """Why ``n`` marked runs cannot be compared, or None."""
    if n < MIN_RUNS:
        return f"mark {MIN_RUNS} to {MAX_RUNS} runs with space to compare them ({n} marked)"
    if n > MAX_RUNS:
        return f"compare takes at most {MAX_RUNS} runs ({n} marked): unmark some with space"
    return None


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def settings(config: Mapping[str, Any]) -> dict[str, str]:
    """A run's choices as ``dotted.key -> text``."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if prefix and _ignored(prefix):
            return
        if isinstance(value, Mapping):  # an empty one is no choice ("-" where another run has keys)
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = _text(value)

    walk("", config)
    # What the run trained on, as its data key names it: the data path alone says "-" for the
    # default (synthetic) data, and two spellings of one folder are one data.
    out.pop("data.data", None)
    out["data"] = datakey.of_config(config).short
    # A folder from before --nproc trained with one process, as a run of one records it now.
    out["distributed.world_size"] = str(distributed_record(config)["world_size"])
    return out


def _ignored(key: str) -> bool:
    if key in _KEPT or any(k.startswith(key + ".") for k in _KEPT):
        return False  # a kept leaf, or a branch on the way to one
    return any(key == i or key.startswith(i + ".") for i in _IGNORED)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def differing(configs: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """(label, each run's value) for every setting the runs do not all share, recipe first."""
    each = [settings(c) for c in configs]
    keys: list[str] = []
    for s in each:
        keys += [k for k in s if k not in keys]
    keys.sort(key=lambda k: (k != "recipe.name", k != "data", not k.startswith("recipe."), k))
    out = []
    for key in keys:
        values = [s.get(key, "-") for s in each]
        if len(set(values)) > 1:
            out.append((label(key), values))
    return out


def label(key: str) -> str:
    if key in _LABELS:
        return _LABELS[key]
    for prefix in ("recipe.optimizer_settings.", "recipe.", "data."):
        if key.startswith(prefix):
            return key.removeprefix(prefix)
    return key


@dataclass
class Result:
    """A run's figures in the compare table (None: not known yet, or never)."""

    best_val_accuracy: float | None
    best_epoch: int | None
    test_accuracy: float | None
    top3_accuracy: float | None
    seconds: float | None


def result(state: RunState) -> Result:
    evaluation: Evaluation | None = None
    if state.run_dir is not None and not state.active:
        try:
            evaluation = folders.read_evaluation(state.run_dir)
        except KerasketchError:
            evaluation = None  # the run screen says why; here the figure is just unknown
    test = (evaluation or {}).get("test") or {}
    seconds = (evaluation or {}).get("train_seconds")
    if seconds is None:
        seconds = state.seconds if state.seconds is not None else sum(e.seconds or 0 for e in state.epoch_list) or None
    return Result(
        best_val_accuracy=state.best_val_accuracy,
        best_epoch=state.best_epoch,
        test_accuracy=state.test_accuracy if state.test_accuracy is not None else test.get("accuracy"),
        top3_accuracy=test.get("top3_accuracy"),
        seconds=seconds,
    )


def best_of(values: Sequence[float | None], lowest: bool = False) -> tuple[int, float] | None:
    """(1-based epoch, value) of the best of a series (max, or min for a loss)."""
    found = [(i, v) for i, v in enumerate(values, start=1) if v is not None]
    if not found:
        return None
    return (min if lowest else max)(found, key=lambda p: p[1])
