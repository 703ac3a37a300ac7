"""Run folders written as a run writes them, with chosen data and scores (no training): compare's inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kerasketch.recipes import registry


def dataset(classes: dict[str, int], *, source: str, synthetic: bool = False) -> dict[str, Any]:
    total = sum(classes.values())
    return {
        "source": source,
        "synthetic": synthetic,
        "image_size": 28,
        "num_classes": len(classes),
        "classes": classes,
        "splits": {"train": int(total * 0.8), "val": total // 10, "test": total - int(total * 0.8) - total // 10},
        "total": total,
    }


def write_run(
    runs_dir: Path,
    name: str,
    *,
    recipe: str = "like_vgg_adamw",
    classes: dict[str, int],
    source: str = "/data/quickdraw/bitmap",
    synthetic: bool = False,
    max_per_class: int | None = None,
    seed: int = 0,
    best: float = 0.5,
    reason: str | None = "finished",
    day: int = 1,
    distributed: dict[str, Any] | None = None,
) -> Path:
    """A run folder with config.json and events.jsonl: a start, two epochs and (unless ``reason`` is None) an end."""
    path = runs_dir / name
    path.mkdir(parents=True)
    r = registry.get(recipe)
    config = {
        "recipe": r.to_json(),
        "data": {
            "data": "synthetic" if synthetic else source,
            "classes": None,
            "fraction": None,
            "max_per_class": max_per_class,
            "seed": seed,
            "split": [0.8, 0.1, 0.1],
            "image_size": r.image_size,
        },
        "dataset": dataset(classes, source=source, synthetic=synthetic),
        "class_names": list(classes),
        "created": f"2026-11-{day:02d}T10:00:00Z",
        "versions": {"backend": "torch"},
        # config.json's record of a run of several processes (--nproc); a run of one from before has none.
        **({"distributed": distributed} if distributed is not None else {}),
    }
    (path / "config.json").write_text(json.dumps(config))
    stamp = f"2026-11-{day:02d}T10:00:00Z"
    lines = [
        {"event": "start", "time": stamp, "run": name, "run_dir": str(path), "recipe": recipe, "config": config},
        *(
            {
                "event": "epoch",
                "time": stamp,
                "run": name,
                "epoch": e,
                "metrics": {"val_accuracy": best * e / 2, "val_loss": 1.0},
                "best_epoch": e,
                "best_val_accuracy": best * e / 2,
            }
            for e in (1, 2)
        ),
    ]
    if reason is not None:
        lines.append(
            {
                "event": "end",
                "time": stamp,
                "run": name,
                "reason": reason,
                "best_epoch": 2,
                "best_val_accuracy": best,
                "seconds": 60.0,
            }
        )
    (path / "events.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def classes(n: int, each: int = 100) -> dict[str, int]:
    return {f"class{i:02d}": each for i in range(n)}
