"""Past 0.92: sketch_resnet with a moving average of its weights, mixed batches, test-time augmentation
and ensembles, each measured with 2 seeds on the 37 real classes (docs/results/ablation.md).

Usage: python bench/beyond.py [--data ../shared/quickdraw/bitmap] [--out runs/beyond] [--seeds 0 1]
                              [--variants NAME,...] [--resnet-epochs N] [--init-seed N] [--jobs 2]
                              [--reuse runs/imbalance/runs] [--results bench/results/beyond.jsonl]
       python bench/beyond.py --report [--ensemble sketch_resnet,ema,mix] [--adjust -1,-0.5,0,0.5,1]

Rows: a variant at a seed, each ``kerasketch run sketch_resnet`` with the variant's options, over the
recipe's own epochs or ``--resnet-epochs`` (``bench/rowrun.py``: resumable, ``--jobs`` rows at once), with
the recipe as the rows first ran (``--set precise_bn=false``; the recipe recomputes its BatchNorm
statistics since, which ``bf16_precise_bn`` asks for itself):

  sketch_resnet  the recipe as it is
  logit_adjust   --logit-adjust 1
  ema            --ema --ema-momentum 0.999 (an average over about the last thousand steps, an epoch;
                 Keras' default 0.99 averages a tenth of one)
  mix            --mixup 0.2 --cutmix 1 --mix-prob 0.5 (half the batches mixed, each MixUp or CutMix)
  ema_mix        both
  bf16_precise_bn  --precision mixed_bfloat16 --precise-bn (with --resnet-epochs sized to 2 hours: the
                 single-model target)

``--init-seed N`` trains the rows with ``kerasketch run --init-seed N``: another initialisation, augmentation
and order on the seed's split, so that an ensemble's members differ by more than their options (their ids
and ``--ensemble`` names end in ``.iN``: ``bf16_precise_bn@32.i1``).

The first two are the class-imbalance study's sketch_resnet rows (``bench/imbalance.py``, the same
commands): found under ``--reuse``, they are scored rather than trained again.

Each finished row is also evaluated with ``--tta`` (``kerasketch evaluate RUN --tta``), and its test-split
probabilities, plain and with TTA, are kept (each drawing's five likeliest classes) in
``bench/results/beyond/<row>.npz`` beside the results file: a study that outlives its machine keeps no run
folders, and an ensemble of rows finished on different machines is scored from these (``--report``: for each seed, the average of the variants named by
``--ensemble``, with and without TTA; members of one seed share their test split, which the files' labels
confirm).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from imbalance import BEFORE_PRECISE_BN
from imbalance import RESULTS as IMBALANCE_RESULTS
from rowrun import Row, mean_spread, read_results, run_rows

from kerasketch.inference import probabilities
from kerasketch.training.class_evidence import balanced_accuracy, smallest_recall
from kerasketch.training.evaluate import scores

#: Where finished rows are kept: in the repository, beside the page they feed (bench/rowrun.py says why).
RESULTS = Path(__file__).resolve().parent / "results" / "beyond.jsonl"
VARIANTS: dict[str, list[str]] = {
    "sketch_resnet": [],
    "logit_adjust": ["--logit-adjust", "1"],
    "ema": ["--ema", "--ema-momentum", "0.999"],
    "mix": ["--mixup", "0.2", "--cutmix", "1", "--mix-prob", "0.5"],
    "ema_mix": ["--ema", "--ema-momentum", "0.999", "--mixup", "0.2", "--cutmix", "1", "--mix-prob", "0.5"],
    # The single-model target's attempt: bfloat16 (faster on a CPU with AVX-512 BF16 or AMX,
    # docs/results/precision.md) buys epochs within its 2 hours; --precise-bn, as the ablation found.
    "bf16_precise_bn": ["--precision", "mixed_bfloat16", "--precise-bn"],
}


#: The variants that are the class-imbalance study's rows: the same ids, so that one run serves both.
IMBALANCE_ROWS = {"sketch_resnet": "ce", "logit_adjust": "logit_adjust"}


#: The variants whose epochs are what is varied (sized to a time budget): their rows' ids carry the cap, so
#: that a longer attempt is a new row rather than the finished one found again.
SIZED_BY_EPOCHS = {"bf16_precise_bn"}


def row_id(variant: str, seed: int, cap: int | None = None, init_seed: int | None = None) -> str:
    epochs = f".e{cap}" if variant in SIZED_BY_EPOCHS and cap else ""
    init = f".i{init_seed}" if init_seed is not None else ""
    return f"sketch_resnet.real.{IMBALANCE_ROWS.get(variant, variant)}{epochs}.s{seed}{init}"


def member(row: dict[str, Any]) -> str:
    """A finished row's name in ``--ensemble``: its variant, with ``@EPOCHS`` for those sized by epochs and
    ``.iN`` for those trained with ``--init-seed N``."""
    cap, init = row.get("epochs_cap"), row.get("init_seed")
    name = f"{row['variant']}@{cap}" if row["variant"] in SIZED_BY_EPOCHS and cap else row["variant"]
    return name if init is None else f"{name}.i{init}"


MEMBER = re.compile(r"(?P<variant>[a-z0-9_]+)(@[0-9]+)?(\.i[0-9]+)?")


def variant_of(name: str) -> str | None:
    """The variant an ``--ensemble`` name names (``bf16_precise_bn@32.i1``: bf16_precise_bn), or None."""
    match = MEMBER.fullmatch(name)
    return match["variant"] if match else None


def kerasketch_json(*args: str) -> dict[str, Any]:
    """One ``kerasketch ... --json`` command's object; its own message and exit status on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "kerasketch", *args, "--json"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"error: kerasketch {' '.join(args)} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


