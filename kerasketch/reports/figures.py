"""The report's figures, drawn with matplotlib's object API and saved as PNG and SVG.

Every figure has a fixed size in pixels (:data:`SIZES`): the HTML page gives
its images their size, and the tests check it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .confusion_order import confusion_order, row_shares
from .files import replacing
from .run_data import RunData

DPI = 100
#: (width, height) in pixels of each figure, by file stem.
SIZES: dict[str, tuple[int, int]] = {
    "curves": (1000, 400),
    "confusion": (900, 800),
    "class_accuracy": (800, 550),
    "mistakes": (1000, 800),
    "val_curves": (1000, 400),
}
#: At most this many class names along each side of the confusion matrix; beyond it every k-th is named.
MAX_CONFUSION_LABELS = 40
#: At most this many classes named on the accuracy-against-size figure (the least accurate ones).
MAX_POINT_LABELS = 40

TRAIN, VAL, BEST = "#1f77b4", "#d62728", "#2ca02c"


def _figure(stem: str) -> Figure:
    width, height = SIZES[stem]
    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")


def save(fig: Figure, folder: Path, stem: str) -> list[Path]:
    """``stem.png`` and ``stem.svg`` in ``folder``, each written beside and renamed."""
    written = []
    # Text stays text in the SVG (searchable, smaller); a fixed hash salt and no date make it reproducible.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": stem}):
        for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
            path = folder / f"{stem}.{fmt}"
            with replacing(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata)
            written.append(path)
    return written


def training_curves(run: RunData) -> Figure:
    """Loss and accuracy per epoch, training and validation, with the best epoch marked."""
    fig = _figure("curves")
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = [e["epoch"] for e in run.epochs]
    for ax, metric, label in ((loss_ax, "loss", "loss"), (acc_ax, "accuracy", "accuracy")):
        _line(ax, epochs, [e[metric] for e in run.epochs], "training", TRAIN)
        _line(ax, epochs, [e[f"val_{metric}"] for e in run.epochs], "validation", VAL)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        _integer_epochs(ax, epochs)
    if run.best_epoch is not None:
        best = next((e for e in run.epochs if e["epoch"] == run.best_epoch), None)
        for ax in (loss_ax, acc_ax):
            ax.axvline(run.best_epoch, color=BEST, linestyle="--", linewidth=1, label=f"best epoch ({run.best_epoch})")
        if best is not None and best["val_accuracy"] is not None:
            acc_ax.plot([run.best_epoch], [best["val_accuracy"]], "o", color=BEST)
            acc_ax.annotate(
                f"{best['val_accuracy']:.4f}",
                (run.best_epoch, best["val_accuracy"]),
                textcoords="offset points",
                xytext=(6, -14),
                color=BEST,
            )
    loss_ax.legend(loc="upper right", fontsize=8)
    acc_ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"{run.name}: training curves", fontsize=11)
    return fig


def confusion_matrix(run: RunData) -> Figure:
    """The test confusion matrix as shares of each true class, classes ordered by confusion."""
    if run.confusion is None:
        raise ValueError(f"{run.name} has no confusion matrix")
    names, matrix = run.confusion
    order = confusion_order(matrix)
    shares = row_shares(np.asarray(matrix, dtype=float))[np.ix_(order, order)]
    ordered = [names[i] for i in order]
    n = len(ordered)
    step = max(1, math.ceil(n / MAX_CONFUSION_LABELS))

    fig = _figure("confusion")
    ax = fig.subplots()
    # A square-root scale: the diagonal holds most of each row, the confusions are the small cells.
    image = ax.imshow(shares, cmap="viridis", norm=PowerNorm(gamma=0.5, vmin=0, vmax=1), interpolation="nearest")
    ticks = list(range(0, n, step))
    size = 7 if len(ticks) <= 30 else 6
    ax.set_xticks(ticks, [ordered[i] for i in ticks], rotation=90, fontsize=size)
    ax.set_yticks(ticks, [ordered[i] for i in ticks], fontsize=size)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class's test drawings")
    note = "classes ordered by hierarchical clustering of their confusion"
    if step > 1:
        note += f"; every {_ordinal(step)} class labelled"
    ax.set_title(f"{run.name}: test confusion, {n} classes\n{note}", fontsize=10)
    return fig


#: Classes whose sizes differ by less than this ratio are balanced: a size axis would only spread their
#: rounding (397 to 400 drawings), so the figure shows their accuracies sorted instead.
BALANCED_RATIO = 1.1


def class_accuracy(run: RunData) -> Figure:
    """Per-class test accuracy against the class's training size, with Spearman's rho on the figure;
    for balanced classes (:data:`BALANCED_RATIO`), each class's accuracy, sorted."""
    evaluation = run.evaluation or {}
    rows = [r for r in evaluation.get("per_class", []) if r.get("accuracy") is not None]
    sizes = np.array([r["train_count"] for r in rows], dtype=float)
    accuracy = np.array([r["accuracy"] for r in rows], dtype=float)
    if len(sizes) and sizes.max() < BALANCED_RATIO * max(sizes.min(), 1):
        return _sorted_accuracy(run, rows, accuracy, sizes)

    fig = _figure("class_accuracy")
    ax = fig.subplots()
    ax.scatter(sizes, accuracy, s=22, color=TRAIN, alpha=0.8)
    if len(sizes) and sizes.max() > 3 * max(sizes.min(), 1):
        ax.set_xscale("log")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # drawings are counted, never fractional
    named = np.argsort(accuracy, kind="stable")[:MAX_POINT_LABELS]
    for i in named:
        ax.annotate(
            rows[i]["class"], (sizes[i], accuracy[i]), textcoords="offset points", xytext=(4, 2), fontsize=6, alpha=0.8
        )
    ax.set_xlabel("training drawings of the class")
    ax.set_ylabel("test accuracy of the class")
    ax.set_ylim(min(0.0, float(accuracy.min()) if len(accuracy) else 0.0) - 0.02, 1.02)
    ax.grid(alpha=0.3)
    _state_size_effect(ax, evaluation)
    unnamed = len(rows) - len(named)
    title = f"{run.name}: does class size matter? ({len(rows)} classes"
    title += f"; the {len(named)} least accurate named)" if unnamed > 0 else ")"
    ax.set_title(title, fontsize=10)
    return fig


