"""The data options of ``kerasketch data prepare``, ``kerasketch run`` and the recipes, and the
``DataConfig`` they make (the options themselves are defined in :mod:`kerasketch.options`)."""

from __future__ import annotations

import argparse

from .. import options
from ..data.assembly import DataConfig
from ..validation import parse_classes


def add_data_options(parser: argparse.ArgumentParser) -> None:
    options.add_options(parser, groups=(options.DATA,))


def data_config(settings: options.RunSettings, *, image_size: int) -> DataConfig:
    """What data a run (or a sweep, or ``data prepare``) reads: the data options at ``image_size``."""
    return DataConfig(
        data=settings.data,
        classes=parse_classes(settings.classes),
        fraction=settings.fraction,
        max_per_class=settings.max_per_class,
        seed=settings.seed,
        image_size=image_size,
    )