SCALE = 65535.0
#: Classes kept per drawing and view (see :func:`kept`).
TOP = 5


def kept(results: Path) -> Path:
    """The folder of each row's test-split probabilities (plain and with TTA) beside the results file.

    Each drawing keeps its :data:`TOP` likeliest classes and their probabilities (uint16, p * 65535), the
    rest of its probability spread evenly over the other classes when read back (:func:`dense`): whole rows
    compress badly, since label smoothing leaves no probability near 0. docs/results/ablation.md gives the
    sizes and the difference this makes to an ensemble's figures, measured against the exact average. uint16,
    not uint8: a coarser scale tied the classes of uncertain drawings."""
    return results.with_suffix("")


def kept_arrays(p: np.ndarray, view: str) -> dict[str, np.ndarray]:
    classes = np.argsort(-p, axis=1)[:, :TOP]
    top = np.take_along_axis(p, classes, axis=1)
    return {f"{view}_classes": classes.astype(np.uint8), f"{view}_p": np.round(top * SCALE).astype(np.uint16)}


def dense(f: Any, view: str, width: int) -> np.ndarray:
    """A view's probabilities as :func:`kept_arrays` kept them, every class filled in."""
    classes, top = f[f"{view}_classes"].astype(np.int64), f[f"{view}_p"] / SCALE
    rest = np.clip(1.0 - top.sum(axis=1), 0.0, None) / (width - TOP)
    out = np.repeat(rest[:, None], width, axis=1)
    np.put_along_axis(out, classes, top, axis=1)
    return out


