"""Assembled datasets cached as HDF5, so a second run with the same settings starts in seconds.

The key hashes the data configuration, the source files' fingerprint (path,
size, modification time) and the code that turns sources into images, so a
changed file, setting or renderer never reuses a stale cache. Files are
written under a temporary name and renamed into place: an interrupted build
leaves no half-written cache under the final name. A cache file that cannot
be read is rebuilt.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import h5py
import numpy as np

from ..errors import DataError
from . import assembly
from .assembly import DataConfig, Dataset, Progress, default_data_root
from .fs_errors import output_error, remove_quietly
from .sources import READERS, fingerprint

_SPLITS = ("train", "val", "test")
# Bump when the cache layout changes.
_LAYOUT = 2
# The code that decides pixel values: a change to it must invalidate caches.
_CODE = ("rasterize.py", "strokes.py", "sources.py", "synthetic.py", "assembly.py")


def default_cache_dir() -> Path:
    return default_data_root() / "cache"


def cache_key(config: DataConfig) -> str:
    data = config.resolved_data()
    if data == assembly.SYNTHETIC:
        files: list = []
    else:
        root = Path(data).expanduser()
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
    use_cache: bool = True,
) -> Dataset:
    """The dataset for ``config``: reopened from the cache when it is there, else built and cached."""
    if not use_cache:
        return assembly.build(config, progress)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_dir / f"dataset-{cache_key(config)}.h5"
    if path.exists():
        try:
            return read(path)
        except DataError as err:
            print(f"warning: {err.message}; rebuilding it", file=sys.stderr)
    _check_writable(cache_dir, path)  # before the build, which may take minutes
    dataset = assembly.build(config, progress)
    write(dataset, path, config)
    dataset.cache_path = path
    return dataset


def write(dataset: Dataset, path: Path, config: DataConfig) -> None:
    """Write the cache under a temporary name and rename it; on failure nothing is left behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _make_folder(path.parent)
        with h5py.File(tmp, "w") as f:
            for split in _SPLITS:
                f.create_dataset(f"x_{split}", data=getattr(dataset, f"x_{split}"))
                f.create_dataset(f"y_{split}", data=getattr(dataset, f"y_{split}").astype(np.int32))
            f.attrs["class_names"] = json.dumps(dataset.class_names)
            f.attrs["source"] = dataset.source
            f.attrs["synthetic"] = dataset.synthetic
            f.attrs["skipped"] = dataset.skipped
            f.attrs["too_costly"] = dataset.too_costly
            f.attrs["notes"] = json.dumps(dataset.notes)
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
    """The cached dataset at ``path``; ``DataError`` when it cannot be read, whatever is wrong with it."""
    try:
        return _read(path)
    except Exception as err:  # h5py, json and numpy each raise their own for a damaged file
        raise DataError(f"dataset cache {path} is unreadable ({type(err).__name__}: {err})") from None


def _read(path: Path) -> Dataset:
    with h5py.File(path, "r") as f:
        arrays = {}
        for split in _SPLITS:
            arrays[f"x_{split}"] = f[f"x_{split}"][()]
            arrays[f"y_{split}"] = f[f"y_{split}"][()].astype(np.int64)
        return Dataset(
            class_names=json.loads(f.attrs["class_names"]),
            source=str(f.attrs["source"]),
            synthetic=bool(f.attrs["synthetic"]),
            skipped=int(f.attrs["skipped"]),
            too_costly=int(f.attrs.get("too_costly", 0)),
            notes=json.loads(f.attrs.get("notes", "[]")),
            cache_path=path,
            from_cache=True,
            **arrays,
        )
