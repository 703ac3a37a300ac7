"""The report's HTML pages: self-contained (inline style, no script, nothing fetched from the network).

A run's page shows its figures, its evaluation and its configuration, and
refers only to the files written beside it; the index page of several runs
refers only to files in its own folder and its runs' sub-folders.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from ..training import datakey
from ..wording import plural
from .figures import SIZES
from .run_data import RunData

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1040px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { padding: 0.2em 0.7em; border-bottom: 1px solid #eee; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
.note { color: #666; font-size: 0.9em; }
"""


def run_page(run: RunData, figures: Sequence[str], data_files: Sequence[str]) -> str:
    """The page of one run; ``figures`` are the stems written beside it, ``data_files`` the other files."""
    ev = run.evaluation
    parts = [f"<h1>{escape(run.name)}</h1>", _summary(run)]
    for stem in figures:
        parts.append(f"<h2>{escape(_FIGURE_TITLES[stem])}</h2>")
        parts.append(_figure(stem))
    if ev is None:
        parts.append(f'<p class="note">No evaluation yet (the run is {escape(run.status)}).</p>')
    else:
        parts.append(_confused_pairs(ev))
        parts.append(_per_class(ev))
    parts.append("<h2>Files</h2><ul>")
    parts += [f'<li><a href="{escape(name)}">{escape(name)}</a></li>' for name in data_files]
    parts.append("</ul>")
    parts.append("<h2>Configuration (config.json)</h2>")
    parts.append(f"<pre>{escape(json.dumps(run.config, indent=2, default=str))}</pre>")
    if ev is not None:
        parts.append("<h2>Evaluation (eval.json)</h2>")
        parts.append(f"<pre>{escape(json.dumps(ev, indent=2, default=str))}</pre>")
    return _document(f"kerasketch report: {run.name}", parts, real_data=not run.synthetic)


def index_page(runs: Sequence[RunData], overlay: str | None) -> str:
    """The page of several runs: their validation curves together, and a line per run linking its page."""
    parts = [f"<h1>kerasketch report: {len(runs)} run{'s' if len(runs) != 1 else ''}</h1>"]
    if overlay is not None:
        parts += ["<h2>Validation curves</h2>", _figure(overlay)]
    groups = datakey.grouped(runs, lambda r: r.config)
    parts.append("<h2>Runs</h2>")
    if len(groups) > 1:
        parts.append(
            f'<p class="note">These runs trained on {len(groups)} different data: their scores compare '
            "only within one data, so each has its own table, its best run first.</p>"
        )
    for key, group in groups:
        if len(groups) > 1:
            parts.append(f"<h3>Data {escape(str(key))}</h3>")
        parts.append(_runs_table(sorted(group, key=_best_score, reverse=True)))
    return _document("kerasketch report", parts, real_data=not all(run.synthetic for run in runs))


def _best_score(run: RunData) -> float:
    best = next((e for e in run.epochs if e["epoch"] == run.best_epoch), {})
    value = best.get("val_accuracy")
    return value if isinstance(value, float) else -1.0


def _runs_table(runs: Sequence[RunData]) -> str:
    rows = []
    for run in runs:
        ev = run.evaluation or {}
        test = ev.get("test", {})
        best = next((e for e in run.epochs if e["epoch"] == run.best_epoch), {})
        rows.append(
            [
                f'<a href="{escape(run.name)}/index.html">{escape(run.name)}</a>',
                escape(run.recipe),
                escape(run.status),
                _num(best.get("val_accuracy")),
                _num(test.get("accuracy")),
                f"{run.best_epoch} / {len(run.epochs)}",
                escape(_data_line(run)),
                escape(datakey.of_config(run.config).key or "-"),
            ]
        )
    return _table(
        ["run", "recipe", "status", "best val_acc", "test acc", "best epoch / epochs", "data", "data key"],
        rows,
        numeric={3, 4, 5},
    )


_FIGURE_TITLES = {
    "curves": "Training curves",
    "confusion": "Confusion matrix (test split)",
    "class_accuracy": "Per-class accuracy against class size",
    "mistakes": "Misclassified test drawings of the most confused pairs",
    "val_curves": "Validation curves",
}


def _figure(stem: str) -> str:
    width, height = SIZES[stem]
    alt = _FIGURE_TITLES[stem]
    return (
        f'<p><a href="{stem}.png"><img src="{stem}.svg" width="{width}" height="{height}" alt="{escape(alt)}"></a>'
        f'<br><span class="note">{stem}.svg, <a href="{stem}.png">{stem}.png</a></span></p>'
    )


