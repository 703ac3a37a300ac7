"""Which data a run trained on, as a short key and a line: scores compare only between runs on the same data.

Two runs are on the same data when they drew the same classes, the same
number of drawings of each, from a source of the same name, with the same
selection (fraction or cap per class, seed, split). The image size is not
part of it: recipes of different input sizes train on the same drawings.
Synthetic data is its own source, so it never shares a key with real data.

Read from a run's ``config.json`` alone, so the command line, the dashboard
and the reports key old and new runs alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, TypeVar

from ..runs.events import SUCCEEDED
from ..runs.state import RunSummary
from ..validation import MIN_CLASSES
from ..wording import plural


@dataclass(frozen=True, order=True)
class DataKey:
    synthetic: bool  # first, so that sorting puts real data before synthetic
    key: str  # 8 hex digits; "" where the run's config says nothing of its data
    label: str  # e.g. "bitmap: 37 classes, at most 300 each, seed 0"
    short: str = ""  # e.g. "bitmap 37 cl ≤300 s0": a table column's worth

    def __str__(self) -> str:
        return f"{self.label} [{self.key}]" if self.key else self.label

    @property
    def known(self) -> bool:
        return bool(self.key)


UNKNOWN = DataKey(False, "", "data not recorded", "?")


def of_config(config: Mapping[str, Any]) -> DataKey:
    """The data key of a run's configuration (``config.json``, or a start event's ``config``)."""
    dataset = config.get("dataset") or {}
    data = config.get("data") or {}
    if not isinstance(dataset, Mapping) or not isinstance(data, Mapping):
        return UNKNOWN
    classes = dataset.get("classes")
    if not isinstance(classes, Mapping) or not classes:
        return UNKNOWN
    synthetic = bool(dataset.get("synthetic"))
    source = "synthetic" if synthetic else _source_name(dataset.get("source") or data.get("data"))
    selection = {k: data.get(k) for k in ("fraction", "max_per_class", "seed", "split")}
    if synthetic:
        selection["synthetic_per_class"] = data.get("synthetic_per_class")
    payload = {"source": source, "classes": sorted((str(k), v) for k, v in classes.items()), **selection}
    key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:8]
    shown = source.upper() if synthetic else source
    return DataKey(synthetic, key, _label(shown, classes, data), _short(shown, classes, data))


def _short(source: str, classes: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    cap = f" ≤{data['max_per_class']:,}" if data.get("max_per_class") else ""
    cap = cap or (f" {data['fraction']:g}" if data.get("fraction") else "")
    return f"{source} {len(classes)} cl{cap} s{data.get('seed', '?')}"


def _source_name(source: Any) -> str:
    """The data folder's or file's own name: the same for any spelling of its path."""
    if not isinstance(source, str) or not source:
        return "?"
    # A described source ("numpy bitmaps (data/quickdraw)") keeps its folder's name without the brackets.
    return PurePath(source.rstrip("/")).name.strip("()[]'\" ") or source


def _label(source: str, classes: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    counts = [c for c in classes.values() if isinstance(c, int)]
    parts = [plural(len(classes), "class", "classes")]
    if data.get("max_per_class"):
        parts.append(f"at most {data['max_per_class']:,} each")
    elif data.get("fraction"):
        parts.append(f"{data['fraction']:g} of each")
    if counts:
        parts.append(plural(sum(counts), "drawing"))
    if data.get("seed") is not None:
        parts.append(f"seed {data['seed']}")
    return f"{source}: {', '.join(parts)}"


def comparable(run: RunSummary) -> bool:
    """Whether a run's score means something beside others': it ended well, with a score, on at least
    :data:`~kerasketch.validation.MIN_CLASSES` classes (with one, every guess is right)."""
    score = run.best_val_accuracy
    classes = (run.dataset or run.config.get("dataset") or {}).get("num_classes")
    return (
        run.status in SUCCEEDED
        and isinstance(score, int | float)
        and score == score
        and not (isinstance(classes, int) and classes < MIN_CLASSES)
    )


T = TypeVar("T")


def grouped(items: Iterable[T], config_of) -> list[tuple[DataKey, list[T]]]:
    """``items`` grouped by their data, real data first, then the groups with more items first
    (order within a group kept). ``config_of(item)`` gives an item's run configuration."""
    groups: dict[DataKey, list[T]] = {}
    for item in items:
        groups.setdefault(of_config(config_of(item)), []).append(item)
    return sorted(groups.items(), key=lambda kv: (kv[0].synthetic, not kv[0].known, -len(kv[1])))
