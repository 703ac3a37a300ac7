"""``kerasketch ensemble evaluate | predict | export RUN RUN...``: several runs' models as one classifier.

The members' softmax probabilities are averaged (:mod:`kerasketch.inference.ensemble`);
the runs must classify the same classes from the same input size.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .. import validation
from ..errors import ConfigError
from .predict_cmds import show_predictions
from .run_cmds import (
    add_prior_shift_option,
    add_probabilities_option,
    add_tta_option,
    prior_shift,
    probabilities_recorder,
    save_probabilities,
    show_evaluation,
)


def register(sub: argparse._SubParsersAction) -> None:
    ens = sub.add_parser(
        "ensemble",
        help="several runs' models as one: their softmax probabilities averaged, to evaluate, predict or export",
        description="Average the softmax probabilities of several runs' best models (of the same classes and "
        "input size): evaluate the average, predict with it, or export it as one model in a folder that every "
        "command taking a run folder reads (predict, serve, evaluate, export). See docs/using-a-model.md.",
    )
    commands = ens.add_subparsers(dest="ensemble_command", metavar="COMMAND", required=True)
    runs_help = "run folders with best.keras, e.g. runs/sketch_resnet-*"

    ev = commands.add_parser(
        "evaluate",
        help="the averaged models on the runs' shared test split, or on every drawing of a data path",
        description="Accuracy, top-3 and macro-F1 of the average. Without --data the runs must have trained on "
        "the same data settings (seed included: the seed draws the split), so that their test split is held out "
        "from every one of them.",
    )
    ev.add_argument("runs", nargs="+", type=Path, metavar="RUN", help=runs_help)
    ev.add_argument("--data", help="a file or folder of .npy / .ndjson / .npz files (default: the runs' test split)")
    ev.add_argument("--batch-size", metavar="N", default="256", help="images per prediction batch (default 256)")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    add_tta_option(ev)
    add_prior_shift_option(ev)
    add_probabilities_option(ev)
    ev.set_defaults(handler=cmd_evaluate)

    pr = commands.add_parser("predict", help="the average's likeliest classes for drawings or images")
    pr.add_argument("runs", nargs="+", type=Path, metavar="RUN", help=runs_help)
    pr.add_argument(
        "-i",
        "--input",
        dest="inputs",
        action="extend",
        nargs="+",
        required=True,
        metavar="INPUT",
        help="drawing files, image files or folders of them (repeatable)",
    )
    pr.add_argument("--top", metavar="K", default="3", help="classes to show per drawing (default 3)")
    pr.add_argument("--json", action="store_true", help="one JSON object per line per drawing, then a summary line")
    add_tta_option(pr)
    add_prior_shift_option(pr)
    pr.set_defaults(handler=cmd_predict)

    ex = commands.add_parser(
        "export",
        help="write the average as one Keras model, in a folder predict, serve, evaluate and export read",
        description="Write OUT/best.keras, one Keras functional model whose output is the log of the members' "
        "averaged softmax probabilities (logits whose softmax is the average), and OUT/config.json with its "
        "classes, input size and members. `kerasketch export OUT --format onnx` then converts it like a run's model.",
    )
    ex.add_argument("runs", nargs="+", type=Path, metavar="RUN", help=runs_help)
    ex.add_argument(
        "-o", "--output", type=Path, metavar="DIR", help="a new folder (default ensembles/ensemble-<UTC timestamp>)"
    )
    ex.add_argument("--json", action="store_true", help="print its config.json")
    ex.set_defaults(handler=cmd_export)


def averaged_as_asked(args: argparse.Namespace, members: list, batch_size: int = 256):
    """The members' average, each under ``--tta`` where asked, the average under ``--prior-shift``."""
    from ..inference.ensemble import Averaged
    from ..inference.prior_shift import shifted
    from ..inference.tta import IDENTITY, VIEWS

    averaged = Averaged(members, VIEWS if args.tta else (IDENTITY,), batch_size)
    return shifted(averaged, prior_shift(args), [m.run_dir for m in members])


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..inference.ensemble import load_members, shared_data
    from ..training.external import evaluate_run

    batch_size = int(validation.parse("batch_size", args.batch_size))
    members = load_members(args.runs)
    if args.data is None and len(members) > 1 and shared_data(members) is None:
        raise ConfigError(
            "these runs trained on different data settings (config.json's data), so each one's test split "
            "holds drawings the others trained on",
            "ensemble runs of one --seed and data settings, or give --data PATH with drawings none of them trained on",
        )
    tau = prior_shift(args)
    averaged = averaged_as_asked(args, members, batch_size)
    first = members[0].run_dir
    recorder = probabilities_recorder(args, first)
    report = evaluate_run(first, args.data, batch_size=batch_size, logits_of=averaged.logits, sink=recorder)
    report["run"] = [str(m.run_dir) for m in members]
    report.pop("recorded_accuracy", None)  # the first member's alone
    report["members"] = _member_accuracies(members)
    if args.tta:
        report["tta"] = True
    if tau:
        report["prior_shift"] = tau
    if recorder is not None:
        save_probabilities(args, report, recorder)
    label = f"ensemble of {len(members)} runs"
    show_evaluation(report, label, args.data, as_json=args.json)
    if not args.json:
        for member in report["members"]:
            shown = "-" if member["test_accuracy"] is None else f"{member['test_accuracy']:.4f}"
            print(f"  member {member['run']}: recorded test accuracy {shown}")
    return 0


def _member_accuracies(members) -> list[dict]:
    from ..runs import folders

    return [
        {
            "run": m.run_dir.name,
            "test_accuracy": ((folders.read_evaluation(m.run_dir) or {}).get("test") or {}).get("accuracy"),
        }
        for m in members
    ]


def cmd_predict(args: argparse.Namespace) -> int:
    from ..inference.ensemble import load_members

    k = int(validation.parse("top", args.top))
    averaged = averaged_as_asked(args, load_members(args.runs))
    return show_predictions(averaged, args.inputs, k, as_json=args.json)


def cmd_export(args: argparse.Namespace) -> int:
    import json

    from ..inference.ensemble import load_members, write_ensemble

    out = args.output or Path("ensembles") / time.strftime("ensemble-%Y%m%d-%H%M%S", time.gmtime())
    config = write_ensemble(load_members(args.runs), out)
    if args.json:
        print(json.dumps({**config, "folder": str(out)}, indent=2))
        return 0
    print(
        f"wrote {out}: best.keras (the average of {len(config['members'])} models' probabilities, "
        f"{len(config['class_names'])} classes, input 1x{config['recipe']['image_size']}x{config['recipe']['image_size']}) "
        "and config.json"
    )
    print(
        f"use it as a run folder: kerasketch predict {out} INPUT..., kerasketch serve {out}, kerasketch export {out} --format onnx"
    )
    if "data" not in config:
        print("note: the members trained on different data settings: `kerasketch evaluate` it with --data PATH")
    return 0
