"""Fixtures for the dashboard's tests: run folders written with fixed content.

Everything here is deterministic (fixed times, fixed curves, fixed matrices)
so that snapshots do not change from one run of the tests to the next. The
runs folder is given to the app as the relative path ``runs`` (the tests run
in a temporary working directory), so no temporary path shows on screen.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kerasketch.recipes import registry
from kerasketch.runs import events

QUICKDRAW_20 = [
    "airplane",
    "apple",
    "banana",
    "bee",
    "bicycle",
    "bird",
    "book",
    "cat",
    "clock",
    "cloud",
    "dog",
    "donut",
    "eye",
    "fish",
    "flower",
    "frog",
    "house",
    "rainbow",
    "tree",
    "The Mona Lisa",
]


def stamp(day: int, hour: int, minute: int = 0, second: int = 0) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def curves(n: int, *, best: int, top: float, seed: int) -> list[dict[str, float]]:
    """Plausible, fixed learning curves: accuracy rising to ``top`` at epoch ``best``, then flat/over-fitting."""
    out = []
    for e in range(1, n + 1):
        wiggle = 0.004 * math.sin(e * 1.7 + seed)
        rise = 1 - math.exp(-e / 2.2)
        over = max(0, e - best) * 0.006
        if e < best:
            val_acc = round(min(top * rise / (1 - math.exp(-best / 2.2)) + wiggle, top - 0.002), 4)
        else:
            val_acc = top if e == best else round(top - 0.003 - over + wiggle, 4)
        acc = round(min(0.98, 0.25 + 0.06 * e + 0.3 * rise + wiggle), 4)
        loss = round(3.6 * math.exp(-e / 3.0) + 0.35 + wiggle, 4)
        val_loss = round(3.4 * math.exp(-e / 3.2) + 0.9 + over * 4 + wiggle, 4)
        out.append({"loss": loss, "accuracy": acc, "val_loss": val_loss, "val_accuracy": val_acc})
    return out


def dataset_summary(names: list[str], *, synthetic: bool, per_class: int = 150) -> dict[str, Any]:
    counts = {n: per_class - (i * 37) % 90 for i, n in enumerate(names)}
    total = sum(counts.values())
    return {
        "source": "synthetic shapes (built-in)" if synthetic else "Quick, Draw! numpy bitmaps (data/quickdraw)",
        "synthetic": synthetic,
        "image_size": 28,
        "num_classes": len(names),
        "classes": counts,
        "splits": {
            "train": round(total * 0.8),
            "val": round(total * 0.1),
            "test": total - round(total * 0.8) - round(total * 0.1),
        },
        "total": total,
        "imbalance": round(max(counts.values()) / min(counts.values()), 3),
    }


def config_for(
    recipe: str, names: list[str], *, synthetic: bool, epochs: int, max_per_class: int | None = None
) -> dict[str, Any]:
    r = registry.get(recipe).with_(epochs=epochs)
    return {
        "recipe": r.to_json(),
        "data": {
            "data": None,
            "classes": len(names),
            "fraction": None,
            "max_per_class": max_per_class,
            "seed": 0,
            "split": [0.8, 0.1, 0.1],
            "image_size": r.image_size,
        },
        "dataset": dataset_summary(names, synthetic=synthetic),
        "class_names": names,
        "params": {"trainable": 1131376, "total": 1131760},
        "fingerprint": f"fixture-{recipe}",
        "options": {"runs_dir": "runs", "name": None, "cache_dir": None},
        "created": "2026-11-20T10:00:00Z",
        "versions": {"kerasketch": "0.1.0", "keras": "3.x", "torch": "2.x", "backend": "torch"},
        "device": "cpu",
    }


def confusion(names: list[str], accuracies: list[float], supports: list[int]) -> list[list[int]]:
    """A fixed matrix: each class's errors go to two 'neighbours' (+1 and +7), rows summing to the support."""
    n = len(names)
    m = [[0] * n for _ in range(n)]
    for i in range(n):
        right = round(supports[i] * accuracies[i])
        wrong = supports[i] - right
        m[i][i] += right
        m[i][(i + 1) % n] += (wrong + 1) // 2
        m[i][(i + 7) % n] += wrong // 2
    return m


