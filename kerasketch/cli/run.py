"""``python -m kerasketch.recipes.<name>`` and ``kerasketch run <name>``: one parser, one entry point.

The recipes are data; this is the command line that starts one. A recipe
module's ``__main__`` guard calls :func:`main` here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from .. import active_backend, validation
from ..console import guarded
from ..errors import ConfigError
from ..recipes import params
from ..recipes.base import Recipe
from ..tracking.kinds import TRACKERS
from ..tracking.target import Target
from ..training import distributed
from ..training.shuffle_order import BUFFER_CHUNKS, CHUNK_ROWS, SHUFFLES
from .options import add_data_options, cache_options_from_args, data_config_from_args


def add_run_options(parser: argparse.ArgumentParser, *, ray_address: bool = True) -> None:
    """The run command's options; ``ray_address=False`` where the command has its own ``--address`` (a sweep's)."""
    add_data_options(parser)
    t = parser.add_argument_group("training (defaults: the recipe's)")
    # Numbers stay text here and are parsed by kerasketch.validation, which the dashboard's form shares.
    t.add_argument("--epochs", metavar="N", help="at most this many epochs (recipes: 100)")
    t.add_argument("--batch-size", metavar="N", help="images per step (recipes: 64, as the original)")
    t.add_argument("--patience", metavar="N", help="early stopping: epochs without a better val_accuracy (recipes: 7)")
    t.add_argument("--image-size", metavar="N", help="input side in pixels (recipe default: the model's native size)")
    t.add_argument(
        "--weights",
        help="pretrained recipes: 'imagenet' (torchvision's cache), 'none' (random) or a state-dict file",
    )
    t.add_argument(
        "--jit-compile",
        action="store_true",
        help="compile the training step with torch.compile: the first epoch compiles (minutes on 2 CPU cores), "
        "later ones run faster; worth it for long runs",
    )
    t.add_argument(
        "--precision",
        choices=validation.PRECISION_CHOICES,
        default="float32",
        help="Keras' dtype policy: 'float32' (default) or 'mixed_bfloat16' (bfloat16 arithmetic on float32 "
        "weights: faster on GPUs and CPUs with bf16 instructions, slower on others), or 'auto' (bfloat16 "
        "where the GPU or CPU has bfloat16 arithmetic, float32 elsewhere; the choice is printed and recorded)",
    )
    t.add_argument(
        "--shuffle",
        choices=SHUFFLES,
        default="exact",
        help="training order: 'exact' (default) a permutation of every drawing, or 'chunks' for slow disks: "
        f"chunks of {CHUNK_ROWS:,} cached rows permuted, then rows within windows of {BUFFER_CHUNKS:,} chunks "
        "(a different order)",
    )
    t.add_argument(
        "--class-weight",
        choices=validation.CLASS_WEIGHTS,
        default="none",
        help="'balanced': weigh each class's drawings in the loss by total / (classes x its count) "
        "(scikit-learn's compute_class_weight on the training split, Keras' class_weight); recorded in config.json",
    )
    t.add_argument(
        "--logit-adjust",
        metavar="TAU",
        type=lambda text: validation.parse("logit_adjust", text),
        default=0.0,
        help="train with the logit-adjusted cross-entropy (Menon et al. 2021): cross-entropy of "
        "logits + TAU * log(class share of the training split); predictions use the plain logits. "
        "1 is the paper's choice, 0 (default) is off",
    )
    t.add_argument(
        "--loss",
        choices=validation.LOSSES,
        help="train with this loss instead of the recipe's: 'cross_entropy', 'focal' (the log's sigmoid focal "
        "loss, summed) or 'softmax_focal' (Keras' CategoricalFocalCrossentropy, averaged); recorded as the recipe's",
    )
    t.add_argument(
        "--focal-alpha",
        metavar="ALPHA|balanced",
        type=validation.parse_focal_alpha,
        default=validation.NUMERIC_OPTION_DEFAULTS["focal_alpha"],
        help="the focal losses' weight: one number in (0, 1] (default 0.25, the log's and Keras'), or 'balanced': "
        "class c's drawings weigh n / (classes x n_c) (scikit-learn's compute_class_weight on the training split)",
    )
    t.add_argument(
        "--focal-gamma",
        metavar="GAMMA",
        type=lambda text: validation.parse("focal_gamma", text),
        default=validation.NUMERIC_OPTION_DEFAULTS["focal_gamma"],
        help="the focal losses' focusing exponent, in [0, 10] (default 2, the log's and Keras'; 0: no focusing)",
    )
    t.add_argument(
        "--sampler",
        choices=validation.SAMPLERS,
        default="uniform",
        help="'balanced': each epoch draws as many drawings as the training split, with replacement, every class "
        "equally likely (seeded per epoch); 'uniform' (default): each drawing once. Not with --shuffle chunks",
    )
    t.add_argument(
        "--ts-cnn-head",
        choices=("flatten", "global_pool"),
        help="ts_cnn only: the log's flattened 4 x classes logits (default, a defect kept for fidelity) or the corrected global pooling head",
    )
    t.add_argument(
        "--set",
        dest="set_params",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set one of the recipe's parameters, e.g. --set learning_rate=0.003 (repeatable; "
        "`kerasketch sweep RECIPE --list-params` lists them); saved in config.json",
    )
    add_parallel_options(parser, ray_address=ray_address)
    r = parser.add_argument_group("run folder")
    r.add_argument("--runs-dir", type=Path, default=Path("runs"), help="where run folders are made (default runs/)")
    r.add_argument("--name", help="the run folder's prefix (default: the recipe's name)")
    r.add_argument(
        "--events",
        metavar="FILE|-",
        help="also write the run's JSON-lines events to FILE, or to stdout with '-' (human output then goes to stderr)",
    )
    r.add_argument(
        "--fresh",
        action="store_true",
        help="start a new run even if an unfinished one with the same settings could resume",
    )
    add_track_options(parser)


def add_parallel_options(parser: argparse.ArgumentParser, *, ray_address: bool = True) -> None:
    p = parser.add_argument_group("data-parallel training (docs/scaling-out.md)")
    p.add_argument(
        "--nproc",
        metavar="N",
        type=lambda text: validation.parse("nproc", text),
        default=1,
        help="train one model with N processes on this machine (torch.distributed; --batch-size stays the global "
        "batch). Under torchrun, leave it out: torchrun's ranks are used. With --address: N Ray Train workers",
    )
    if ray_address:
        p.add_argument(
            "--address",
            metavar="HOST:PORT|ray://HOST:PORT|auto",
            help="run the --nproc processes as a Ray Train job (TorchTrainer) on this Ray cluster (`ray start "
            "--head` made it; 'auto': the one this machine is part of); --runs-dir must be a folder every node shares",
        )
    p.add_argument(
        "--scale-lr",
        choices=("none", "linear"),
        default="none",
        help="'linear': multiply the learning rate by --batch-size / the recipe's batch (Goyal et al. 2017), "
        "for a global batch grown with the processes; 'none' (default): the learning rate is never rescaled",
    )
    p.add_argument(
        "--sync-bn",
        action="store_true",
        help="BatchNorm normalises with the statistics of the whole global batch, reduced across the processes "
        "(torch's SyncBatchNorm); default: each process's own share, as PyTorch's DDP",
    )
    p.add_argument(
        "--dist-backend",
        choices=distributed.BACKENDS,
        default="auto",
        help="torch.distributed's backend: 'auto' (default) gloo on CPU, nccl on CUDA",
    )
    p.add_argument(
        "--dist-timeout",
        metavar="SECONDS",
        type=lambda text: validation.parse("dist_timeout", text),
        default=distributed.DEFAULT_TIMEOUT,
        help=f"how long the ranks wait for a dead or hung one before the run ends (default {distributed.DEFAULT_TIMEOUT})",
    )
    p.add_argument(
        "--threads",
        metavar="N",
        type=lambda text: validation.parse("threads", text),
        help="torch threads per process (default: this machine's cores shared out over its processes)",
    )


def add_track_options(parser: argparse.ArgumentParser) -> None:
    k = parser.add_argument_group("experiment trackers (the [track] extra; docs/trackers.md)")
    k.add_argument(
        "--track",
        action="append",
        choices=TRACKERS,
        default=[],
        help="also send the run to this tracker as it trains (repeatable); its folder stays the source of truth",
    )
    k.add_argument(
        "--track-dir",
        type=Path,
        metavar="DIR",
        help="TensorBoard's event files (DIR/tensorboard/RUN) and W&B's local files (default: RUNS_DIR/tracking)",
    )
    k.add_argument(
        "--track-uri",
        metavar="URI",
        help="MLflow's tracking server or store (default: MLFLOW_TRACKING_URI, else MLflow's own default)",
    )


def track_target(args: argparse.Namespace, group: str | None = None) -> Target:
    """Where ``--track`` sends to, from the options."""
    return Target(track_dir=args.track_dir or args.runs_dir / "tracking", uri=args.track_uri, group=group)


def apply_overrides(recipe: Recipe, args: argparse.Namespace) -> Recipe:
    changes: dict = {}
    for field in ("epochs", "batch_size", "patience", "image_size"):
        text = getattr(args, field)
        if text is not None:
            changes[field] = validation.parse(field, text)
    if args.weights is not None:
        if recipe.weights is None:
            raise ConfigError(
                f"--weights applies to the pretrained recipes (vgg16_bn, resnet50), not {recipe.name}",
                "from-scratch models start from their original initialisation",
            )
        changes["weights"] = args.weights
    if args.ts_cnn_head is not None:
        if recipe.model != "ts_cnn":
            raise ConfigError(f"--ts-cnn-head applies to the ts_cnn recipe, not {recipe.name}")
        changes["model_options"] = {**recipe.model_options, "ts_cnn_head": args.ts_cnn_head}
    if getattr(args, "loss", None) is not None:
        changes["loss"] = args.loss  # config.json's recipe then names the loss the run trains with
    recipe = recipe.with_(**changes) if changes else recipe
    recipe = params.apply(recipe, params.parse_assignments(recipe, args.set_params))
    # The loss's options against the loss, before any data is read (a sweep's trials included).
    validation.check_loss_options(
        recipe.loss,
        recipe=recipe.name,
        label_smoothing=recipe.label_smoothing,
        logit_adjust=getattr(args, "logit_adjust", 0.0),
        focal_alpha=getattr(args, "focal_alpha", validation.NUMERIC_OPTION_DEFAULTS["focal_alpha"]),
        focal_gamma=getattr(args, "focal_gamma", validation.NUMERIC_OPTION_DEFAULTS["focal_gamma"]),
    )
    if getattr(args, "scale_lr", "none") == "linear":
        recipe = scaled_learning_rate(recipe)
    return recipe


def scaled_learning_rate(recipe: Recipe) -> Recipe:
    """The linear scaling rule: the learning rate times the global batch over the recipe's own batch."""
    from ..recipes import registry

    own = registry.get(recipe.name).batch_size
    rate = params.lookup(recipe, "learning_rate").default
    return params.apply(recipe, {"learning_rate": rate * recipe.batch_size / own})


