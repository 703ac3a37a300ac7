"""The one list of recipes that the command line and the dashboard both read."""

from __future__ import annotations

import difflib
import importlib

from ..errors import ConfigError
from .base import Recipe

#: In the order of the original log's summary table, then ours.
NAMES = (
    "baseline",
    "vgg16_bn",
    "resnet50",
    "ts_cnn",
    "like_vgg",
    "like_vgg_focal",
    "like_vgg_rmsprop",
    "like_vgg_adamw",
    "ai_inno_cnn",
    "sketch_resnet",  # ours: no original result
)


def get(name: str) -> Recipe:
    if name not in NAMES:
        close = difflib.get_close_matches(name, NAMES, n=1)
        raise ConfigError(
            f"unknown recipe {name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
            f"the recipes are: {', '.join(NAMES)} (`kerasketch list`)",
        )
    return importlib.import_module(f"kerasketch.recipes.{name}").RECIPE


def all_recipes() -> list[Recipe]:
    return [get(n) for n in NAMES]


def number(recipe: Recipe) -> int:
    """The recipe's row: the log's number for its nine, the place in :data:`NAMES` for ours."""
    return recipe.original.number if recipe.original is not None else NAMES.index(recipe.name) + 1


def loss_label(recipe: Recipe) -> str:
    """The loss as the tables name it: the log's label, or ours in the same style."""
    if recipe.original is not None:
        return recipe.original.loss
    label = {"cross_entropy": "CEL", "focal": "Focal Loss"}.get(recipe.loss, recipe.loss)
    # Short, for the dashboard's 10-character column: "CEL+LS 0.1" is label smoothing 0.1.
    return f"{label}+LS {recipe.label_smoothing:g}" if recipe.label_smoothing else label


def optimizer_label(recipe: Recipe) -> str:
    """The optimiser as the tables name it: the log's label, or ours in the same style."""
    if recipe.original is not None:
        return recipe.original.optimizer
    label = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adamw": "AdamW"}.get(
        recipe.optimizer, recipe.optimizer
    )
    # Short, for the dashboard's 9-character column: "AdamW cos" is AdamW on a cosine schedule.
    return f"{label} {recipe.schedule[:3]}" if recipe.schedule != "constant" else label
