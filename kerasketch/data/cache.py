"""Assembled datasets cached as HDF5, so a second run with the same settings starts in seconds.

The key hashes the data configuration (with the data's resolved path, however
it was spelled), the source files' fingerprint (resolved path, size,
modification time) and the code that turns sources into images, so a
changed file, setting or renderer never reuses a stale cache. Files are
written under a temporary name and renamed into place: an interrupted build
leaves no half-written cache under the final name, and resumes when run again
(``cache_build.py`` writes them in bounded memory, on every core). A cache
file that cannot be read is rebuilt.

A cache is opened in one of two ways (:func:`open_cache`): its images loaded
whole (fast, and what small datasets get), or left on disk and read a batch
at a time (:class:`~kerasketch.data.cached_rows.CachedRows`), above a size
threshold or when asked: memory then stays bounded whatever the dataset's size.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import ConfigError, DataError
from ..options import DEFAULT_BUILD_MEMORY, DEFAULT_STREAM_THRESHOLD, STREAM_MODES
from . import assembly, cache_build
from .assembly import SPLITS, DataConfig, Dataset, Progress, default_data_root
from .cached_rows import CachedRows
from .fs_errors import output_error, remove_quietly
from .sources import READERS, fingerprint, scan

# Bump when the cache layout changes.
_LAYOUT = 3
# The code that decides pixel values: a change to it must invalidate caches.
_CODE = ("rasterize.py", "strokes.py", "sources.py", "synthetic.py", "assembly.py")


def default_cache_dir() -> Path:
    return default_data_root() / "cache"


def cache_key(config: DataConfig) -> str:
    """The name of ``config``'s cache: the same data under any spelling of its path (relative, absolute,
    through a symlink) has one key, as its files' resolved paths, sizes and times do."""
    data = config.resolved_data()
    if data == assembly.SYNTHETIC:
        files: list = []
    else:
        root = Path(data).expanduser().resolve()
        data = str(root)
        paths = (
            [root]
            if root.is_file()
            else sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in READERS)
        )
        files = fingerprint(paths)
    here = Path(__file__).parent
    code = hashlib.sha256(b"".join((here / name).read_bytes() for name in _CODE if (here / name).exists())).hexdigest()
    payload = {"layout": _LAYOUT, "config": {**config.to_json(), "data": data}, "files": files, "code": code}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def load_or_build(
    config: DataConfig,
    cache_dir: Path | None = None,
    *,
    progress: Progress | None = None,
    no_cache: bool = False,
    stream: str = "never",
    stream_threshold: int = DEFAULT_STREAM_THRESHOLD,
    build_memory: int = DEFAULT_BUILD_MEMORY,
    build_workers: int | None = None,
) -> Dataset:
    """The dataset for ``config``: reopened from the cache when it is there, else built and cached
    (``no_cache``: assembled in memory).

    The keyword arguments are the run options of the same names (:mod:`kerasketch.options`):
    ``stream`` chooses how its images are opened (:func:`open_cache`); ``build_memory`` and
    ``build_workers`` bound a build's memory and its processes.
    """
    if stream not in STREAM_MODES:
        raise ConfigError(f"--stream must be one of {', '.join(STREAM_MODES)}, got {stream!r}")
    if no_cache:
        if stream == "always":
            raise ConfigError(
                "--stream always reads the dataset from its cache, and --no-cache has none",
                "drop --no-cache, or --stream",
            )
        return assembly.build(config, progress)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_dir / f"dataset-{cache_key(config)}.h5"
    if path.exists():
        try:
            dataset = open_cache(path, stream, stream_threshold)
        except DataError as err:
            print(f"warning: {err.message}; rebuilding it", file=sys.stderr)
        else:
            mark_used(path)
            return dataset
    _check_writable(cache_dir, path)  # before the build, which may take minutes
    try:
        with cache_build.build_lock(path):
            if path.exists():  # another process built it while this one waited
                with contextlib.suppress(DataError):
                    return open_cache(path, stream, stream_threshold)
            _build(config, path, progress, build_memory, build_workers)
    except OSError as err:  # h5py's write errors are OSErrors too
        # A failed write (a full disk) cannot be resumed from: free what it took.
        for leftover in (
            cache_build.partial_path(path),
            cache_build.state_path(path),
            path.with_name(f".{path.name}.lock"),
        ):
            remove_quietly(leftover)
        raise _cache_error(err, path) from None
    dataset = open_cache(path, stream, stream_threshold)
    dataset.from_cache = False
    return dataset