def events_for(
    name: str, config: dict, rows: list[dict[str, float]], *, patience: int, end: dict | None, day: int, steps: int = 40
) -> list[dict]:
    """A run's events, built through the protocol's own types: a field they do not know fails here."""
    recipe = config["recipe"]["name"]
    evs: list[events.Event] = [
        events.Phase(time=stamp(day, 10), run=recipe, message="preparing data", pid=999999),
        events.Start(
            time=stamp(day, 10, 0, 5),
            run=name,
            run_dir=f"runs/{name}",
            recipe=recipe,
            config=config,
            dataset=config["dataset"],
            epochs=config["recipe"]["epochs"],
            steps=steps,
            initial_epoch=0,
            pid=999999,
        ),
    ]
    best, best_epoch, wait = None, 0, 0
    for e, m in enumerate(rows, start=1):
        evs.append(
            events.Batch(
                time=stamp(day, 10, e, 0),
                run=name,
                epoch=e,
                step=steps,
                steps=steps,
                metrics={"loss": m["loss"], "accuracy": m["accuracy"]},
            )
        )
        if best is None or m["val_accuracy"] > best:
            best, best_epoch, wait = m["val_accuracy"], e, 0
        else:
            wait += 1
        evs.append(
            events.Epoch(
                time=stamp(day, 10, e, 30),
                run=name,
                epoch=e,
                metrics=dict(m),
                lr=0.001,
                seconds=28.5 + (e % 3),
                best_epoch=best_epoch,
                best_val_accuracy=best,
                patience_left=max(patience - wait, 0),
            )
        )
    if end is not None:
        evs.append(events.End(time=stamp(day, 11), run=name, **end))
    return [checked(e) for e in evs]


def checked(event: events.Event) -> dict:
    """An event's JSON object, read back through the protocol's parser (which must give it back)."""
    obj = event.to_json()
    assert events.parse(obj) == event, obj
    return obj


def write_folder(runs_dir: Path, name: str, config: dict | str, evs: list[dict], **files: Any) -> Path:
    path = runs_dir / name
    path.mkdir(parents=True)
    (path / "config.json").write_text(config if isinstance(config, str) else json.dumps(config, indent=1))
    (path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evs))
    for filename, content in files.items():
        filename = filename.replace("_dot_", ".")
        (path / filename).write_text(content if isinstance(content, str) else json.dumps(content, indent=1))
    return path


def evaluation(
    names: list[str],
    accuracies: list[float],
    supports: list[int],
    train_counts: list[int],
    matrix,
    *,
    best: float,
    best_epoch: int,
    epochs: int,
    rho: float | None,
    synthetic: bool,
) -> dict:
    pairs = []
    for i, row in enumerate(matrix):
        for j, c in enumerate(row):
            if i != j and c:
                pairs.append((-c, i, j))
    pairs.sort()
    test_acc = sum(matrix[i][i] for i in range(len(names))) / sum(supports)
    # What the run computes from the matrix (training/class_evidence.py), done by hand for the screens.
    predicted = [sum(row[j] for row in matrix) for j in range(len(names))]
    precision = [matrix[j][j] / predicted[j] if predicted[j] else 0.0 for j in range(len(names))]
    f1 = [2 * p * a / (p + a) if p + a else 0.0 for p, a in zip(precision, accuracies)]
    smallest = sorted(range(len(names)), key=lambda i: (train_counts[i], names[i]))[:5]
    return {
        "criterion": {"best_val_accuracy": best, "best_epoch": best_epoch},
        "test": {
            "accuracy": round(test_acc, 4),
            "top3_accuracy": round(min(test_acc + 0.17, 1), 4),
            "macro_f1": round(test_acc - 0.01, 4),
            "balanced_accuracy": round(sum(accuracies) / len(accuracies), 4),
            "samples": sum(supports),
            "predictions_outside_classes": 0,
        },
        "imbalance": {
            "largest_class": max(train_counts),
            "smallest_class": min(train_counts),
            "ratio": round(max(train_counts) / min(train_counts), 3),
            "spearman_size_vs_accuracy": rho,
            "spearman_size_vs_recall": rho,
            "spearman_ci95_low": None if rho is None else round(rho - 0.31, 4),
            "spearman_ci95_high": None if rho is None else round(min(rho + 0.27, 1.0), 4),
            "bootstrap_resamples": 2000,
            "bootstrap_seed": 0,
            "smallest_recall": round(sum(accuracies[i] for i in smallest) / len(smallest), 4),
            "smallest_classes": [names[i] for i in smallest],
        },
        "per_class": [
            {
                "class": n,
                "test_support": s,
                "train_count": t,
                "accuracy": a,
                "precision": round(p, 4),
                "recall": a,
                "f1": round(f, 4),
            }
            for n, s, t, a, p, f in zip(names, supports, train_counts, accuracies, precision, f1)
        ],
        "epochs_run": epochs,
        "train_seconds": 355.2,
        "most_confused": [
            {"true": names[i], "predicted": names[j], "count": -c, "share": round(-c / supports[i], 4)}
            for c, i, j in pairs[:10]
        ],
        "synthetic": synthetic,
    }


