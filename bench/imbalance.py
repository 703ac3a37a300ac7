"""The class-imbalance study: does the imbalance hurt, and which remedy helps (docs/results/imbalance.md).

Usage: python bench/imbalance.py [--data ../shared/quickdraw/bitmap] [--out runs/imbalance]
                                 [--seeds 0 1] [--epochs 12] [--resnet-epochs N] [--rows NAME,...]
                                 [--nice 10] [--jobs 2] [--results bench/results/imbalance.jsonl]
       python bench/imbalance.py --report [--figure docs/img/imbalance-recall.png]

Rows: a remedy on a dataset at a seed, each an ordinary ``kerasketch run`` in its own folder
(``OUT/runs/<row>-<UTC>/``) started as a child process:

  datasets  real   the 37 real classes as they are (496 to 5,950 drawings, an imbalance of 12)
            lt100  a long-tailed copy of them: the classes in order of size keep
                   round(TOP * 100 ** (-rank / 36)) drawings, TOP to TOP / 100 (an imbalance of
                   exactly 100), drawn with a fixed seed; the drawings it leaves out give a balanced
                   held-out set (the same number of every class), on which each lt100 run is scored too
  remedies  ce, focal (the log's sigmoid focal loss), softmax_focal (Keras' CategoricalFocalCrossentropy),
            class_weight (balanced), sampler (balanced), logit_adjust (tau 1)

on like_vgg_adamw (its epochs capped by ``--epochs``: its own 100 with patience 7 would run for hours
here), then sketch_resnet (its own 20 epochs, or ``--resnet-epochs``) with cross-entropy and with the
remedy named by ``--best`` on the real classes. The study is resumable and trains ``--jobs`` rows at once
(``bench/rowrun.py``); each finished row's line goes to ``--results``, a file in the repository that a
study spanning several machines commits as it goes. ``--report`` prints the table of every finished row
and draws per-class recall against class size.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from rowrun import Row, mean_spread, read_results, run_rows

REMEDIES: dict[str, list[str]] = {
    "ce": [],
    "focal": ["--loss", "focal"],
    "softmax_focal": ["--loss", "softmax_focal"],
    "class_weight": ["--class-weight", "balanced"],
    "sampler": ["--sampler", "balanced"],
    "logit_adjust": ["--logit-adjust", "1"],
}
#: The long-tailed copy: its largest class keeps TOP drawings, its smallest TOP / IMBALANCE.
TOP, IMBALANCE, COPY_SEED = 4000, 100, 20261207
#: Where finished rows are kept: in the repository, beside the page they feed (bench/rowrun.py says why).
RESULTS = Path(__file__).resolve().parent / "results" / "imbalance.jsonl"
#: Drawings of each class in the balanced held-out set (every class has at least this many left over).
HELD_OUT = 400


#: sketch_resnet as its rows ran, before the recipe recomputed its BatchNorm statistics (precise_bn): a row
#: run again measures what the finished ones did, and with the same config resumes as they would have.
BEFORE_PRECISE_BN = ("--set", "precise_bn=false")


def row_fields(seeds: list[int], best: str) -> list[dict[str, Any]]:
    """Every row in the order it runs: the long-tailed copy first (the strongest test of a remedy and
    the cheapest), seed by seed, then the real classes, then sketch_resnet."""
    out = []
    for seed in seeds:
        for dataset in ("lt100", "real"):
            for remedy in REMEDIES:
                out.append({"recipe": "like_vgg_adamw", "dataset": dataset, "remedy": remedy, "seed": seed})
    for seed in seeds:
        for remedy in dict.fromkeys(["ce", best]):
            out.append({"recipe": "sketch_resnet", "dataset": "real", "remedy": remedy, "seed": seed})
    # Interleave so that both seeds of the like_vgg_adamw rows finish before sketch_resnet starts.
    order = {"lt100": 0, "real": 1}
    return sorted(out, key=lambda r: (r["recipe"] != "like_vgg_adamw", order[r["dataset"]], r["seed"]))


def row_id(row: dict[str, Any]) -> str:
    return f"{row['recipe']}.{row['dataset']}.{row['remedy']}.s{row['seed']}"


def long_tailed_counts(sizes: dict[str, int]) -> dict[str, int]:
    """Drawings each class keeps: the largest class TOP, falling geometrically to TOP / IMBALANCE."""
    ranked = sorted(sizes, key=lambda name: (-sizes[name], name))
    last = len(ranked) - 1
    counts = {name: round(TOP * IMBALANCE ** (-rank / last)) for rank, name in enumerate(ranked)}
    short = [name for name in ranked if counts[name] + HELD_OUT > sizes[name]]
    if short:
        raise SystemExit(f"error: {', '.join(short)} have too few drawings for the copy and the held-out set")
    return counts


def make_copies(data: Path, out: Path) -> tuple[Path, Path]:
    """The long-tailed copy and the balanced held-out set, written once as .npy files (and their counts)."""
    copy, held = out / "lt100", out / "lt100-heldout"
    manifest = out / "lt100.json"
    if manifest.exists():
        return copy, held
    files = sorted(data.glob("*.npy"))
    if not files:
        raise SystemExit(f"error: no .npy bitmaps in {data}; point --data at the official 28x28 bitmaps")
    sizes = {f.stem: int(np.load(f, mmap_mode="r").shape[0]) for f in files}
    counts = long_tailed_counts(sizes)
    for folder in (copy, held):
        folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(COPY_SEED)
    for f in files:
        images = np.load(f)
        order = rng.permutation(len(images))
        n = counts[f.stem]
        np.save(copy / f.name, images[order[:n]])
        np.save(held / f.name, images[order[n : n + HELD_OUT]])
    record = {
        "source": str(data),
        "seed": COPY_SEED,
        "counts": counts,
        "imbalance": max(counts.values()) / min(counts.values()),
        "held_out_per_class": HELD_OUT,
        "drawings": sum(counts.values()),
    }
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(manifest)
    return copy, held


def held_out_scores(folder: Path, held: Path, train_counts: dict[str, int]) -> dict[str, Any]:
    """The run's best model on the balanced held-out set: accuracy, balanced accuracy, per-class recall."""
    from kerasketch.inference.model import load_trained
    from kerasketch.training import class_evidence
    from kerasketch.training.evaluate import Tally

    trained = load_trained(folder)
    tally = Tally(len(trained.classes))
    for i, name in enumerate(trained.classes):
        images = np.load(held / f"{name}.npy").reshape(-1, 28, 28)
        tally.add(trained.logits(images), np.full(len(images), i))
    result = tally.result()
    support = tally.true_counts
    recall = class_evidence.per_class_scores(result["confusion"], support)["recall"]
    sizes = np.array([train_counts[name] for name in trained.classes])
    smallest, names = class_evidence.smallest_recall(recall, support, sizes, trained.classes)
    rank = class_evidence.spearman_with_interval(sizes, recall, seed=0)
    return {
        "accuracy": result["accuracy"],
        "macro_f1": result["macro_f1"],
        "balanced_accuracy": class_evidence.balanced_accuracy(recall, support),
        "smallest_recall": smallest,
        "smallest_classes": names,
        "spearman": rank,
        "recall": dict(zip(trained.classes, map(float, recall), strict=True)),
    }


