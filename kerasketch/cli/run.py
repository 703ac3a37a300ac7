"""``python -m kerasketch.recipes.<name>`` and ``kerasketch run <name>``: one parser, one entry point.

The recipes are data; this is the command line that starts one. A recipe
module's ``__main__`` guard calls :func:`main` here.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import active_backend, options, validation
from ..console import guarded
from ..errors import ConfigError
from ..recipes import params
from ..recipes.base import Recipe
from ..tracking.target import Target
from ..training import distributed
from .options import data_config


def add_run_options(parser: argparse.ArgumentParser, *, ray_address: bool = True) -> None:
    """The run command's options (:mod:`kerasketch.options` defines them); ``ray_address=False`` where the
    command has its own ``--address`` (a sweep's)."""
    options.add_options(parser, leave_out=() if ray_address else ("address",))


def track_target(settings: options.RunSettings, group: str | None = None) -> Target:
    """Where ``--track`` sends to, from the options."""
    return Target(track_dir=settings.track_dir or settings.runs_dir / "tracking", uri=settings.track_uri, group=group)


def apply_overrides(recipe: Recipe, settings: options.RunSettings) -> Recipe:
    """The recipe with the command's overrides (``--epochs`` ... ``--set``, ``--scale-lr``), checked."""
    changes: dict = {
        field: getattr(settings, field)
        for field in ("epochs", "batch_size", "patience", "image_size")
        if getattr(settings, field) is not None
    }
    if settings.weights is not None:
        if recipe.weights is None:
            raise ConfigError(
                f"--weights applies to the pretrained recipes (vgg16_bn, resnet50), not {recipe.name}",
                "from-scratch models start from their original initialisation",
            )
        changes["weights"] = settings.weights
    if settings.ts_cnn_head is not None:
        if recipe.model != "ts_cnn":
            raise ConfigError(f"--ts-cnn-head applies to the ts_cnn recipe, not {recipe.name}")
        changes["model_options"] = {**recipe.model_options, "ts_cnn_head": settings.ts_cnn_head}
    if settings.loss is not None:
        changes["loss"] = settings.loss  # config.json's recipe then names the loss the run trains with
    recipe = recipe.with_(**changes) if changes else recipe
    recipe = params.apply(recipe, params.parse_assignments(recipe, list(settings.set)))
    # The loss's options against the loss, before any data is read (a sweep's trials included).
    validation.check_loss_options(
        recipe.loss,
        recipe=recipe.name,
        label_smoothing=recipe.label_smoothing,
        logit_adjust=settings.logit_adjust,
        focal_alpha=settings.focal_alpha,
        focal_gamma=settings.focal_gamma,
    )
    if settings.scale_lr == "linear":
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

    settings: options.RunSettings = options.settings_from_args(args)
    recipe = apply_overrides(recipe, settings)
    world = distributed.world_from_env()
    if settings.nproc > 1 or world.distributed:
        distributed.check_backend(active_backend.name())
    if settings.address is not None and not world.distributed:
        return _train_on_ray(recipe, settings)
    if settings.nproc > 1 and not world.distributed:
        from .launch import relaunch

        distributed.check_batch(recipe.batch_size, distributed.World(size=settings.nproc))  # before starting ranks
        return relaunch(settings.nproc)
    # Rank 0 speaks for the run, to trackers too.
    tracker = LiveTracker(settings.track, track_target(settings)) if settings.track and world.leader else None
    run_opts = run_options(recipe, settings, listeners=(tracker.listener,) if tracker else ())
    result = None
    try:
        result = run(recipe, run_opts, presenter=Terminal.for_command(quiet=settings.quiet, events=settings.events))
    finally:
        if tracker is not None:
            # After a failure too: the tracker's copy says how the run ended.
            tracker.finish(result.run_dir if result else None)
    if tracker is not None and not settings.quiet:
        for line in tracker.sent.values():
            print(f"tracked: {line}", file=sys.stderr if settings.events == "-" else sys.stdout)
    return result.exit_code


def _train_on_ray(recipe: Recipe, settings: options.RunSettings) -> int:
    """``--address``: the --nproc ranks as Ray Train workers; the run's options travel to them."""
    from ..training.ray_train import train_on_ray

    if settings.track:
        raise ConfigError("--track is not available with --address yet", "track the run folder afterwards")
    address = settings.address or ""
    return train_on_ray(recipe, run_options(recipe, settings), address=address, workers=settings.nproc, say=print)


def run_options(recipe: Recipe, settings: options.RunSettings, *, listeners: tuple = ()):
    """The command's settings as the run's options (``training.run.RunOptions``): its run options
    by their names, and the data's settings at the recipe's image size."""
    from ..training.run import RunOptions  # imports Keras and torch: only once a run starts

    return RunOptions(
        data=data_config(settings, image_size=recipe.image_size), listeners=listeners, **settings.values()
    )


def main(recipe: Recipe, argv: list[str] | None = None) -> int:
    return guarded(lambda: run_from_args(recipe, build_parser(recipe).parse_args(argv)))
