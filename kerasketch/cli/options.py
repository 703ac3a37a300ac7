"""Command-line options shared by ``kerasketch data prepare``, ``kerasketch run`` and the recipes."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.assembly import DataConfig
from ..errors import ConfigError


def parse_classes(text: str | None) -> tuple[str, ...] | int | None:
    """``--classes``: ``all``, a number to draw with the seed, or comma-separated names."""
    if text is None or text.strip().lower() == "all":
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ConfigError(f"--classes {text!r} names no class", "give a number, 'all', or names separated by commas")
    return names


def add_data_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("data")
    g.add_argument(
        "--data",
        help="a file or folder of Quick, Draw! .npy / .ndjson / .npz files, or 'synthetic' "
        "(default: data/quickdraw if it holds files, else the built-in synthetic set)",
    )
    g.add_argument(
        "--classes",
        help="'all' (default), a number of classes drawn with the seed (the original used 200), "
        "or comma-separated class names",
    )
    amount = g.add_mutually_exclusive_group()
    amount.add_argument(
        "--fraction", type=float, help="keep this fraction of each class, drawn with the seed (the original kept 0.01)"
    )
    amount.add_argument(
        "--max-per-class", type=int, help="keep at most this many drawings per class, drawn with the seed"
    )
    g.add_argument(
        "--seed",
        type=int,
        default=0,
        help="one seed for class choice, sampling, split, initialisation and shuffling (default 0)",
    )
    g.add_argument("--cache-dir", type=Path, help="where assembled datasets are cached as HDF5 (default data/cache)")
    g.add_argument("--no-cache", action="store_true", help="assemble the dataset from the sources without the cache")
    parser.add_argument("--quiet", action="store_true", help="print only the essentials")


def data_config_from_args(args: argparse.Namespace, *, image_size: int) -> DataConfig:
    return DataConfig(
        data=args.data,
        classes=parse_classes(args.classes),
        fraction=args.fraction,
        max_per_class=args.max_per_class,
        seed=args.seed,
        image_size=image_size,
    )
