"""Dataset assembly, seeded: which classes, which drawings, which split.

The original drew 200 classes at random every time it ran and kept a random
1/100 of each, which made its results irreproducible. Here one seed decides
everything and the same settings always give the same dataset:

* classes: all, ``N`` drawn with the seed, or a named list; labels follow the
  sorted class names;
* per class: a fraction or a maximum count, drawn with a generator seeded by
  (seed, class name), so a class's sample does not depend on the other classes;
* a stratified train / validation / test split (scikit-learn), 80/10/10 by
  default (the original had only train / validation);
* images at the model's size: bitmaps are resized, strokes rendered at it.
"""

from __future__ import annotations

import difflib
import os
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import validation, wording
from ..errors import ConfigError, DataError
from .cached_rows import CachedRows
from .digest import content_digest
from .sources import Catalog, scan

#: A split's images: loaded (an array), or left in the cache file and read as needed.
Images = np.ndarray | CachedRows

#: Progress callback: (what, done, total).
Progress = Callable[[str, int, int], None]

SYNTHETIC = "synthetic"


def default_data_root() -> Path:
    """``$KERASKETCH_DATA`` or ``./data``: where downloads and caches live."""
    return Path(os.environ.get("KERASKETCH_DATA", "data"))


@dataclass(frozen=True)
class DataConfig:
    """What a run trains on. ``data=None`` means the default: downloaded files
    under ``<data root>/quickdraw`` if there are any, else the synthetic set."""

    data: str | None = None
    classes: tuple[str, ...] | int | None = None  # None: all; int: that many drawn with the seed
    fraction: float | None = None  # per class; the original kept 0.01
    max_per_class: int | None = None
    seed: int = 0
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    image_size: int = 28
    synthetic_per_class: int = 600

    def __post_init__(self) -> None:
        # The options' limits live in kerasketch.validation, shared with the command line and the dashboard.
        if self.fraction is not None:
            validation.check("fraction", self.fraction)
        if self.max_per_class is not None:
            validation.check("max_per_class", self.max_per_class)
        validation.check("seed", self.seed)
        validation.check_classes(self.classes)
        validation.check("image_size", self.image_size)
        if (
            len(self.split) != 3
            or any(p < 0 for p in self.split)
            or abs(sum(self.split) - 1.0) > 1e-6
            or self.split[0] <= 0
        ):
            raise ConfigError(
                f"the split must be three non-negative fractions summing to 1 with some training data, got {self.split}"
            )
        if self.synthetic_per_class < 10:
            raise ConfigError(f"the synthetic set needs at least 10 drawings per class, got {self.synthetic_per_class}")

    def resolved_data(self) -> str:
        """The concrete data location: a path, or ``"synthetic"``."""
        if self.data is not None:
            return self.data
        downloaded = default_data_root() / "quickdraw"
        if downloaded.is_dir() and any(p.suffix in (".npy", ".ndjson", ".npz") for p in downloaded.iterdir()):
            return str(downloaded)
        return SYNTHETIC

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["classes"] = list(self.classes) if isinstance(self.classes, tuple) else self.classes
        out["split"] = list(self.split)
        return out


#: The splits of every dataset, in the order they are stored and hashed.
SPLITS = ("train", "val", "test")