def _summary(run: RunData) -> str:
    ev = run.evaluation or {}
    test, imbalance = ev.get("test", {}), ev.get("imbalance", {})
    best = next((e for e in run.epochs if e["epoch"] == run.best_epoch), {})
    recipe = run.config.get("recipe", {})
    original = recipe.get("original") or {}  # null for a recipe of ours
    rows = [
        [
            "recipe",
            escape(
                f"{run.recipe} ({original.get('title', '?')}; the original reached {original.get('val_acc', '?')})"
                if original
                else f"{run.recipe} (ours: no original result)"
            ),
        ],
        ["status", escape(run.status)],
        ["data", escape(_data_line(run))],
        ["seed", escape(str(run.config.get("data", {}).get("seed", "?")))],
        ["epochs", escape(f"{len(run.epochs)} run, best {run.best_epoch} (of at most {recipe.get('epochs', '?')})")],
        ["best validation accuracy", _num(best.get("val_accuracy"))],
        ["test accuracy", _num(test.get("accuracy"))],
        ["test top-3 accuracy", _num(test.get("top3_accuracy"))],
        ["test macro-F1", _num(test.get("macro_f1"))],
        ["test balanced accuracy (mean recall)", _num(test.get("balanced_accuracy"))],
        ["test drawings", escape(f"{test['samples']:,}") if isinstance(test.get("samples"), int) else "-"],
        ["imbalance (largest / smallest class)", _num(imbalance.get("ratio"), 1)],
        ["Spearman ρ, class size against accuracy", _num(imbalance.get("spearman_size_vs_accuracy"), 2)],
        ["Spearman ρ, class size against recall (95% bootstrap interval)", _rho_interval(imbalance)],
        [
            "recall of the smallest classes",
            escape(
                f"{imbalance['smallest_recall']:.4f} ({', '.join(imbalance.get('smallest_classes') or [])})"
                if isinstance(imbalance.get("smallest_recall"), int | float)
                else "-"
            ),
        ],
        [
            "training time",
            escape(f"{ev['train_seconds'] / 60:.1f} min") if isinstance(ev.get("train_seconds"), int | float) else "-",
        ],
    ]
    return _table(["", ""], rows, numeric=set(), header=False)


def _confused_pairs(ev: dict[str, Any]) -> str:
    pairs = ev.get("most_confused") or []
    if not pairs:
        return ""
    rows = [
        [escape(str(p.get("true"))), escape(str(p.get("predicted"))), escape(str(p.get("count"))), _pct(p.get("share"))]
        for p in pairs
    ]
    return "<h2>Most confused pairs</h2>" + _table(
        ["true class", "taken for", "test drawings", "share of the true class"], rows, numeric={2, 3}
    )


def _rho_interval(imbalance: dict[str, Any]) -> str:
    rho, low, high = (imbalance.get(k) for k in ("spearman_size_vs_recall", "spearman_ci95_low", "spearman_ci95_high"))
    if not isinstance(rho, int | float):
        return "-"
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        return _num(rho, 2)
    return escape(f"{rho:.2f} [{low:.2f}, {high:.2f}], {imbalance.get('bootstrap_resamples')} resamples of the classes")


def _per_class(ev: dict[str, Any]) -> str:
    per_class = sorted(ev.get("per_class") or [], key=lambda r: (r.get("accuracy") is None, r.get("accuracy") or 0))
    # Precision, recall and F1 came later (issue 36): an older eval.json shows accuracy alone.
    scored = any("f1" in r for r in per_class)
    rows = [
        [
            escape(str(r.get("class"))),
            escape(f"{r.get('train_count', 0):,}"),
            escape(str(r.get("test_support"))),
            _num(r.get("accuracy")),
            *((_num(r.get("precision")), _num(r.get("f1"))) if scored else ()),
        ]
        for r in per_class
    ]
    headers = ["class", "training drawings", "test drawings", "test accuracy (recall)" if scored else "test accuracy"]
    if scored:
        headers += ["precision", "F1"]
    return "<h2>Per-class accuracy (least accurate first)</h2>" + _table(
        headers, rows, numeric=set(range(1, len(headers)))
    )


def _data_line(run: RunData) -> str:
    ds = run.config.get("dataset", {})
    total = ds.get("total")
    classes = ds.get("num_classes")
    counted = plural(classes, "class", "classes") if isinstance(classes, int) else "? classes"
    line = f"{counted}, {plural(total, 'drawing')}" if isinstance(total, int) else "?"
    return (
        line + (f" from {ds['source']}" if ds.get("source") else "") + (" (SYNTHETIC)" if ds.get("synthetic") else "")
    )


def _num(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else "-"


def _table(head: list[str], rows: list[list[str]], *, numeric: set[int], header: bool = True) -> str:
    """A table of cells already escaped."""
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>")
    for row in rows:
        out.append(
            "<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def _document(title: str, parts: list[str], *, real_data: bool) -> str:
    body = "\n".join(p for p in parts if p)
    credit = " Results on Quick, Draw! drawings: Quick, Draw! dataset, Google, CC BY 4.0." if real_data else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n"
        f'<p class="note">Made by <code>kerasketch report</code>.{credit}</p>\n</body>\n</html>\n'
    )