def result_of(row: Row, folder: Path, held: Path, lt_counts: dict[str, int]) -> dict[str, Any]:
    evaluation = json.loads((folder / "eval.json").read_text())
    test, imbalance = evaluation["test"], evaluation["imbalance"]
    out = {
        "best_val_accuracy": evaluation["criterion"]["best_val_accuracy"],
        "epochs_run": evaluation["epochs_run"],
        "minutes": round(evaluation["train_seconds"] / 60, 1),
        "test": {
            "accuracy": test["accuracy"],
            "macro_f1": test["macro_f1"],
            "balanced_accuracy": test["balanced_accuracy"],
            "smallest_recall": imbalance["smallest_recall"],
            "smallest_classes": imbalance["smallest_classes"],
            "spearman": [
                imbalance["spearman_size_vs_recall"],
                imbalance["spearman_ci95_low"],
                imbalance["spearman_ci95_high"],
            ],
            "recall": {c["class"]: c["recall"] for c in evaluation["per_class"]},
            "train_count": {c["class"]: c["train_count"] for c in evaluation["per_class"]},
        },
    }
    if row.fields["dataset"] == "lt100":
        out["held_out"] = held_out_scores(folder, held, lt_counts)
    return out


def study(args: argparse.Namespace) -> int:
    out: Path = args.out
    copy, held = make_copies(args.data, out)
    lt_counts = json.loads((out / "lt100.json").read_text())["counts"]
    rows = []
    for fields in row_fields(args.seeds, args.best):
        if args.rows and row_id(fields) not in args.rows:
            continue
        data = copy if fields["dataset"] == "lt100" else args.data
        argv = [
            fields["recipe"],
            "--data",
            str(data),
            "--seed",
            str(fields["seed"]),
            "--cache-dir",
            str(args.cache_dir),
        ]
        cap = args.epochs if fields["recipe"] == "like_vgg_adamw" else args.resnet_epochs
        if cap is not None:
            argv += ["--epochs", str(cap)]
        if fields["recipe"] == "sketch_resnet":
            argv += list(BEFORE_PRECISE_BN)
        rows.append(Row(row_id(fields), (*argv, *REMEDIES[fields["remedy"]]), {**fields, "epochs_cap": cap}))
    run_rows(
        rows,
        out=out,
        results=args.results,
        jobs=args.jobs,
        nice=args.nice,
        score=lambda row, folder: result_of(row, folder, held, lt_counts),
    )
    return 0