@dataclass
class Dataset:
    """An assembled dataset: uint8 images (N, S, S), integer labels, class names."""

    class_names: list[str]
    x_train: Images
    y_train: np.ndarray
    x_val: Images
    y_val: np.ndarray
    x_test: Images
    y_test: np.ndarray
    source: str  # the data path, or the synthetic set's name
    synthetic: bool
    skipped: int = 0  # bad ndjson lines skipped while reading
    too_costly: int = 0  # raw drawings skipped as too costly to simplify
    notes: list[str] = field(default_factory=list)  # what the sources' drawings needed, per file
    cache_path: Path | None = None
    from_cache: bool = False
    streaming: bool = False  # images read from the cache file as needed, not loaded
    extra: dict[str, Any] = field(default_factory=dict)
    #: The drawings' and labels' hash (:func:`digest.content_digest`); None for a cache written before it had one.
    digest: str | None = None

    @property
    def images_bytes(self) -> int:
        return sum(x.nbytes for x in (self.x_train, self.x_val, self.x_test))

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[-1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def summary(self) -> dict[str, Any]:
        """Classes, counts per split and the imbalance (largest / smallest class)."""
        per_class = np.bincount(np.concatenate((self.y_train, self.y_val, self.y_test)), minlength=self.num_classes)
        largest, smallest = int(per_class.argmax()), int(per_class.argmin())
        return {
            "source": self.source,
            "synthetic": self.synthetic,
            "image_size": self.image_size,
            "num_classes": self.num_classes,
            "classes": {n: int(c) for n, c in zip(self.class_names, per_class)},
            "splits": {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)},
            "total": int(per_class.sum()),
            "largest_class": [self.class_names[largest], int(per_class[largest])],
            "smallest_class": [self.class_names[smallest], int(per_class[smallest])],
            "imbalance": round(float(per_class.max() / max(per_class.min(), 1)), 3),
            "skipped_bad_lines": self.skipped,
            "skipped_too_costly": self.too_costly,
            "notes": list(self.notes),
            "cache": str(self.cache_path) if self.cache_path else None,
            "digest": self.digest,
        }

    def describe(self) -> str:
        """A few human lines for the terminal."""
        s = self.summary()
        kind = ": SYNTHETIC shapes, not Quick, Draw! drawings" if self.synthetic else ""
        lines = [
            f"data: {s['source']}{kind}",
            f"  {wording.classes(s['num_classes'])}, {wording.plural(s['total'], 'drawing')} at "
            f"{s['image_size']}x{s['image_size']}: "
            f"train {s['splits']['train']:,} / val {s['splits']['val']:,} / test {s['splits']['test']:,}",
            f"  imbalance {s['imbalance']}: "
            + wording.largest_and_smallest(s["largest_class"], s["smallest_class"], s["num_classes"]),
        ]
        if self.skipped:
            lines.append(f"  skipped {self.skipped} bad ndjson line(s)")
        lines += [f"  note: {note}" for note in self.notes]
        if self.cache_path:
            lines.append(f"  cache: {self.cache_path}{' (reopened)' if self.from_cache else ' (built)'}")
        return "\n".join(lines)