def _build(config: DataConfig, path: Path, progress: Progress | None, budget: int, workers: int | None) -> None:
    attrs = {"config": json.dumps(config.to_json()), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    data = config.resolved_data()
    if data == assembly.SYNTHETIC:
        # Small by nature (generated in memory): written in one go.
        write(assembly.build(config, progress), path, config)
        return
    catalog = scan(data)
    cache_build.build(
        config,
        catalog,
        path,
        {**attrs, "source": str(catalog.root), "synthetic": False},
        budget=budget,
        workers=workers,
        progress=progress,
    )


def write(dataset: Dataset, path: Path, config: DataConfig) -> None:
    """Write an in-memory dataset under a temporary name and rename it; on failure nothing is left behind."""
    tmp = cache_build.partial_path(path)
    try:
        _make_folder(path.parent)
        with h5py.File(tmp, "w") as f:
            for split in SPLITS:
                f.create_dataset(f"x_{split}", data=getattr(dataset, f"x_{split}"))
                f.create_dataset(f"y_{split}", data=getattr(dataset, f"y_{split}").astype(np.int32))
            f.attrs["class_names"] = json.dumps(dataset.class_names)
            f.attrs["source"] = dataset.source
            f.attrs["synthetic"] = dataset.synthetic
            f.attrs["skipped"] = dataset.skipped
            f.attrs["too_costly"] = dataset.too_costly
            f.attrs["notes"] = json.dumps(dataset.notes)
            if dataset.digest is not None:
                f.attrs["digest"] = dataset.digest
            f.attrs["config"] = json.dumps(config.to_json())
            f.attrs["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        os.replace(tmp, path)
    except OSError as err:  # h5py's write errors are OSErrors too
        raise _cache_error(err, path) from None
    finally:
        remove_quietly(tmp)


def _make_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise OSError(errno.ENOTDIR, "Not a directory", str(folder))
    folder.mkdir(parents=True, exist_ok=True)


def _cache_error(err: OSError, path: Path) -> DataError:
    plain = output_error(err, path.parent, "the dataset cache in")
    return DataError(plain.message, f"{plain.hint}: give another cache folder, or build the dataset without a cache")


def _check_writable(folder: Path, path: Path) -> None:
    probe = folder / f".probe.{os.getpid()}.tmp"
    try:
        _make_folder(folder)
        probe.write_bytes(b"")
    except OSError as err:
        raise _cache_error(err, path) from None
    finally:
        remove_quietly(probe)


def read(path: Path) -> Dataset:
    """The cached dataset at ``path``, loaded whole; ``DataError`` when it cannot be read."""
    return open_cache(path, "never")


def mark_used(path: Path) -> None:
    """Record that the cache at ``path`` was used now (its modification time, which `data cache list` shows
    and `data cache prune` goes by); a read-only cache folder keeps its old time."""
    with contextlib.suppress(OSError):
        os.utime(path)


def open_cache(path: Path, stream: str = "auto", threshold: int = DEFAULT_STREAM_THRESHOLD) -> Dataset:
    """The cached dataset at ``path``: images loaded, or left on disk and read as needed.

    ``stream``: "never" loads them, "always" leaves them on disk, "auto" leaves them there
    when they exceed ``threshold`` bytes. ``DataError`` when the file cannot be read,
    whatever is wrong with it (checked before anything is used: a truncated or corrupt
    cache is one message, never a failure half-way through training).
    """
    try:
        return _open(Path(path), stream, threshold)
    except Exception as err:  # h5py, json and numpy each raise their own for a damaged file
        raise DataError(f"dataset cache {path} is unreadable ({type(err).__name__}: {err})") from None


def _open(path: Path, stream: str, threshold: int) -> Dataset:
    file_size = path.stat().st_size
    with h5py.File(path, "r") as f:
        class_names = json.loads(f.attrs["class_names"])
        if not isinstance(class_names, list) or not all(isinstance(n, str) for n in class_names):
            raise ValueError("class_names is not a list of names")
        arrays: dict[str, Any] = {}
        images_bytes = 0
        for split in SPLITS:
            # Labels stay as stored (int32): 4 bytes a drawing that an int64 copy would double at 50M drawings.
            x, y = f[f"x_{split}"], np.asarray(f[f"y_{split}"][()])
            if y.ndim != 1 or y.dtype.kind not in "iu":
                raise ValueError(f"y_{split} is {y.dtype} {y.shape}, not one integer label per drawing")
            # x may hold more rows than y: rows of drawings dropped while reading stay unused at its end.
            if x.ndim != 3 or x.dtype != np.uint8 or x.shape[1] != x.shape[2] or len(y) > len(x):
                raise ValueError(f"x_{split} {x.shape} {x.dtype} does not match y_{split} ({len(y)})")
            if len(y) and (y.min() < 0 or y.max() >= len(class_names)):
                raise ValueError(f"y_{split} holds labels outside the {len(class_names)} classes")
            offset = x.id.get_offset()
            if len(x) and (offset is None or offset + x.id.get_storage_size() > file_size):
                raise ValueError(f"x_{split} ends beyond the end of the file (truncated?)")
            arrays[f"y_{split}"] = y
            arrays[f"x_{split}"] = x
            images_bytes += len(y) * x.shape[1] * x.shape[2]
        streaming = stream == "always" or (stream == "auto" and images_bytes > threshold)
        for split in SPLITS:
            x, n = arrays[f"x_{split}"], len(arrays[f"y_{split}"])
            if streaming:
                arrays[f"x_{split}"] = CachedRows(path, x.id.get_offset() or 0, n, x.shape[1])
            else:
                arrays[f"x_{split}"] = x[:n]
        return Dataset(
            class_names=class_names,
            source=str(f.attrs["source"]),
            synthetic=bool(f.attrs["synthetic"]),
            skipped=int(f.attrs["skipped"]),
            too_costly=int(f.attrs.get("too_costly", 0)),
            notes=json.loads(f.attrs.get("notes", "[]")),
            digest=str(f.attrs["digest"]) if "digest" in f.attrs else None,
            cache_path=path,
            from_cache=True,
            streaming=streaming,
            **arrays,
        )