def build_parser(recipe: Recipe, prog: str | None = None) -> argparse.ArgumentParser:
    # The recipe module's docstring states the experiment; the original's result is the recipe's data.
    doc = (importlib.import_module(f"kerasketch.recipes.{recipe.name}").__doc__ or "").strip()
    if recipe.original is not None:
        doc += (
            f"\n\nThe original reached val_acc {recipe.original.val_acc:.4f} at epoch {recipe.original.best_epoch}"
            " (the log's protocol: 200 random classes at --fraction 0.01)."
        )
    parser = argparse.ArgumentParser(
        prog=prog or f"python -m kerasketch.recipes.{recipe.name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_options(parser)
    return parser


def run_from_args(recipe: Recipe, args: argparse.Namespace) -> int:
    from ..presenter import Terminal
    from ..tracking.live import LiveTracker
    from ..training.run import run  # imports Keras and torch: only once a run starts

    recipe = apply_overrides(recipe, args)
    world = distributed.world_from_env()
    if args.nproc > 1 or world.distributed:
        distributed.check_backend(active_backend.name())
    if getattr(args, "address", None) is not None and not world.distributed:
        return _train_on_ray(recipe, args)
    if args.nproc > 1 and not world.distributed:
        from .launch import relaunch

        distributed.check_batch(recipe.batch_size, distributed.World(size=args.nproc))  # before starting ranks
        return relaunch(args.nproc)
    # Rank 0 speaks for the run, to trackers too.
    tracker = LiveTracker(args.track, track_target(args)) if args.track and world.leader else None
    options = run_options(recipe, args, listeners=(tracker.listener,) if tracker else ())
    result = None
    try:
        result = run(recipe, options, presenter=Terminal.for_command(quiet=args.quiet, events=args.events))
    finally:
        if tracker is not None:
            # After a failure too: the tracker's copy says how the run ended.
            tracker.finish(result.run_dir if result else None)
    if tracker is not None and not args.quiet:
        for line in tracker.sent.values():
            print(f"tracked: {line}", file=sys.stderr if args.events == "-" else sys.stdout)
    return result.exit_code


def _train_on_ray(recipe: Recipe, args: argparse.Namespace) -> int:
    """``--address``: the --nproc ranks as Ray Train workers; the run's options travel to them."""
    from ..training.ray_train import train_on_ray

    if args.track:
        raise ConfigError("--track is not available with --address yet", "track the run folder afterwards")
    return train_on_ray(recipe, run_options(recipe, args), address=args.address, workers=args.nproc, say=print)


def run_options(recipe: Recipe, args: argparse.Namespace, *, listeners: tuple = ()):
    """The parsed command line as the run's options (``training.run.RunOptions``)."""
    from ..training.run import RunOptions  # imports Keras and torch: only once a run starts

    return RunOptions(
        data=data_config_from_args(args, image_size=recipe.image_size),
        runs_dir=args.runs_dir,
        name=args.name,
        events=args.events,
        quiet=args.quiet,
        fresh=args.fresh,
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        listeners=listeners,
        **training_options(args),
    )


def training_options(args: argparse.Namespace) -> dict:
    """The run options that shape how a run trains and reads its data, as ``RunOptions`` names them
    (a sweep hands the same ones to each trial)."""
    given = cache_options_from_args(args)
    return {
        "jit_compile": args.jit_compile,
        "precision": args.precision,
        "shuffle": args.shuffle,
        "class_weight": args.class_weight,
        "logit_adjust": args.logit_adjust,
        "sampler": args.sampler,
        "focal_alpha": args.focal_alpha,
        "focal_gamma": args.focal_gamma,
        "dist_backend": args.dist_backend,
        "dist_timeout": args.dist_timeout,
        "threads": args.threads,
        "sync_bn": args.sync_bn,
        "stream": given["stream"],
        "stream_threshold": given["threshold"],
        "build_memory": given["budget"],
        "build_workers": given["workers"],
    }


def main(recipe: Recipe, argv: list[str] | None = None) -> int:
    return guarded(lambda: run_from_args(recipe, build_parser(recipe).parse_args(argv)))