def score(row: Row, folder: Path, out: Path, results: Path) -> dict[str, Any]:
    evaluation = json.loads((folder / "eval.json").read_text())
    test = evaluation["test"]
    arrays: dict[str, Any] = {}
    for tta in (False, True):
        local = out / "probabilities" / f"{row.id}{'.tta' if tta else ''}.npz"
        report = kerasketch_json(
            "evaluate", str(folder), *(["--tta"] if tta else []), "--save-probabilities", str(local)
        )
        p, labels, names = probabilities.read(local)
        arrays |= kept_arrays(p, "tta" if tta else "plain") | {
            "labels": labels.astype(np.int16),
            "class_names": np.array(names),
        }
    kept(results).mkdir(parents=True, exist_ok=True)
    np.savez_compressed(kept(results) / f"{row.id}.npz", **arrays)
    return {
        "best_val_accuracy": evaluation["criterion"]["best_val_accuracy"],
        "epochs_run": evaluation["epochs_run"],
        "minutes": round(evaluation["train_seconds"] / 60, 1),
        "test": {k: test[k] for k in ("accuracy", "top3_accuracy", "macro_f1", "balanced_accuracy")}
        | {"smallest_recall": evaluation["imbalance"]["smallest_recall"]}
        | {"train_count": {c["class"]: c["train_count"] for c in evaluation["per_class"]}},
        "tta": {k: report[k] for k in ("accuracy", "top3_accuracy", "macro_f1")},
    }


def study(args: argparse.Namespace) -> int:
    rows = [
        Row(
            row_id(variant, seed, args.resnet_epochs, args.init_seed),
            ("sketch_resnet", "--data", str(args.data), "--seed", str(seed), "--cache-dir", str(args.cache_dir))
            + BEFORE_PRECISE_BN
            + (("--epochs", str(args.resnet_epochs)) if args.resnet_epochs else ())
            + tuple(args.smoke)  # after --resnet-epochs: a smoke test's --epochs wins
            + (("--init-seed", str(args.init_seed)) if args.init_seed is not None else ())
            + tuple(VARIANTS[variant]),
            {"recipe": "sketch_resnet", "variant": variant, "seed": seed, "epochs_cap": args.resnet_epochs}
            | ({"init_seed": args.init_seed} if args.init_seed is not None else {}),
            reuse=args.reuse if variant in IMBALANCE_ROWS and args.init_seed is None else None,
        )
        for seed in args.seeds
        for variant in args.variants
    ]
    run_rows(
        rows,
        out=args.out,
        results=args.results,
        jobs=args.jobs,
        nice=args.nice,
        score=lambda row, folder: score(row, folder, args.out, args.results),
    )
    return 0


