"""``kerasketch data ...``: inspect, render, assemble and download Quick, Draw! data."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import options, wording
from ..console import progress_bar, silence_stdout
from ..data import assembly
from ..data.assembly import DataConfig
from ..data.fs_errors import output_error, remove_quietly
from ..errors import DataError
from .options import add_data_options, data_config

if TYPE_CHECKING:
    from ..data.sources import Stroke3Source


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="inspect, render, assemble and download data")
    cmds = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    info = cmds.add_parser("info", help="classes, counts, formats and imbalance of a data path")
    info.add_argument(
        "--data", help="a file or folder of .npy/.ndjson/.npz files (default: data/quickdraw, else the synthetic set)"
    )
    info.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    info.set_defaults(handler=cmd_info)

    ras = cmds.add_parser("rasterize", help="render an ndjson file to (N, S*S) uint8 rows, in file order")
    ras.add_argument("file", type=Path, help="a simplified or raw .ndjson file")
    ras.add_argument(
        "--size", type=int, default=28, help="image side in pixels (default 28, the official bitmaps' size)"
    )
    ras.add_argument("-o", "--output", type=Path, required=True, help="the .npy file to write")
    ras.add_argument("--quiet", action="store_true", help="no progress bar")
    ras.set_defaults(handler=cmd_rasterize)

    prep = cmds.add_parser(
        "prepare", help="assemble (or reopen) the cached dataset that a run with these options would use"
    )
    add_data_options(prep)
    prep.add_argument("--image-size", type=int, default=28, help="image side in pixels (default 28)")
    prep.add_argument("--json", action="store_true", help="print the summary as JSON")
    prep.set_defaults(handler=cmd_prepare)

    cache = cmds.add_parser("cache", help="the dataset caches: list them (size, data, last use) or prune them")
    caches = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    cl = caches.add_parser("list", help="every dataset cache: its size, its data and when a run last used it")
    cl.add_argument("--cache-dir", type=Path, help="the cache folder (default data/cache)")
    cl.add_argument("--json", action="store_true", help="print a JSON list")
    cl.set_defaults(handler=cmd_cache_list)
    cp = caches.add_parser("prune", help="remove the caches no run has used for a while (a run rebuilds one)")
    cp.add_argument("--cache-dir", type=Path, help="the cache folder (default data/cache)")
    which = cp.add_mutually_exclusive_group()
    which.add_argument(
        "--unused-days",
        type=float,
        default=DEFAULT_UNUSED_DAYS,
        metavar="DAYS",
        help=f"remove the caches unused for this many days (default {DEFAULT_UNUSED_DAYS:g})",
    )
    which.add_argument("--all", action="store_true", help="remove every cache (but one being built)")
    cp.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    cp.set_defaults(handler=cmd_cache_prune)

    dl = cmds.add_parser("download", help="fetch official numpy bitmap files into data/quickdraw/")
    dl.add_argument("classes", nargs="*", help="class names (default: all 345 official classes)")
    dl.add_argument("--classes-file", type=Path, help="a text file with one class name per line")
    dl.add_argument(
        "--first", type=int, metavar="N", help="only the first N drawings of each class (HTTP Range requests)"
    )
    dl.add_argument("--dest", type=Path, help="destination folder (default: data/quickdraw)")
    dl.add_argument("--base-url", help="a mirror of the bucket's full/numpy_bitmap/ folder")
    dl.add_argument("--quiet", action="store_true", help="no progress bars")
    dl.set_defaults(handler=cmd_download)


def cmd_info(args: argparse.Namespace) -> int:
    config = DataConfig(data=args.data)
    data = config.resolved_data()
    if data == assembly.SYNTHETIC:
        from ..data.synthetic import SYNTHETIC_CLASSES, SYNTHETIC_NAME

        counts = {c: config.synthetic_per_class for c in sorted(SYNTHETIC_CLASSES)}
        report = _info_report(SYNTHETIC_NAME, counts, {"synthetic": len(counts)}, 0, synthetic=True)
        report["class_formats"] = {c: ["synthetic"] for c in counts}
    else:
        from ..data.sources import scan

        catalog = scan(data)
        report = _info_report(str(catalog.root), catalog.counts, catalog.formats, catalog.skipped, synthetic=False)
        report["class_formats"] = catalog.layouts_per_class()
    mixed = {c: f for c, f in report["class_formats"].items() if len(f) > 1}
    report["mixed_format_classes"] = sorted(mixed)
    if args.json:
        return _write_stdout(json.dumps(report, indent=2) + "\n")
    width = max(len(c) for c in report["classes"])
    lines = []
    if report["synthetic"]:
        lines.append("SYNTHETIC data (built-in shapes, not Quick, Draw! drawings)")
    lines.append(f"source: {report['source']}")
    lines.append(
        "formats: " + ", ".join(f"{fmt} ({n} file{'s' if n > 1 else ''})" for fmt, n in report["formats"].items())
    )
    for name, n in report["classes"].items():
        merged = f"  merged from {', '.join(mixed[name])}" if name in mixed else ""
        lines.append(f"  {name:<{width}}  {n:>9,}{merged}")
    lines.append(f"{wording.classes(report['num_classes'])}, {wording.plural(report['total'], 'drawing')}")
    extremes = wording.largest_and_smallest(report["largest_class"], report["smallest_class"], report["num_classes"])
    lines.append(f"imbalance {report['imbalance']}: {extremes}")
    if mixed:
        lines.append(
            f"note: {len(mixed)} class{'es' if len(mixed) > 1 else ''} merge{'' if len(mixed) > 1 else 's'} drawings "
            "of several formats (bitmap, simplified or raw strokes, stroke-3); point --data at one format's "
            "folder to keep them apart"
        )
    if report["skipped_bad_lines"]:
        lines.append(f"skipped {report['skipped_bad_lines']} bad ndjson line(s)")
    return _write_stdout("\n".join(lines) + "\n")


def _write_stdout(text: str) -> int:
    """Write ``text``; a reader that stopped early (``| head``) ends the command quietly."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        return silence_stdout()
    return 0


