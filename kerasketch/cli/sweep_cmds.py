"""``kerasketch sweep RECIPE``: hyperparameter search on Ray Tune (the ``[sweep]`` extra)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from .. import options
from ..errors import ConfigError
from ..recipes import params, registry
from ..sweep.space import FORMS, parse_space
from ..sweep.trial import DEFAULT_GRACE_PERIOD
from ..tracking.kinds import require as require_tracker
from .options import data_config
from .run import add_run_options, apply_overrides, track_target


def register(sub: argparse._SubParsersAction) -> None:
    sw = sub.add_parser(
        "sweep",
        help="hyperparameter search on Ray Tune (Optuna's TPE or random, ASHA), on this machine or a Ray cluster",
        description="Search a recipe's parameters with Ray Tune. Each trial is an ordinary run folder under "
        "RUNS_DIR/NAME/, beside sweep.json. The same command resumes a sweep that was stopped or killed.",
    )
    sw.add_argument("recipe", help=f"one of: {', '.join(registry.NAMES)}")
    s = sw.add_argument_group("search")
    s.add_argument("--list-params", action="store_true", help="print the recipe's parameters, defaults and types")
    s.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=DIST",
        help=f"one parameter's distribution: {FORMS} (repeatable)",
    )
    s.add_argument("--space", type=Path, metavar="FILE.toml", help='a TOML file of lines NAME = "DIST"')
    s.add_argument("--trials", metavar="N", default="8", help="how many trials (default 8)")
    s.add_argument("--max-concurrent", metavar="K", help="at most K trials at once (default: one per CPU)")
    s.add_argument("--search", choices=("optuna", "random"), default="optuna", help="Optuna's TPE (default) or random")
    s.add_argument(
        "--scheduler",
        choices=("asha", "none"),
        default="asha",
        help="ASHA stops weak trials early on each epoch's val_accuracy (default), or none",
    )
    s.add_argument(
        "--grace-period",
        metavar="N",
        default=str(DEFAULT_GRACE_PERIOD),
        help=f"ASHA stops no trial before N epochs (default {DEFAULT_GRACE_PERIOD}: after one epoch a warm-up "
        "or a cosine schedule has not yet shown what it does)",
    )
    s.add_argument("--address", metavar="HOST:PORT", help="join this Ray cluster (`ray start --head` made it)")
    add_run_options(sw, ray_address=False)  # --name here names the sweep's folder; --address is the sweep's
    sw.set_defaults(handler=cmd_sweep)


def _count(flag: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{flag} must be a whole number of at least 1, got {text!r}")
    return value


def list_params(recipe_name: str) -> int:
    recipe = registry.get(recipe_name)
    rows = [
        (p.name, repr(p.default) if isinstance(p.default, str) else f"{p.default}", p.type_name)
        for p in params.tunable(recipe).values()
    ]
    widths = [max(len(r[i]) for r in [("parameter", "default", "type"), *rows]) for i in range(2)]
    for name, default, kind in [("parameter", "default", "type"), *rows]:
        print(f"{name:<{widths[0]}}  {default:<{widths[1]}}  {kind}")
    return 0


#: Run options a trial's rerun leaves out: the rerun names its own folder, and its trackers are the user's choice.
_NOT_RERUN = ("name", "quiet", "events", "fresh", "address", "track", "track_dir", "track_uri")


def rerun_command(recipe: str, settings: options.RunSettings) -> Any:
    """The ``kerasketch run`` command that trains a trial's parameters again, with the sweep's run options."""

    def command(sweep: str, values: dict[str, Any]) -> str:
        given = {k: v for k, v in vars(settings).items() if k not in _NOT_RERUN}
        words = ["kerasketch", "run", recipe, *options.argv(given)]
        for name, value in values.items():
            words += ["--set", f"{name}={value!r}" if isinstance(value, float) else f"{name}={value}"]
        words += ["--name", f"{sweep}-best"]
        return shlex.join(words)

    return command


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.list_params:
        return list_params(args.recipe)
    # Run options that mean nothing to a sweep are refused, not ignored.
    for flag, given, hint in (
        ("--fresh", args.fresh, "the same command resumes a sweep; give another --name to start a new one"),
        ("--events", args.events is not None, "each trial writes events.jsonl in its run folder; see sweep.json"),
    ):
        if given:
            raise ConfigError(f"{flag} applies to kerasketch run, not to a sweep", hint)
    settings: options.RunSettings = options.settings_from_args(args)
    recipe = apply_overrides(registry.get(args.recipe), settings)
    space = parse_space(recipe, args.param, args.space)
    trials = _count("--trials", args.trials)
    max_concurrent = None if args.max_concurrent is None else _count("--max-concurrent", args.max_concurrent)
    grace_period = _count("--grace-period", args.grace_period)
    if args.scheduler == "asha" and grace_period > recipe.epochs:
        raise ConfigError(
            f"--grace-period {grace_period} is more than the {recipe.epochs} epochs a trial runs",
            "give a smaller --grace-period, more --epochs, or --scheduler none",
        )
    for tracker in settings.track:
        require_tracker(tracker)
    # Ray is imported only now: a bad space or a missing extra is one message before it starts.
    from ..sweep.tune import SweepSpec, run_sweep

    spec = SweepSpec(
        recipe=recipe,
        data=data_config(settings, image_size=recipe.image_size),
        space=space,
        trials=trials,
        search=args.search,
        scheduler=args.scheduler,
        grace_period=grace_period,
        max_concurrent=max_concurrent,
        address=args.address,
        name=settings.name,
        runs_dir=settings.runs_dir,
        run_options=settings,
        rerun=rerun_command(args.recipe, settings),
        trial_lines=not settings.quiet,
        track=tuple(dict.fromkeys(settings.track)),
        track_target=track_target(settings),
        nproc=settings.nproc,
    )
    try:
        doc = run_sweep(spec)
    except KeyboardInterrupt:
        print("interrupted; the same command resumes the sweep without repeating finished trials")
        return 130
    print_summary(doc)
    return 0


def print_summary(doc: Any) -> None:
    from ..runs import sweepfile

    trials = sweepfile.ranked(doc["trials"])
    names = list(doc["space"])
    head = ["rank", "trial", *names, "status", "best val_acc", "epochs", "node"]
    rows = []
    for i, t in enumerate(trials, 1):
        best = t.get("best_val_accuracy")
        rows.append(
            [
                str(i),
                t["id"],
                *(_fmt(t["params"].get(n)) for n in names),
                t["status"],
                "-" if best is None else f"{best:.4f}",
                str(t.get("epochs", 0)),
                (t.get("node_id") or "-")[:8],
            ]
        )
    widths = [max(len(h), *(len(r[c]) for r in rows)) if rows else len(h) for c, h in enumerate(head)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
    best = doc.get("best")
    print()
    if not best:
        print("no trial finished an epoch: no best parameters")
        return
    shown = ", ".join(f"{k}={_fmt(v)}" for k, v in best["params"].items())
    defaults = ", ".join(f"{k}={_fmt(v)}" for k, v in doc.get("defaults", {}).items())
    print(
        f"best trial {best['trial']}: val_accuracy {best['best_val_accuracy']:.4f} with {shown} (defaults: {defaults})"
    )
    if best.get("test_accuracy") is not None:
        print(f"its test accuracy (computed for this trial only): {best['test_accuracy']:.4f}")
    print(f"sweep folder: {doc.get('folder', '')}  (sweep.json, one run folder per trial)")
    print(f"rerun it as a normal run:\n  {best['command']}")


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