def ensembles(args: argparse.Namespace, done: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each seed's ensemble of the ``--ensemble`` variants, with and without TTA, from the kept probabilities."""
    out = []
    for seed in sorted({r["seed"] for r in done}):
        members = {member(r): r for r in done if r["seed"] == seed}
        if not all(v in members for v in args.ensemble):
            continue
        paths = [kept(args.results) / f"{members[v]['id']}.npz" for v in args.ensemble]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise SystemExit(f"error: {', '.join(missing)} missing: score those rows again (delete their lines)")
        files = [np.load(p) for p in paths]
        labels = files[0]["labels"]
        if any(not np.array_equal(f["labels"], labels) for f in files):
            raise SystemExit(f"error: the seed-{seed} members' test splits differ; were they trained on other data?")
        width = len(files[0]["class_names"])
        for tta in (False, True):
            averaged = np.mean([dense(f, "tta" if tta else "plain", width) for f in files], axis=0)
            # log of the average: the logits whose softmax it is (a class all members gave 0 stays last).
            result = scores(np.log(np.maximum(averaged, 1e-12)), labels.astype(np.int64), averaged.shape[1])
            out.append({"seed": seed, "tta": tta} | {k: result[k] for k in ("accuracy", "top3_accuracy", "macro_f1")})
    return out


def train_counts(row: dict[str, Any], imbalance_rows: list[dict[str, Any]]) -> dict[str, int] | None:
    """A row's training drawings per class: its own line's, or (rows scored before lines kept them) the
    imbalance study's line for the same run."""
    if "train_count" in row["test"]:
        return row["test"]["train_count"]
    same = [r for r in imbalance_rows if r["id"] == row["id"]]
    return same[0]["test"].get("train_count") if same else None


#: The columns of :func:`adjusted`'s table, each scored as the study scores a run.
COLUMNS = ("accuracy", "balanced_accuracy", "macro_f1", "smallest_recall")


def adjusted(args: argparse.Namespace, done: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row's test predictions with ``tau * log(prior)`` taken from its logits, for each ``--adjust`` tau.

    The post-hoc logit adjustment of Menon et al. 2021 (the prior: the run's training drawings per class):
    tau > 0 turns a cross-entropy model's predictions towards the rare classes; tau < 0 adds the prior back
    to a model trained with the logit-adjusted loss (``--logit-adjust``), which left it out. Scored from the
    kept probabilities (:func:`dense`), as the study scores a run: accuracy, balanced accuracy, macro-F1 and
    the recall of the five smallest classes."""
    out = []
    imbalance_rows = read_results(IMBALANCE_RESULTS)
    for row in done:
        path = kept(args.results) / f"{row['id']}.npz"
        counts = train_counts(row, imbalance_rows)
        if not path.is_file() or counts is None:
            continue
        f = np.load(path)
        names = [str(n) for n in f["class_names"]]
        labels = f["labels"].astype(np.int64)
        sizes = np.array([counts[n] for n in names], dtype=np.float64)
        log_prior = np.log(sizes / sizes.sum())
        log_p = {view: np.log(np.maximum(dense(f, view, len(names)), 1e-12)) for view in ("plain", "tta")}
        for tau in args.adjust:
            line: dict[str, Any] = {"variant": row["variant"], "seed": row["seed"], "tau": tau}
            for view, logits in log_p.items():
                result = scores(logits - tau * log_prior, labels, len(names))
                recall, support = np.nan_to_num(result["per_class_accuracy"]), result["support"]
                line[view] = {
                    "accuracy": result["accuracy"],
                    "balanced_accuracy": balanced_accuracy(recall, support),
                    "macro_f1": result["macro_f1"],
                    "smallest_recall": smallest_recall(recall, support, sizes, names)[0],
                }
            out.append(line)
    return out


def report(args: argparse.Namespace) -> int:
    done = read_results(args.results)
    print("| variant | epochs | seeds | test acc | macro-F1 | smallest-5 recall | with TTA: acc | macro-F1 | minutes |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    caps = sorted({r.get("epochs_cap") or 0 for r in done})
    inits = sorted({r.get("init_seed") for r in done}, key=lambda i: -1 if i is None else i)
    for variant, cap, init in ((v, c, i) for c in caps for i in inits for v in VARIANTS):
        group = [
            r
            for r in done
            if r["variant"] == variant and (r.get("epochs_cap") or 0) == cap and r.get("init_seed") == init
        ]
        if not group:
            continue
        cells = [
            variant if init is None else f"{variant}, init seed {init}",
            str(cap or "20 (the recipe's)"),
            ",".join(str(r["seed"]) for r in group),
            mean_spread([r["test"]["accuracy"] for r in group]),
            mean_spread([r["test"]["macro_f1"] for r in group]),
            mean_spread([r["test"]["smallest_recall"] for r in group]),
            mean_spread([r["tta"]["accuracy"] for r in group]),
            mean_spread([r["tta"]["macro_f1"] for r in group]),
            mean_spread([r["minutes"] for r in group], digits=1),
        ]
        print("| " + " | ".join(cells) + " |")
    found = ensembles(args, done)
    if not found:
        names = ", ".join(sorted({member(r) for r in done}))
        print(f"\nNo seed has a finished row of each of {', '.join(args.ensemble)}; the finished rows are {names}")
    if found:
        print(f"\nEnsemble of {', '.join(args.ensemble)}:\n")
        print("| seed | TTA | test acc | top-3 | macro-F1 |\n| ---: | --- | ---: | ---: | ---: |")
        for e in found:
            print(
                f"| {e['seed']} | {'yes' if e['tta'] else 'no'} | {e['accuracy']:.4f} | {e['top3_accuracy']:.4f} "
                f"| {e['macro_f1']:.4f} |"
            )
    lines = adjusted(args, done) if args.adjust else []
    if lines:
        print("\nPrediction-time logit adjustment (logits - tau * log prior):\n")
        print(
            "| variant | tau | seeds | test acc | balanced acc | macro-F1 | smallest-5 recall | with TTA: acc | smallest-5 |"
        )
        print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for variant, tau in dict.fromkeys((x["variant"], x["tau"]) for x in lines):
            group = [x for x in lines if x["variant"] == variant and x["tau"] == tau]
            cells = [variant, f"{tau:g}", ",".join(str(x["seed"]) for x in group)]
            cells += [mean_spread([x["plain"][k] for x in group]) for k in COLUMNS]
            cells += [mean_spread([x["tta"][k] for x in group]) for k in ("accuracy", "smallest_recall")]
            print("| " + " | ".join(cells) + " |")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("../shared/quickdraw/bitmap"))
    p.add_argument("--out", type=Path, default=Path("runs/beyond"))
    p.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument(
        "--variants",
        type=lambda s: s.split(","),
        default=list(VARIANTS),
        help=f"comma-separated, from {', '.join(VARIANTS)} (default all)",
    )
    p.add_argument(
        "--reuse",
        type=Path,
        default=Path("runs/imbalance/runs"),
        help="the imbalance study's runs, whose sketch_resnet cross-entropy rows are this study's plain rows",
    )
    p.add_argument(
        "--resnet-epochs", type=int, help="every row's epoch cap (default none: the recipe's 20; the page says so)"
    )
    p.add_argument(
        "--init-seed",
        type=int,
        help="train the rows with kerasketch run --init-seed N: another initialisation and order on each seed's "
        "split (their ids end in .iN), for ensemble members that differ by more than their options",
    )
    p.add_argument("--results", type=Path, default=RESULTS, help=f"the finished rows' lines (default {RESULTS})")
    p.add_argument("--jobs", type=int, default=1, help="rows trained at once, the cores shared out (default 1)")
    p.add_argument("--nice", type=int, default=10, help="the training processes' niceness (default 10)")
    p.add_argument("--report", action="store_true", help="print the table of finished rows instead of running")
    p.add_argument("--epochs", help="cap every row's epochs (smoke tests only: the table is for full runs)")
    p.add_argument("--max-per-class", help="cap the drawings per class (smoke tests only)")
    p.add_argument(
        "--ensemble",
        type=lambda s: s.split(","),
        default=["sketch_resnet", "ema", "mix"],
        help="with --report: the variants each seed's ensemble averages (default sketch_resnet,ema,mix); "
        f"one of {', '.join(sorted(SIZED_BY_EPOCHS))} is named with its epochs, as bf16_precise_bn@32, and a row "
        "of --init-seed N with .iN after, as bf16_precise_bn@32.i1",
    )
    p.add_argument(
        "--adjust",
        type=lambda s: [float(t) for t in s.split(",")],
        default=[],
        metavar="TAU,...",
        help="with --report: also score each row's predictions with tau * log(prior) taken from its logits, "
        "for each tau (Menon et al.'s post-hoc logit adjustment; negative adds the prior back)",
    )
    args = p.parse_args(argv)
    unknown = [v for v in [*args.variants, *args.ensemble] if variant_of(v) not in VARIANTS]
    if unknown:
        p.error(f"unknown variant {', '.join(unknown)}; the variants are {', '.join(VARIANTS)}")
    args.data, args.out, args.cache_dir = args.data.resolve(), args.out.resolve(), args.cache_dir.resolve()
    args.reuse = args.reuse.resolve() if args.reuse.is_dir() else None
    args.smoke = [
        a for flag, v in (("--epochs", args.epochs), ("--max-per-class", args.max_per_class)) if v for a in (flag, v)
    ]
    if args.smoke:
        args.reuse = None  # a capped row is not the study's row
        if args.results == RESULTS:
            p.error("a capped smoke run is not the study's: give it its own --results file")
    return report(args) if args.report else study(args)


if __name__ == "__main__":
    sys.exit(main())
