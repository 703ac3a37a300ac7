"""Command-line options shared by ``kerasketch data prepare``, ``kerasketch run`` and the recipes."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.assembly import DataConfig
from ..validation import parse, parse_classes, parse_size


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
        "--fraction", metavar="F", help="keep this fraction of each class, drawn with the seed (the original kept 0.01)"
    )
    amount.add_argument(
        "--max-per-class", metavar="N", help="keep at most this many drawings per class, drawn with the seed"
    )
    g.add_argument(
        "--seed",
        metavar="S",
        default="0",
        help="one seed for class choice, sampling, split, initialisation and shuffling (default 0)",
    )
    g.add_argument("--cache-dir", type=Path, help="where assembled datasets are cached as HDF5 (default data/cache)")
    g.add_argument("--no-cache", action="store_true", help="assemble the dataset from the sources without the cache")
    g.add_argument(
        "--stream",
        choices=("auto", "always", "never"),
        default="auto",
        help="read the cached images from disk a batch at a time instead of loading them: "
        "'auto' (default) above --stream-threshold, 'always', or 'never'",
    )
    g.add_argument(
        "--stream-threshold",
        metavar="SIZE",
        default="2G",
        help="with --stream auto, stream datasets whose images exceed this (default 2G)",
    )
    g.add_argument(
        "--build-memory",
        metavar="SIZE",
        default="512M",
        help="building a cache keeps at most about this much image data in memory, whatever the dataset's size (default 512M)",
    )
    g.add_argument(
        "--build-workers",
        metavar="N",
        help="processes that read and render while a cache is built (default: every core)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the essentials")


def data_config_from_args(args: argparse.Namespace, *, image_size: int) -> DataConfig:
    # Numbers arrive as text and are parsed by kerasketch.validation, which the dashboard's form shares.
    return DataConfig(
        data=args.data,
        classes=parse_classes(args.classes),
        fraction=None if args.fraction is None else float(parse("fraction", args.fraction)),
        max_per_class=None if args.max_per_class is None else int(parse("max_per_class", args.max_per_class)),
        seed=int(parse("seed", args.seed)),
        image_size=image_size,
    )


def cache_options_from_args(args: argparse.Namespace) -> dict:
    """How the cache is built and opened: ``cache.load_or_build``'s keyword arguments."""
    return {
        "stream": args.stream,
        "threshold": parse_size("--stream-threshold", args.stream_threshold),
        "budget": parse_size("--build-memory", args.build_memory, minimum=2**20),
        "workers": None if args.build_workers is None else int(parse("build_workers", args.build_workers)),
    }