def report(args: argparse.Namespace) -> int:
    done = read_results(args.results)
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in done:
        groups.setdefault((r["recipe"], r["dataset"], r["remedy"]), []).append(r)
    print(
        "| recipe | data | remedy | seeds | test acc | balanced acc | macro-F1 | smallest-5 recall "
        "| rho (size, recall) | held-out balanced acc | held-out smallest-5 | held-out rho |"
    )
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (recipe, dataset, remedy), group in groups.items():
        tests = [g["test"] for g in group]
        held = [g["held_out"] for g in group if "held_out" in g]
        cells = [
            recipe,
            dataset,
            remedy,
            ",".join(str(g["seed"]) for g in group),
            mean_spread([t["accuracy"] for t in tests]),
            mean_spread([t["balanced_accuracy"] for t in tests]),
            mean_spread([t["macro_f1"] for t in tests]),
            mean_spread([t["smallest_recall"] for t in tests]),
            mean_spread([t["spearman"][0] for t in tests if t["spearman"][0] is not None]),
            mean_spread([h["balanced_accuracy"] for h in held]),
            mean_spread([h["smallest_recall"] for h in held]),
            mean_spread([h["spearman"]["rho"] for h in held if h["spearman"]["rho"] is not None]),
        ]
        print("| " + " | ".join(cells) + " |")
    if args.figure:
        figure(done, args.figure)
    return 0


#: Classes per point of the figure: 37 classes in order of size make 6 groups of 6 (the last of 7).
FIGURE_GROUP = 6


def figure(done: list[dict[str, Any]], path: Path) -> None:
    """Recall against class size for each remedy (like_vgg_adamw, seeds averaged), a dataset per panel.

    Classes in order of training drawings are taken in groups of :data:`FIGURE_GROUP` and each group drawn
    as one point (its mean recall at its median size): one class's recall moves by several points from
    seed to seed, a group's much less, so the remedies' lines can be told apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = [r for r in done if r["recipe"] == "like_vgg_adamw"]
    if not drawn:
        # An empty figure would overwrite the page's with nothing: say so and leave the file as it is.
        print(f"no like_vgg_adamw rows in the results: {path} is left as it is")
        return
    datasets = [d for d in ("real", "lt100") if any(r["dataset"] == d for r in drawn)]
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4.5), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        chosen = [r for r in drawn if r["dataset"] == dataset]
        for remedy in REMEDIES:
            group = [r for r in chosen if r["remedy"] == remedy]
            if not group:
                continue
            counts = group[0]["test"]["train_count"]
            scored = [r["held_out"]["recall"] if dataset == "lt100" else r["test"]["recall"] for r in group]
            names = sorted(counts, key=counts.get)
            starts = list(range(0, len(names) - FIGURE_GROUP + 1, FIGURE_GROUP))
            bins = [names[i : i + FIGURE_GROUP] if i != starts[-1] else names[i:] for i in starts]
            ax.plot(
                [float(np.median([counts[n] for n in b])) for b in bins],
                [float(np.mean([s[n] for s in scored for n in b])) for b in bins],
                marker="o",
                linewidth=2.5 if remedy == "ce" else 1.2,
                color="black" if remedy == "ce" else None,
                label=f"{remedy} ({len(group)} seed{'s' if len(group) > 1 else ''})",
            )
        ax.set_xscale("log")
        ax.set_xlabel(f"training drawings of the class (median of each group of {FIGURE_GROUP} classes)")
        ax.set_ylabel("mean recall" + (" (balanced held-out set)" if dataset == "lt100" else " (test split)"))
        ax.set_title(f"like_vgg_adamw, {'37 real classes (12)' if dataset == 'real' else 'long-tailed copy (100)'}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("../shared/quickdraw/bitmap"))
    p.add_argument("--out", type=Path, default=Path("runs/imbalance"))
    p.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--epochs", type=int, default=12, help="like_vgg_adamw's epoch cap (the page says so)")
    p.add_argument(
        "--resnet-epochs", type=int, help="sketch_resnet's epoch cap (default none: its own 20; the page says so)"
    )
    p.add_argument("--results", type=Path, default=RESULTS, help=f"the finished rows' lines (default {RESULTS})")
    p.add_argument("--best", default="logit_adjust", choices=REMEDIES, help="the remedy sketch_resnet is run with")
    p.add_argument("--rows", type=lambda s: set(s.split(",")), help="only these row ids (see the log)")
    p.add_argument("--nice", type=int, default=10, help="the training processes' niceness (default 10)")
    p.add_argument("--jobs", type=int, default=1, help="rows trained at once, the cores shared out (default 1)")
    p.add_argument("--report", action="store_true", help="print the table of finished rows instead of running")
    p.add_argument("--figure", type=Path, help="with --report: also draw per-class recall against class size here")
    args = p.parse_args(argv)
    args.data, args.out, args.cache_dir = args.data.resolve(), args.out.resolve(), args.cache_dir.resolve()
    return report(args) if args.report else study(args)


if __name__ == "__main__":
    sys.exit(main())