def choose_classes(available: Sequence[str], wanted: tuple[str, ...] | int | None, seed: int) -> list[str]:
    """Sorted class names: all, ``wanted`` of them drawn with ``seed``, or the named ones."""
    available = sorted(available)
    if wanted is None:
        chosen = available
    elif isinstance(wanted, int):
        if wanted > len(available):
            raise ConfigError(
                f"asked for {wanted} classes but the data holds {len(available)}",
                f"use --classes {len(available)} or fewer, or add data",
            )
        rng = np.random.default_rng(seed)
        chosen = [available[i] for i in rng.choice(len(available), wanted, replace=False)]
    else:
        known = set(available)
        unknown = [c for c in wanted if c not in known]
        if unknown:
            hints = []
            for c in unknown:
                close = difflib.get_close_matches(c, available, n=3)
                hints.append(f"{c!r}" + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
            raise DataError(
                f"unknown class{'es' if len(unknown) > 1 else ''} {', '.join(hints)}",
                "`kerasketch data info --data PATH` lists the classes the data holds",
            )
        if len(set(wanted)) < 2:
            raise ConfigError("name at least two different classes to classify")
        chosen = list(dict.fromkeys(wanted))
    return sorted(chosen)


def sample_indices(
    name: str, available: int, fraction: float | None, max_per_class: int | None, seed: int
) -> np.ndarray:
    """Which drawings of one class to keep, drawn with a (seed, class name) generator."""
    keep = available
    if fraction is not None:
        keep = max(1, round(available * fraction))
    if max_per_class is not None:
        keep = min(keep, max_per_class)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    if keep == available:
        return np.arange(available, dtype=index_dtype(available))
    return np.sort(rng.choice(available, keep, replace=False)).astype(index_dtype(available))


def index_dtype(n: int) -> type[np.signedinteger]:
    """int32 for positions below 2**31: a plan holds several per drawing, 50 million drawings of them."""
    return np.int32 if n < 2**31 else np.int64


def stratified_split(labels: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``train_test_split(np.arange(len(labels)), test_size=..., stratify=labels, random_state=seed)``, in arrays.

    ``labels`` are class numbers (non-negative integers), as every dataset here has.

    scikit-learn's ``StratifiedShuffleSplit`` gathers the indices in Python lists
    of numpy scalars, about 126 bytes a drawing at its peak: 2 GB for 16 million
    drawings, which made the split the largest thing a cache build holds. This
    is its algorithm step for step (the same draws from the same
    ``RandomState``, so the same splits; ``tests/data`` compares them), with
    each class's indices kept as arrays.
    """
    from sklearn.model_selection._split import _validate_shuffle_split
    from sklearn.utils.extmath import _approximate_mode

    n_train, n_test = _validate_shuffle_split(len(labels), test_size, None, default_test_size=0.25)
    # Labels are class numbers, so counting them and a stable argsort give what np.unique's
    # classes, counts and the argsort of its inverse give, without its sorted copies.
    class_counts = np.bincount(labels)
    class_counts = class_counts[class_counts > 0]
    if np.min(class_counts) < 2:
        raise ValueError(
            "The least populated classes in y have only 1 member, which is too few. The minimum number of "
            "groups for any class cannot be less than 2."
        )
    for what, n in (("train_size", n_train), ("test_size", n_test)):
        if n < len(class_counts):
            raise ValueError(
                f"The {what} = {n} should be greater or equal to the number of classes = {len(class_counts)}"
            )
    class_indices = np.split(
        np.argsort(labels, kind="stable").astype(index_dtype(len(labels)), copy=False), np.cumsum(class_counts)[:-1]
    )
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train_parts, test_parts = [], []
    for i, members in enumerate(class_indices):
        shuffled = members.take(rng.permutation(class_counts[i]), mode="clip")
        train_parts.append(shuffled[: n_i[i]].copy())
        test_parts.append(shuffled[n_i[i] : n_i[i] + t_i[i]].copy())
    del class_indices, members, shuffled  # members is a view: it would keep the whole argsort alive
    # permutation(x) shuffles a copy of x; shuffling in place draws the same.
    train = np.concatenate(train_parts)
    del train_parts
    rng.shuffle(train)
    test = np.concatenate(test_parts)
    rng.shuffle(test)
    return train, test


def split_indices(
    labels: np.ndarray, split: tuple[float, float, float], seed: int, class_names: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified train / val / test index arrays (scikit-learn's ``train_test_split``, via :func:`stratified_split`).

    ``class_names`` (by label) let an error name the class at fault rather than its index.
    """
    _train_p, val_p, test_p = split
    none = np.arange(0)
    try:
        if val_p + test_p == 0:
            return np.arange(len(labels)), none, none
        train, rest = stratified_split(labels, val_p + test_p, seed)
        train.sort()
        if test_p == 0:
            return train, np.sort(rest), none
        if val_p == 0:
            return train, none, np.sort(rest)
        val, test = stratified_split(labels[rest], test_p / (val_p + test_p), seed)
        val, test = rest[val], rest[test]
    except ValueError as err:
        counts = np.bincount(labels)
        # scikit-learn names classes by label index; the user knows them by name.
        reason = re.sub(r"\s*Classes with too few members are: \[.*?\]\.?", "", str(err)).strip()
        smallest = [int(i) for i in np.argsort(counts, kind="stable")[:3]]
        shown = ", ".join(
            f"{class_names[i] if class_names and i < len(class_names) else f'label {i}'!r} ({counts[i]})"
            for i in smallest
        )
        raise ConfigError(
            f"cannot make a stratified {'/'.join(str(round(p * 100)) for p in split)} split: {reason} "
            f"(the smallest classes, in drawings: {shown})",
            "keep more drawings per class (--fraction / --max-per-class) or choose fewer classes",
        ) from None
    return train, np.sort(val), np.sort(test)


def build(config: DataConfig, progress: Progress | None = None) -> Dataset:
    """Assemble the dataset ``config`` describes, reading the data (no cache)."""
    data = config.resolved_data()
    if data == SYNTHETIC:
        return _build_synthetic(config)
    catalog = scan(data)
    return _build_from_catalog(config, catalog, progress)


@dataclass(frozen=True)
class Plan:
    """Which drawings a dataset holds and where each goes, decided before any is read.

    Drawings are numbered in class order ("planned positions"): class 0's
    sample first, then class 1's, and so on. The split is drawn on those
    planned labels, so that it can be known before reading, which lets a build
    write each drawing straight to its split in bounded memory. A drawing that
    turns out to be unreadable (a bad ndjson line) is dropped from its split
    afterwards; the in-memory build and the cache builder share this one plan.
    """

    classes: list[str]
    chosen: list[np.ndarray]  # per class: the sorted class-wide indices to read
    labels: np.ndarray  # per planned position: its label (int32)
    splits: tuple[np.ndarray, np.ndarray, np.ndarray]  # planned positions of train, val, test (sorted)

    @property
    def size(self) -> int:
        return len(self.labels)

    def offsets(self) -> np.ndarray:
        """The first planned position of each class, and the total at the end."""
        return np.concatenate(([0], np.cumsum([len(c) for c in self.chosen]))).astype(np.int64)

    def assignment(self) -> np.ndarray:
        """Per planned position: 0 (train), 1 (validation) or 2 (test)."""
        out = np.zeros(self.size, dtype=np.uint8)
        for code, positions in enumerate(self.splits):
            out[positions] = code
        return out


def plan(config: DataConfig, catalog: Catalog) -> Plan:
    classes = choose_classes(list(catalog.counts), config.classes, config.seed)
    chosen = [sample_indices(n, catalog.counts[n], config.fraction, config.max_per_class, config.seed) for n in classes]
    labels = np.repeat(np.arange(len(classes), dtype=np.int32), [len(c) for c in chosen])
    try:
        splits = split_indices(labels, config.split, config.seed, classes)
    except ConfigError:
        # Too few drawings to split: a bad line among them says more about what is wrong
        # (and reading them costs little, since a split fails only on tiny classes).
        for name, indices in zip(classes, chosen):
            catalog.images_kept(name, indices, config.image_size)
        raise
    return Plan(classes, chosen, labels, splits)


def _build_from_catalog(config: DataConfig, catalog: Catalog, progress: Progress | None) -> Dataset:
    the_plan = plan(config, catalog)
    # One array filled in place, so that building peaks at this plus the split
    # copies (twice the data), not at a list of parts plus their concatenation.
    size = config.image_size
    x = np.empty((the_plan.size, size, size), dtype=np.uint8)
    kept = np.zeros(the_plan.size, dtype=bool)
    offsets = the_plan.offsets()
    for label, (name, indices) in enumerate(zip(the_plan.classes, the_plan.chosen)):
        imgs, mask = catalog.images_kept(name, indices, size)  # bad ndjson lines are dropped
        lo = int(offsets[label])
        kept[lo : lo + len(indices)] = mask
        x[lo : lo + len(indices)][mask] = imgs
        if progress:
            progress("reading drawings", label + 1, len(the_plan.classes))
    splits = tuple(p[kept[p]] for p in the_plan.splits)
    dataset = _dataset(
        the_plan.classes, x, the_plan.labels, splits, source=str(catalog.root), synthetic=False, skipped=catalog.skipped
    )
    dataset.too_costly = catalog.too_costly
    dataset.notes = catalog.notes()
    return dataset


def _build_synthetic(config: DataConfig) -> Dataset:
    from .synthetic import SYNTHETIC_CLASSES, SYNTHETIC_NAME, generate

    classes = choose_classes(SYNTHETIC_CLASSES, config.classes, config.seed)
    per_class = config.synthetic_per_class
    if config.max_per_class is not None:
        per_class = min(per_class, config.max_per_class)
    if config.fraction is not None:
        per_class = max(1, round(per_class * config.fraction))
    x, y, names = generate(per_class, seed=config.seed, classes=classes, size=config.image_size)
    # Labels follow the sorted class names, whatever order the generator used.
    y = np.asarray([classes.index(n) for n in names], dtype=np.int64)[y]
    return _split(config, classes, x, y, source=SYNTHETIC_NAME, synthetic=True, skipped=0)


def _split(
    config: DataConfig, classes: list[str], x: np.ndarray, y: np.ndarray, *, source: str, synthetic: bool, skipped: int
) -> Dataset:
    splits = split_indices(y, config.split, config.seed, classes)
    return _dataset(classes, x, y, splits, source=source, synthetic=synthetic, skipped=skipped)


def _dataset(
    classes: list[str],
    x: np.ndarray,
    y: np.ndarray,
    splits: tuple[np.ndarray, ...],
    *,
    source: str,
    synthetic: bool,
    skipped: int,
) -> Dataset:
    """The dataset of these images, split by these train, val and test indices."""
    arrays = {f"{axis}_{name}": a[split] for name, split in zip(SPLITS, splits) for axis, a in (("x", x), ("y", y))}
    return Dataset(
        class_names=classes,
        source=source,
        synthetic=synthetic,
        skipped=skipped,
        digest=content_digest(classes, [(arrays[f"x_{name}"], arrays[f"y_{name}"]) for name in SPLITS]),
        **arrays,
    )
