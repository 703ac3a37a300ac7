"""``kerasketch run | list | evaluate | compare``: the recipes and their runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import validation
from ..recipes import registry
from ..training.compare_formats import FORMATS
from ..wording import plural
from .run import add_run_options, run_from_args


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run a recipe (the same as python -m kerasketch.recipes.NAME)")
    run.add_argument("recipe", help=f"one of: {', '.join(registry.NAMES)}")
    add_run_options(run)
    run.set_defaults(handler=cmd_run)

    ls = sub.add_parser("list", help="the recipes with their settings, parameter counts and the original's result")
    ls.add_argument("--json", action="store_true", help="print a JSON list")
    ls.add_argument(
        "--num-classes",
        type=int,
        default=200,
        help="count parameters for this many classes (default 200, as the original)",
    )
    ls.set_defaults(handler=cmd_list)

    ev = sub.add_parser(
        "evaluate", help="evaluate a run's best model on every drawing of a data path, or on its test split again"
    )
    ev.add_argument("run", type=Path, help="a run folder, e.g. runs/like_vgg_adamw-20261128-120000")
    ev.add_argument(
        "--data",
        help="a file or folder of .npy / .ndjson / .npz files; classes the model does not know are skipped, "
        "and named (default: the run's own test split, rebuilt from its config.json)",
    )
    ev.add_argument("--batch-size", metavar="N", default="256", help="images per prediction batch (default 256)")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    add_tta_option(ev)
    add_prior_shift_option(ev)
    add_probabilities_option(ev)
    ev.set_defaults(handler=cmd_evaluate)

    cmp = sub.add_parser(
        "compare",
        help="the original's summary table beside ours, best run per recipe on each data (Markdown, CSV or JSON)",
    )
    cmp.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="a runs folder (default runs/; its sweeps' trials count too), a sweep folder, or run folders to compare",
    )
    cmp.add_argument("--include-synthetic", action="store_true", help="also count runs on the synthetic set")
    cmp.add_argument(
        "--data-key", metavar="KEY", help="only the runs on this data (the key each table's heading shows)"
    )
    cmp.add_argument("--format", choices=tuple(FORMATS), default="markdown", help="output format (default markdown)")
    cmp.set_defaults(handler=cmd_compare)


def cmd_run(args: argparse.Namespace) -> int:
    return run_from_args(registry.get(args.recipe), args)


def cmd_list(args: argparse.Namespace) -> int:
    from ..recipes.listing import recipe_rows

    rows = recipe_rows(args.num_classes)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"| recipe | model | loss | optimizer | image | trainable params ({args.num_classes} classes) | total params | original val_acc |"
    )
    print("| --- | --- | --- | --- | --- | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['name']} | {r['model']} | {r['loss']} | {r['optimizer']} | {r['image_size']}x{r['image_size']} | "
            f"{r['trainable_params']:,} | {r['total_params']:,} | {_acc(r['original_val_acc'])} |"
        )
    return 0


def _acc(value: float | None) -> str:
    """An accuracy to four places, or a dash for a recipe of ours, which has no original."""
    return "-" if value is None else f"{value:.4f}"


def add_tta_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tta",
        action="store_true",
        help="test-time augmentation: average the probabilities over each drawing as it is, moved 1 pixel "
        "left, right, up and down, and scaled to 0.9 and 1.1 (7 passes of the model)",
    )


def add_prior_shift_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prior-shift",
        metavar="TAU",
        default="0",
        help="subtract TAU x log(class share in the run's dataset) from the logits (Menon et al.'s post-hoc logit "
        "adjustment): the small classes' recall rises for some overall accuracy, without retraining; 1 aims at "
        "the balanced error, 0.5 is a milder trade, a negative TAU adds the prior back (default 0: off)",
    )


def prior_shift(args: argparse.Namespace) -> float:
    return float(validation.parse("prior_shift", args.prior_shift))


def adjusted(args: argparse.Namespace, classifier, run_dirs: list[Path]):
    """``classifier`` under ``--tta`` and ``--prior-shift`` as ``args`` ask (itself where neither is asked)."""
    from ..inference.prior_shift import shifted

    if args.tta:
        from ..inference.ensemble import Averaged
        from ..inference.tta import VIEWS

        classifier = Averaged([classifier], VIEWS, classifier.batch_size)
    return shifted(classifier, prior_shift(args), run_dirs)


def describe_adjustments(report: dict) -> str:
    """How a report's model was changed at prediction time, in words ("" for not at all)."""
    parts = (["test-time augmentation"] if report.get("tta") else []) + (
        [f"prior shift tau {report['prior_shift']:g}"] if report.get("prior_shift") else []
    )
    return " and ".join(parts)