def _info_report(source: str, counts: dict[str, int], formats: dict[str, int], skipped: int, synthetic: bool) -> dict:
    largest = max(counts, key=lambda c: counts[c])
    smallest = min(counts, key=lambda c: counts[c])
    return {
        "source": source,
        "synthetic": synthetic,
        "formats": formats,
        "num_classes": len(counts),
        "classes": counts,
        "total": sum(counts.values()),
        "largest_class": [largest, counts[largest]],
        "smallest_class": [smallest, counts[smallest]],
        "imbalance": round(counts[largest] / counts[smallest], 3),
        "skipped_bad_lines": skipped,
    }


def cmd_rasterize(args: argparse.Namespace) -> int:
    from ..data.rasterize import rasterize
    from ..data.sources import NdjsonSource, Stroke3Source

    if not args.file.exists():
        raise DataError(f"{args.file} does not exist", "give the path of a .ndjson or sketch-rnn .npz file")
    suffix = args.file.suffix.lower()
    if suffix not in (".ndjson", ".npz"):
        raise DataError(
            f"{args.file}: `data rasterize` reads .ndjson and sketch-rnn .npz stroke files",
            "numpy bitmap .npy files are images already",
        )
    if not 1 <= args.size <= 1024:
        raise DataError(f"--size must be between 1 and 1024, got {args.size}")
    chunks: Iterator[np.ndarray]
    source: NdjsonSource | Stroke3Source
    if suffix == ".ndjson":
        source = NdjsonSource(args.file)
        chunks = (rasterize(drawings, args.size) for drawings in source.drawings_in_file_order())
    else:
        source = Stroke3Source(args.file)
        chunks = _npz_in_file_order(source, args.size)
    total = sum(source.counts.values())
    rows = []
    with progress_bar(not args.quiet) as progress:
        done = 0
        for images in chunks:
            # Not reshape(n, -1): a chunk whose every drawing was skipped (too costly to simplify) holds none.
            rows.append(images.reshape(len(images), args.size * args.size))
            done += len(images)
            progress(f"rasterizing {args.file.name}", done, total)
    out = np.concatenate(rows) if rows else np.zeros((0, args.size * args.size), np.uint8)
    _save_npy_atomically(out, args.output)
    skipped = f", skipped {source.skipped} bad line(s)" if source.skipped else ""
    print(f"wrote {args.output}: {out.shape[0]} drawings x {out.shape[1]} pixels ({args.size}x{args.size}){skipped}")
    for note in source.notes():
        print(f"note: {note}")
    return 0


def _npz_in_file_order(source: Stroke3Source, size: int, chunk: int = 10_000) -> Iterator[np.ndarray]:
    [(cls, n)] = source.counts.items()
    for start in range(0, n, chunk):
        yield source.images(cls, np.arange(start, min(start + chunk, n)), size)


def _save_npy_atomically(array: np.ndarray, path: Path) -> None:
    """Write under a temporary name beside ``path`` and rename: a failure leaves nothing behind."""
    if path.is_dir():
        raise DataError(f"{path} is a folder", "give the name of the .npy file to write with -o")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.save(f, array)
        os.replace(tmp, path)
    except OSError as err:
        raise output_error(err, path) from None
    finally:
        remove_quietly(tmp)


#: What `data cache prune` removes by default: caches no run has opened for this many days.
DEFAULT_UNUSED_DAYS = 30.0


def _cache_dir(args: argparse.Namespace) -> Path:
    from ..data.cache import default_cache_dir

    return args.cache_dir if args.cache_dir is not None else default_cache_dir()