def _state_size_effect(ax, evaluation: dict[str, Any], *, top: bool = False) -> None:
    """Spearman's rho between class size and accuracy, and the imbalance, in a box in a corner that the
    data leaves free (bottom left of the scatter, top left of the sorted bars)."""
    imbalance = evaluation.get("imbalance", {})
    rho = imbalance.get("spearman_size_vs_accuracy")
    if isinstance(rho, int | float):
        stated = f"Spearman ρ = {rho:.2f} (class size against accuracy)"
    else:
        stated = "Spearman ρ undefined (the classes have the same size, or too few have an accuracy)"
    ratio = imbalance.get("ratio")
    if isinstance(ratio, int | float):
        stated += f"\nimbalance: largest / smallest class = {ratio:.1f}"
    ax.text(
        0.02,
        0.97 if top else 0.03,
        stated,
        transform=ax.transAxes,
        fontsize=9,
        va="top" if top else "bottom",
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85},
    )


def _sorted_accuracy(run: RunData, rows: list[dict], accuracy: np.ndarray, sizes: np.ndarray) -> Figure:
    """Balanced classes: one bar per class, least accurate first, every class named where they fit."""
    order = np.argsort(accuracy, kind="stable")
    n = len(order)
    step = max(1, math.ceil(n / MAX_CONFUSION_LABELS))
    fig = _figure("class_accuracy")
    ax = fig.subplots()
    ax.bar(np.arange(n), accuracy[order], color=TRAIN, alpha=0.8, width=0.8)
    ticks = list(range(0, n, step))
    ax.set_xticks(ticks, [rows[order[i]]["class"] for i in ticks], rotation=90, fontsize=7 if n <= 30 else 6)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel("test accuracy of the class")
    ax.grid(alpha=0.3, axis="y")
    _state_size_effect(ax, run.evaluation or {}, top=True)
    low, high = int(sizes.min()), int(sizes.max())
    each = f"{low:,}" if low == high else f"{low:,} to {high:,}"
    title = f"{run.name}: test accuracy per class, least accurate first\n{n} balanced classes ({each} training drawings each"
    title += f"; every {_ordinal(step)} class named)" if step > 1 else ")"
    ax.set_title(title, fontsize=10)
    return fig