def write_finished(
    runs_dir: Path,
    name: str = "like_vgg_adamw-20261120-100005",
    recipe: str = "like_vgg_adamw",
    *,
    names: list[str] | None = None,
    epochs: int = 12,
    best_epoch: int = 7,
    top: float = 0.6318,
    synthetic: bool = False,
    day: int = 20,
) -> Path:
    names = list(names or QUICKDRAW_20)
    n = len(names)
    train_counts = [120 - (i * 37) % 90 for i in range(n)]
    supports = [max(3, t // 8) for t in train_counts]
    accuracies = [round(min(0.95, 0.35 + 0.004 * t + 0.05 * math.sin(i)), 4) for i, t in enumerate(train_counts)]
    matrix = confusion(names, accuracies, supports)
    accuracies = [round(matrix[i][i] / supports[i], 4) for i in range(n)]
    config = config_for(recipe, names, synthetic=synthetic, epochs=30)
    rows = curves(epochs, best=best_epoch, top=top, seed=len(name))
    early = epochs < 30
    evs = events_for(
        name,
        config,
        rows,
        patience=config["recipe"]["patience"],
        day=day,
        end={
            "reason": "early_stopped" if early else "finished",
            "best_epoch": best_epoch,
            "best_val_accuracy": top,
            "test_accuracy": round(sum(matrix[i][i] for i in range(n)) / sum(supports), 4),
            "seconds": 372.4,
        },
    )
    csv_text = "true \\ predicted," + ",".join(f'"{x}"' if "," in x else x for x in names) + "\n"
    csv_text += "".join(f"{names[i]}," + ",".join(map(str, row)) + "\n" for i, row in enumerate(matrix))
    return write_folder(
        runs_dir,
        name,
        config,
        evs,
        eval_dot_json=evaluation(
            names,
            accuracies,
            supports,
            train_counts,
            matrix,
            best=top,
            best_epoch=best_epoch,
            epochs=epochs,
            rho=0.42,
            synthetic=synthetic,
        ),
        confusion_dot_csv=csv_text,
        run_dot_log=f"kerasketch {recipe}: run folder runs/{name}\nearly-stopped after epoch {epochs}\n",
    )


#: The synthetic classes the pad's real run knows: few, so that it trains in a minute or two on two cores.
PAD_CLASSES = ("circle", "square", "triangle", "zigzag")
ROOT = Path(__file__).resolve().parents[2]
FAKE_CLASSIFIER = Path(__file__).with_name("fake_classifier.py")


@pytest.fixture(scope="session")
def circle_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run for the sketch pad: like_vgg_adamw, 3 epochs on 120 synthetic drawings of each of 4 shapes.

    Trained in a child process, as the dashboard's runs are, so this test process never imports Keras."""
    runs = tmp_path_factory.mktemp("pad-runs")
    argv = [sys.executable, "-m", "kerasketch", "run", "like_vgg_adamw", "--data", "synthetic"]
    argv += ["--classes", ",".join(PAD_CLASSES), "--max-per-class", "120", "--epochs", "3"]
    argv += ["--runs-dir", str(runs), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": os.environ.get("KERAS_BACKEND") or "torch"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = runs.iterdir()
    return run


def fake_classifier_argv(mode: str = "ok") -> list[str]:
    """The command of the fake ``--serve`` child (tests/tui/fake_classifier.py) in one of its modes."""
    return [sys.executable, str(FAKE_CLASSIFIER), mode]


def circle_points(cx: int, cy: int, rx: int, ry: int, n: int = 40) -> list[tuple[int, int]]:
    """Cells around an ellipse, closed: a circle on screen where ``rx`` is twice ``ry`` (cells are twice as tall)."""
    return [
        (round(cx + rx * math.cos(2 * math.pi * i / n)), round(cy + ry * math.sin(2 * math.pi * i / n)))
        for i in range(n + 1)
    ]


async def draw(pilot, widget, points: list[tuple[int, int]]) -> None:
    """One stroke through ``points`` (offsets in the widget): press, move, release, as a mouse does."""
    await pilot.mouse_down(widget, offset=points[0])
    for point in points[1:-1]:
        await pilot.hover(widget, offset=point)
    await pilot.mouse_up(widget, offset=points[-1])


@pytest.fixture
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``runs`` folder, relative to the test's working directory."""
    monkeypatch.chdir(tmp_path)
    path = Path("runs")
    path.mkdir()
    return path


@pytest.fixture
def populated(runs_dir: Path) -> Path:
    """Six run folders, one of each status the history shows."""
    write_finished(runs_dir)
    write_finished(
        runs_dir,
        "like_vgg-20261119-090005",
        "like_vgg",
        epochs=9,
        best_epoch=5,
        top=0.6021,
        synthetic=True,
        day=19,
        names=[
            "arrow",
            "circle",
            "cross",
            "envelope",
            "heart",
            "house",
            "lightning",
            "moon",
            "smiley",
            "spiral",
            "square",
            "star",
            "sun",
            "triangle",
            "wave",
            "zigzag",
        ],
    )
    # Failed in epoch 3, with a traceback in its log.
    cfg = config_for("baseline", QUICKDRAW_20, synthetic=False, epochs=100)
    write_folder(
        runs_dir,
        "baseline-20261121-083005",
        cfg,
        events_for(
            "baseline-20261121-083005",
            cfg,
            curves(2, best=2, top=0.301, seed=1),
            patience=7,
            day=21,
            end={"reason": "failed", "error": "RuntimeError: DataLoader worker exited unexpectedly", "seconds": 71.0},
        ),
        run_dot_log="kerasketch baseline: run folder runs/baseline-20261121-083005\n"
        "epoch   1/100  loss 3.1  acc 0.20\nepoch   2/100  loss 2.7  acc 0.27\n"
        'Traceback (most recent call last):\n  File "kerasketch/training/run.py", line 120, in _run\n'
        "RuntimeError: DataLoader worker exited unexpectedly\n",
    )
    # Cancelled with SIGTERM after 3 epochs.
    cfg = config_for("ts_cnn", QUICKDRAW_20, synthetic=False, epochs=100)
    write_folder(
        runs_dir,
        "ts_cnn-20261122-120005",
        cfg,
        events_for(
            "ts_cnn-20261122-120005",
            cfg,
            curves(3, best=3, top=0.4123, seed=2),
            patience=7,
            day=22,
            end={"reason": "cancelled", "seconds": 95.1},
        ),
    )
    # Its process died without an end event.
    cfg = config_for("ai_inno_cnn", QUICKDRAW_20, synthetic=False, epochs=100)
    write_folder(
        runs_dir,
        "ai_inno_cnn-20261118-070005",
        cfg,
        events_for(
            "ai_inno_cnn-20261118-070005", cfg, curves(4, best=4, top=0.5577, seed=3), patience=7, day=18, end=None
        ),
    )
    # Not a readable run folder.
    write_folder(runs_dir, "resnet50-20261117-060005", "{this is not json", [])
    return runs_dir


@pytest.fixture
def make_finished() -> Callable[..., Path]:
    return write_finished


def live_events(name: str = "like_vgg_adamw-20261123-150005") -> list[dict]:
    """A run in epoch 6 of 30, 55% through it, best at epoch 4 and patience running out."""
    cfg = config_for("like_vgg_adamw", QUICKDRAW_20, synthetic=False, epochs=30)
    rows = curves(5, best=4, top=0.6011, seed=5)
    evs = events_for(name, cfg, rows, patience=7, day=23, end=None)
    evs.append(
        checked(
            events.Batch(
                time=stamp(23, 10, 6, 10),
                run=name,
                epoch=6,
                step=22,
                steps=40,
                metrics={"loss": 0.8123, "accuracy": 0.7345},
            )
        )
    )
    return evs


def typed(evs: list[dict]) -> list[events.Event]:
    """The events as the runner hands them to the app."""
    out = [events.parse(e) for e in evs]
    return [e for e in out if e is not None]


async def settle(pilot, timeout: float = 60.0) -> None:
    """Wait until every change posted so far has reached the screen in front."""
    app = pilot.app
    await pilot.pause()
    await wait_for(pilot, lambda: not app.updates_pending, timeout, "the screens to be told of the changes")
    await pilot.pause()


async def wait_for(pilot, condition: Callable[[], Any], timeout: float = 120.0, what: str = "condition") -> None:
    """Poll ``condition`` while the app runs; generous, since a child needs 10-20 s on two cores."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.05)


def text_of(widget) -> str:
    """What a Static shows, as plain text."""
    return str(widget.render())


def run_async(coro) -> Any:
    """pytest-asyncio is not a dependency; each pilot test runs its own event loop."""
    return asyncio.run(coro)


@pytest.fixture
def helpers():
    """The module's helpers, for test modules (importlib mode cannot import a conftest)."""
    import types

    return types.SimpleNamespace(
        wait_for=wait_for,
        run_async=run_async,
        text_of=text_of,
        live_events=live_events,
        typed=typed,
        settle=settle,
        checked=checked,
        write_finished=write_finished,
        config_for=config_for,
        events_for=events_for,
        write_folder=write_folder,
        curves=curves,
        QUICKDRAW_20=QUICKDRAW_20,
        fake_classifier_argv=fake_classifier_argv,
        circle_points=circle_points,
        draw=draw,
    )


# -- the compare screen's runs ---------------------------------------------------

#: (recipe, seed, max_per_class, top val_acc, epochs, best epoch) of ten fixed runs.
TEN = [
    ("like_vgg_adamw", 0, 150, 0.6318, 12, 7),
    ("like_vgg", 0, 150, 0.6021, 9, 5),
    ("baseline", 0, 150, 0.4120, 10, 10),
    ("like_vgg_rmsprop", 0, 150, 0.5902, 8, 6),
    ("ai_inno_cnn", 1, 150, 0.5711, 11, 9),
    ("ts_cnn", 0, 300, 0.5233, 7, 7),
    ("like_vgg_focal", 0, 150, 0.5844, 10, 4),
    ("like_vgg_adamw", 1, 150, 0.6240, 12, 8),
    ("like_vgg_adamw", 2, 150, 0.6189, 6, 6),
    ("like_vgg", 1, 300, 0.6102, 9, 7),
]


def write_run(
    runs_dir: Path,
    index: int,
    *,
    recipe: str,
    seed: int,
    max_per_class: int,
    top: float,
    epochs: int,
    best: int,
    ended: bool = True,
    extra: dict[str, Any] | None = None,
) -> Path:
    """One run folder, named after its recipe and a fixed day; ``ended=False`` leaves it without an end."""
    name = f"{recipe}-202611{index + 1:02d}-100005"
    config = config_for(recipe, QUICKDRAW_20, synthetic=False, epochs=30, max_per_class=max_per_class)
    config["data"]["seed"] = seed
    config.update(extra or {})
    rows = curves(epochs, best=best, top=top, seed=index)
    end = (
        {
            "reason": "early_stopped",
            "best_epoch": best,
            "best_val_accuracy": top,
            "test_accuracy": round(top - 0.01, 4),
            "seconds": 60.0 + 10 * index,
        }
        if ended
        else None
    )
    evs = events_for(name, config, rows, patience=7, day=index + 1, end=end)
    files = {}
    if ended:
        files["eval_dot_json"] = {
            "criterion": {"best_val_accuracy": top, "best_epoch": best},
            "test": {"accuracy": round(top - 0.01, 4), "top3_accuracy": round(top + 0.17, 4), "samples": 300},
            "epochs_run": epochs,
            "train_seconds": 60.0 + 10 * index,
        }
    return write_folder(runs_dir, name, config, evs, **files)


def write_ten(runs_dir: Path, count: int = 10) -> list[Path]:
    return [
        write_run(runs_dir, i, recipe=r, seed=s, max_per_class=m, top=t, epochs=e, best=b)
        for i, (r, s, m, t, e, b) in enumerate(TEN[:count])
    ]


@pytest.fixture
def compare_runs():
    """Writers of runs whose settings differ in known ways (the compare screen's tests)."""
    import types

    return types.SimpleNamespace(TEN=TEN, write_run=write_run, write_ten=write_ten)