def _cache_line(entry) -> str:
    from rich.filesize import decimal

    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_use))
    if entry.classes is None:
        data = f"{entry.source} (unreadable)" if entry.finished else "an unfinished build"
    else:
        kind = "SYNTHETIC " if entry.synthetic else ""
        size = f"{entry.image_size}x{entry.image_size}" if entry.image_size else "?"
        data = (
            f"{kind}{entry.source}: {wording.classes(entry.classes)}, {wording.plural(entry.drawings or 0, 'drawing')}"
            f" at {size}" + (f", {entry.selection}" if entry.selection else "")
        )
        if not entry.finished:
            data += " (unfinished build: the same run resumes it)"
    return f"{decimal(entry.bytes):>9}  {when}  {entry.path.name}  {data}"


def cmd_cache_list(args: argparse.Namespace) -> int:
    from ..data.cache_admin import entries

    where = _cache_dir(args)
    found = entries(where)
    if args.json:
        return _write_stdout(json.dumps([e.to_json() for e in found], indent=2) + "\n")
    if not found:
        return _write_stdout(f"no dataset caches in {where}\n")
    total = sum(e.bytes for e in found)
    from rich.filesize import decimal

    lines = [f"{where}: {wording.plural(len(found), 'cache')}, {decimal(total)} (most recently used first)"]
    lines += [_cache_line(e) for e in found]
    return _write_stdout("\n".join(lines) + "\n")


def cmd_cache_prune(args: argparse.Namespace) -> int:
    from rich.filesize import decimal

    from ..data.cache_admin import prune

    where = _cache_dir(args)
    gone = prune(where, unused_days=None if args.all else args.unused_days, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    why = "" if args.all else f" unused for {args.unused_days:g} days or more"
    print(f"{where}: {verb} {wording.plural(len(gone), 'cache')}{why}, {decimal(sum(e.bytes for e in gone))}")
    for entry in gone:
        print(f"  {_cache_line(entry)}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    import time

    from ..data import cache  # h5py: only here, so that `kerasketch list` does not import it

    settings = options.settings_from_args(args)
    config = data_config(settings, image_size=args.image_size)
    start = time.perf_counter()
    with progress_bar(not args.quiet) as progress:
        dataset = cache.load_or_build(config, settings.cache_dir, progress=progress, **settings.cache_options())
    seconds = time.perf_counter() - start
    if args.json:
        summary = {**dataset.summary(), "seconds": round(seconds, 3), "from_cache": dataset.from_cache}
        print(json.dumps({**summary, "streaming": dataset.streaming, "images_bytes": dataset.images_bytes}, indent=2))
    else:
        print(dataset.describe())
        print(f"  ready in {seconds:.2f} s")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from ..data.categories import official_classes
    from ..data.download import DownloadError, DownloadProgress, download

    classes = list(args.classes)
    if args.classes_file:
        if not args.classes_file.exists():
            raise DataError(f"{args.classes_file} does not exist", "give a text file with one class name per line")
        classes += [ln.strip() for ln in args.classes_file.read_text().splitlines() if ln.strip()]
    if args.first is not None and args.first < 1:
        raise DataError(f"--first must be at least 1, got {args.first}")
    dest = args.dest or assembly.default_data_root() / "quickdraw"
    kwargs = {"base_url": args.base_url} if args.base_url else {}
    with contextlib.ExitStack() as stack:
        progress: DownloadProgress | None = None
        if not args.quiet:
            from .download_progress import RichDownloadProgress

            progress = stack.enter_context(RichDownloadProgress(len(set(classes)) or len(official_classes())))
        try:
            results = download(classes or None, dest, max_drawings=args.first, progress=progress, **kwargs)
        except DownloadError as err:
            raise DataError(err.message, _DOWNLOAD_HINTS.get(err.kind, err.hint)) from None
    failed = [r for r in results if r.status == "failed"]
    by_status: dict[str, int] = {}
    for r in results:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    print(f"{dest}: " + ", ".join(f"{n} {status}" for status, n in sorted(by_status.items())))
    for r in failed:
        print(f"  failed: {r.error}")
    for hint in dict.fromkeys(_DOWNLOAD_HINTS.get(r.failure or "", r.hint) for r in failed):
        if hint:
            print(f"hint: {hint}")
    return 1 if failed else 0


# The data layer words its advice in terms of settings; here they are this command's flags.
# (A disk failure's own hint names the folder, which is better than naming --dest.)
_DOWNLOAD_HINTS = {
    "base_url": "check the class names and that --base-url points at a Quick, Draw! full/numpy_bitmap folder "
    "or a faithful mirror (the default is the official bucket)",
    "network": "check the network connection (or point --base-url at a reachable mirror) and run the command "
    "again: finished classes are skipped and an interrupted full download resumes",
}
