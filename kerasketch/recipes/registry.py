"""The one list of recipes that the command line and the dashboard both read."""

from __future__ import annotations

import difflib
import importlib

from ..errors import ConfigError
from .base import Recipe

#: In the order of the original log's summary table.
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