def mistakes(run: RunData) -> Figure:
    """The test drawings of the most confused pairs: a row per (true, predicted) pair, the most
    confidently wrong first, each with the probability the model gave its wrong answer."""
    if run.mistakes is None:
        raise ValueError(f"{run.name} has no recorded mistakes")
    m = run.mistakes
    names = [str(n) for n in m["class_names"]]
    pairs = m["pairs"].reshape(-1, 2)
    per_row = max(1, int(np.bincount(m["pair"]).max())) if len(m["pair"]) else 1
    fig = _figure("mistakes")
    rows = max(1, len(pairs))
    grid = fig.subplots(rows, per_row + 1, squeeze=False, gridspec_kw={"width_ratios": [2.2] + [1] * per_row})
    for k in range(rows):
        label_ax = grid[k][0]
        label_ax.axis("off")
        if k < len(pairs):
            t, p = (names[int(i)] for i in pairs[k])
            count = int(m["pair_counts"][k]) if k < len(m["pair_counts"]) else 0
            label_ax.text(
                1.0, 0.5, f"{t}\ntaken for\n{p}\n({count} in the test split)", ha="right", va="center", fontsize=8
            )
        shown = np.flatnonzero(m["pair"] == k)
        for j in range(per_row):
            ax = grid[k][j + 1]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(shown):
                i = shown[j]
                ax.imshow(m["images"][i], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
                ax.set_title(f"{float(m['confidence'][i]):.2f}", fontsize=7, pad=2)
            else:
                ax.axis("off")
    fig.suptitle(
        f"{run.name}: the most confused pairs' test drawings, most confidently wrong first "
        "(above each: the probability given to the wrong class)",
        fontsize=10,
    )
    return fig


def validation_overlay(runs: Sequence[RunData]) -> Figure:
    """Validation loss and accuracy of several runs on shared axes, each run's best epoch marked."""
    fig = _figure("val_curves")
    loss_ax, acc_ax = fig.subplots(1, 2)
    colors = matplotlib.colormaps["tab10"]
    all_epochs: list[int] = []
    for k, run in enumerate(runs):
        color = colors(k % 10)
        epochs = [e["epoch"] for e in run.epochs]
        all_epochs += epochs
        for ax, metric in ((loss_ax, "val_loss"), (acc_ax, "val_accuracy")):
            _line(ax, epochs, [e[metric] for e in run.epochs], run.name, color)
            best = next((e for e in run.epochs if e["epoch"] == run.best_epoch), None)
            if best is not None and best[metric] is not None:
                ax.plot([run.best_epoch], [best[metric]], "o", color=color)
    for ax, label in ((loss_ax, "validation loss"), (acc_ax, "validation accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        _integer_epochs(ax, all_epochs)
    acc_ax.legend(loc="lower right", fontsize=7)
    fig.suptitle(f"validation curves of {len(runs)} runs (dots: each run's best epoch)", fontsize=11)
    return fig


def _line(ax: Any, x: list[int], y: list[float | None], label: str, color: Any) -> None:
    # A missing value (a diverged loss is recorded as null) is a gap in the line, not a zero.
    values = [math.nan if v is None else v for v in y]
    ax.plot(x, values, marker="." if len(x) < 40 else None, label=label, color=color)


def _integer_epochs(ax: Any, epochs: list[int]) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(set(epochs)) == 1:
        ax.set_xlim(epochs[0] - 1, epochs[0] + 1)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