def add_probabilities_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--save-probabilities",
        type=Path,
        metavar="FILE",
        help="also write each drawing's class probabilities, true label and the class names to FILE "
        "(NumPy .npz, in the evaluation's order): for averaging runs later, calibration or error analysis",
    )


def probabilities_recorder(args: argparse.Namespace, run: Path):
    """What records ``--save-probabilities`` (its columns ``run``'s classes), or None where it was not asked for."""
    if not args.save_probabilities:
        return None
    from ..inference.probabilities import Recorder
    from ..training.external import trained_run

    return Recorder(args.save_probabilities, trained_run(run, "evaluate a run that trained")[2])


def save_probabilities(args: argparse.Namespace, report: dict, recorder) -> None:
    """Write what ``recorder`` saw to ``--save-probabilities`` and name the file in the report."""
    drawings = recorder.write()
    report["probabilities"] = str(args.save_probabilities)
    print(f"wrote {args.save_probabilities}: probabilities of {plural(drawings, 'drawing')}", file=sys.stderr)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..training.external import evaluate_run

    batch_size = int(validation.parse("batch_size", args.batch_size))
    tau = prior_shift(args)
    logits_of = None
    if args.tta or tau:
        from ..inference.model import load_trained

        trained = load_trained(args.run)
        trained.batch_size = batch_size
        logits_of = adjusted(args, trained, [trained.run_dir]).logits
    recorder = probabilities_recorder(args, args.run)
    report = evaluate_run(args.run, args.data, batch_size=batch_size, logits_of=logits_of, sink=recorder)
    if args.tta:
        report["tta"] = True
    if tau:
        report["prior_shift"] = tau
    if recorder is not None:
        save_probabilities(args, report, recorder)
    show_evaluation(report, str(args.run), args.data, as_json=args.json)
    return 0


def show_evaluation(report: dict, label: str, data: str | None, *, as_json: bool) -> None:
    """An evaluation report as ``kerasketch evaluate`` prints it (``label`` names the model)."""
    skipped = report["skipped_classes"]
    if skipped:
        names = list(skipped)
        shown = ", ".join(map(repr, names[:5])) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        print(
            f"note: skipped {plural(len(names), 'class', 'classes')} of {data} that the model does not know "
            f"({plural(sum(skipped.values()), 'drawing')}): {shown}",
            file=sys.stderr,
        )
    overlap = report["overlaps_training"]
    if overlap:
        shown = ", ".join(overlap[:3]) + (f" and {len(overlap) - 3} more" if len(overlap) > 3 else "")
        print(
            f"warning: {data} overlaps the data {label} trained on ({shown}): these figures are not a held-out score",
            file=sys.stderr,
        )
    if as_json:
        print(json.dumps(report, indent=2))
        return
    averaged = report["averaged_over"]
    how = describe_adjustments(report)
    print(
        f"{label}: {plural(report['samples'], 'drawing')} of {plural(len(report['classes']), 'class', 'classes')} "
        f"from {report['data']}" + (f" (with {how})" if how else "")
    )
    print(f"accuracy {report['accuracy']:.4f}, top-3 {report['top3_accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}")
    if isinstance(report.get("balanced_accuracy"), float):
        smallest = report.get("smallest_classes") or []
        print(
            f"balanced accuracy {report['balanced_accuracy']:.4f}"
            + (
                f", recall of the {len(smallest)} smallest classes {report['smallest_recall']:.4f} ({', '.join(smallest)})"
                if smallest and isinstance(report.get("smallest_recall"), float)
                else ""
            )
        )
    if isinstance(report.get("recorded_accuracy"), float):
        without = f" without {how}" if how else ""
        print(f"(its evaluation recorded test accuracy {report['recorded_accuracy']:.4f}{without})")
    print(
        f"macro-F1 is averaged over the {plural(len(averaged), 'class', 'classes')} present in the data"
        + (f" (of the model's {report['model_classes']})" if len(averaged) < report["model_classes"] else "")
        + ": "
        + ", ".join(averaged[:10])
        + (f" and {len(averaged) - 10} more" if len(averaged) > 10 else "")
    )


def cmd_compare(args: argparse.Namespace) -> int:
    from ..training.compare import compare_paths  # says what is wrong with a missing or junk runs folder

    print(compare_paths(args.paths, include_synthetic=args.include_synthetic, fmt=args.format, data_key=args.data_key))
    return 0
