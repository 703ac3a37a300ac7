"""``kerasketch predict | export``: use a trained run on new drawings, or ship its model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .. import validation
from ..errors import ConfigError
from .run_cmds import add_prior_shift_option, add_tta_option, adjusted, prior_shift

if TYPE_CHECKING:
    from ..inference.predict import Classifier


def register(sub: argparse._SubParsersAction) -> None:
    pr = sub.add_parser(
        "predict",
        help="a run's likeliest classes for drawings or images (or --serve: JSON lines on stdin)",
        description="Classify drawing files (.ndjson, .npy, .npz), images (PNG, JPEG, any size) or folders of them "
        "with a run's best model. Where a file's name or its lines' word names a class, also prints the accuracy.",
    )
    pr.add_argument("run", type=Path, help="a run folder with best.keras, e.g. runs/like_vgg_adamw-20261128-120000")
    pr.add_argument("inputs", nargs="*", metavar="INPUT", help="drawing files, image files or folders of them")
    pr.add_argument("--top", metavar="K", default="3", help="classes to show per drawing (default 3)")
    pr.add_argument("--json", action="store_true", help="one JSON object per line per drawing, then a summary line")
    add_tta_option(pr)
    add_prior_shift_option(pr)
    pr.add_argument(
        "--serve",
        action="store_true",
        help="load the model once and answer JSON-lines requests on stdin (protocol: kerasketch/inference/jsonl_child.py)",
    )
    pr.set_defaults(handler=cmd_predict)

    ex = sub.add_parser(
        "export",
        help="write a run's model as ONNX, OpenVINO IR, a torch.export .pt2, or a .keras file plain Keras loads",
    )
    ex.add_argument("run", type=Path, help="a run folder with best.keras")
    ex.add_argument(
        "--format",
        required=True,
        choices=("onnx", "keras", "openvino", "pt2", "litert"),
        help="onnx (onnxruntime), keras (plain Keras), openvino (OpenVINO IR: .xml and .bin), "
        "pt2 (torch.export); litert is not available (its converter is not a kerasketch dependency)",
    )
    ex.add_argument(
        "-o",
        "--output",
        type=Path,
        help="the file to write (default: RUN/export/<run name>.<format>, beside the run); "
        "the class names and the input it expects go beside it in <name>.labels.json",
    )
    ex.add_argument("--json", action="store_true", help="print what was written as one JSON object")
    ex.set_defaults(handler=cmd_export)


def cmd_predict(args: argparse.Namespace) -> int:
    k = int(validation.parse("top", args.top))
    if args.serve:
        if args.inputs:
            raise ConfigError("--serve reads drawings from stdin; give no INPUT with it")
        for flag, given in (("--tta", args.tta), ("--prior-shift", prior_shift(args))):
            if given:
                raise ConfigError(f"{flag} applies to INPUT files, not to --serve", f"leave out {flag}")
        from ..inference.jsonl_child import serve

        return serve(args.run, k)
    if not args.inputs:
        raise ConfigError("give at least one INPUT (a drawing file, an image or a folder)", "or --serve")
    from ..inference.model import load_trained

    trained = load_trained(args.run)
    return show_predictions(adjusted(args, trained, [trained.run_dir]), args.inputs, k, as_json=args.json)


def show_predictions(classifier: Classifier, inputs: list[str], k: int, *, as_json: bool) -> int:
    """Each drawing's top ``k`` and the accuracy where files name classes, as ``kerasketch predict`` prints them."""
    from ..inference.predict import Tally, predictions

    tally = Tally(k)
    for row in predictions(classifier, inputs, k, tally):
        if as_json:
            print(json.dumps(row))
        else:
            shown = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in row["top"])
            print(f"{row['source']}: {shown}")
    summary = tally.summary()
    if as_json:
        print(json.dumps({"summary": summary}))
        return 0
    if summary["scored"]:
        print(
            f"accuracy {summary['accuracy']:.4f}, top-{k} {summary[f'top{k}_accuracy']:.4f} "
            f"over the {summary['scored']:,} drawings whose file names one of the model's {len(classifier.classes)} classes"
        )
    unknown = summary["unknown_classes"]
    if unknown:
        names = list(unknown)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        print(
            f"not scored: {sum(unknown.values()):,} drawings of {len(names)} classes the model does not know ({shown})"
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..inference.export import export_run

    report = export_run(args.run, args.format, args.output)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"wrote {report['file']} ({report['format']}, {len(report['classes'])} classes, "
        f"input {'x'.join(map(str, report['input']['shape']))} float32 in [0, 1], strokes bright on black; "
        f"logits within {report['max_logit_difference']:.1g} of the run's model)"
    )
    check = report["check"]
    print(
        f"checked on {check['on']}: top-1 agreement with the run's model {check['top1_agreement']:.4f}, "
        f"largest probability difference {check['max_probability_difference']:.2g}"
    )
    print(f"class names, input description and that check: {report['labels']}")
    return 0
