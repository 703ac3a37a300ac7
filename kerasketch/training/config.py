"""The first step of a run: its config resolved (config.json) and the fingerprint that finds it again to resume."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__, active_backend, validation
from ..data import cache
from ..data.assembly import DataConfig, Dataset
from ..options import NUMERIC_DEFAULTS, Option, numeric_changes
from ..recipes.base import Recipe
from ..runs import events, folders
from ..runs.documents import RunConfig
from . import compile_cache, distributed, execution

if TYPE_CHECKING:
    from .run_options import RunOptions


def numeric(option: Option) -> bool:
    return option.numeric


def fingerprint(
    recipe: Recipe, data_config: DataConfig, *, dataset: str | None = None, tag: str | None = None, **numeric: Any
) -> str:
    """What makes two runs the same run: the recipe, the data settings, the data itself, the
    options that change its numbers (``numeric``: the training order, the arithmetic's precision, the
    imbalance remedies; named only where they differ from their defaults) and, for a sweep's trial,
    which trial it is. (Whether images stream or not changes no number: it is not part of it.)

    ``dataset`` is the data's content digest (``Dataset.digest``). Without one the data is named as its
    cache is, by its files' paths, sizes and modification times: the fingerprint of every run recorded
    before the digest (2026-12-07), which :func:`is_this_run` still finds them by."""
    payload: dict[str, Any] = {
        "recipe": recipe.to_json(),
        "data": data_config.to_json(),
        "dataset": dataset if dataset is not None else cache.cache_key(data_config),
    }
    payload.update(numeric_changes(numeric))
    shuffle = numeric.get("shuffle", NUMERIC_DEFAULTS["shuffle"])
    if shuffle == "chunks":  # the order depends on the chunk sizes, which have changed once
        from .inputs import BUFFER_CHUNKS, CHUNK_ROWS

        payload["chunks"] = [CHUNK_ROWS, BUFFER_CHUNKS]
    if tag is not None:
        payload["tag"] = tag
    # A seed reproduces a run within one backend only, so a run resumes on its own
    # backend. (Torch runs keep the fingerprint they had before other backends ran.)
    backend = active_backend.name()
    if backend != "torch":
        payload["backend"] = backend
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def is_this_run(
    recorded: RunConfig,
    current: str,
    recipe: Recipe,
    data_config: DataConfig,
    *,
    tag: str | None = None,
    **numeric: Any,
) -> bool:
    """Whether a folder's recorded config is the run of fingerprint ``current`` (made by :func:`fingerprint`
    from ``recipe``, ``data_config``, ``tag``, ``numeric`` and the data's digest), to resume it.

    A folder recorded before datasets had a digest (2026-12-07) named its data as its cache did, by the
    files' paths, sizes and times and the data code of then, which a copy of the files or an upgrade
    changes. It is this run when its fingerprint is this run's settings with the data named by the cache
    key it recorded: the same command on the same data settings, as it was resumed before."""
    if recorded.get("fingerprint") == current:
        return True
    dataset = recorded.get("dataset") or {}
    if dataset.get("digest") is not None:
        return False  # a run found by its data's content: its fingerprint was the test
    cache_file = dataset.get("cache")
    then = Path(cache_file).stem.removeprefix("dataset-") if cache_file else None
    return recorded.get("fingerprint") == fingerprint(recipe, data_config, dataset=then, tag=tag, **numeric)


def resolved_config(
    *,
    recipe: Recipe,
    options: RunOptions,
    data_config: DataConfig,
    dataset: Dataset,
    fingerprint: str,
    precision_why: str = "as asked",
    world: distributed.World = distributed.SINGLE,
) -> dict[str, Any]:
    """config.json: the resolved recipe, data, dataset summary, parameter counts, options, how the steps run."""
    import keras

    from ..models import param_counts
    from .backend import describe

    trainable, total = param_counts(recipe.model, dataset.num_classes, recipe.image_size, **_count_options(recipe))
    backend = describe()
    return {
        "format_version": folders.FORMAT_VERSION,
        "recipe": recipe.to_json(),
        "data": data_config.to_json(),
        "dataset": dataset.summary(),
        "class_names": dataset.class_names,
        "params": {"trainable": trainable, "total": total},
        "fingerprint": fingerprint,
        "options": {
            # Every run option as given (kerasketch.options says which are recorded).
            **options.record(),
            # Each class's alpha, where a focal loss trains with balanced alphas.
            **_focal_record(recipe, options, dataset),
            # Where torch.compile's artefacts were looked up: a slow first epoch there means a cold cache.
            **(
                {"compile_cache": str(compile_cache.compile_cache_dir())}
                if compile_cache.applies(options.jit_compile)
                else {}
            ),
            **({"tag": options.tag} if options.tag is not None else {}),
        },
        "input": _input_record(options, dataset),
        "execution": execution.record(
            jit_compile=options.jit_compile,
            precision=options.precision,
            precision_why=precision_why,
            optimizer=recipe.optimizer,
            world=world,
        ),
        "distributed": distributed.record(world, recipe.batch_size, sync_bn=options.sync_bn),
        "created": events.utc_now(),
        "versions": {
            "kerasketch": __version__,
            "keras": keras.__version__,
            backend["backend"]: backend["version"],
            "backend": backend["backend"],
        },
        "device": backend["device"],
    }


def _focal_record(recipe: Recipe, options: RunOptions, dataset: Dataset) -> dict[str, Any]:
    """config.json's per-class focal alphas, where a focal loss trains with ``--focal-alpha balanced``."""
    if recipe.loss not in validation.FOCAL_LOSSES or options.focal_alpha != validation.FOCAL_ALPHA_BALANCED:
        return {}
    from ..losses import balanced_alpha

    counts = np.bincount(dataset.y_train, minlength=dataset.num_classes)
    return {"focal_alpha_per_class": [round(a, 6) for a in balanced_alpha(counts.tolist())]}


def _count_options(recipe: Recipe) -> dict[str, Any]:
    """The model options that change the parameter counts (ts_cnn's head is counted at its default, as before)."""
    from ..models import TAKES_OPTIONS

    return dict(recipe.model_options) if recipe.model in TAKES_OPTIONS else {}


def _input_record(options: RunOptions, dataset: Dataset) -> dict[str, Any]:
    """How the images reach training, and why: config.json's ``input``."""
    from .inputs import BUFFER_CHUNKS, CHUNK_ROWS

    if options.no_cache:
        why = "--no-cache: assembled in memory"
    elif options.stream == "auto":
        side = "above" if dataset.streaming else "within"
        why = f"--stream auto: {dataset.images_bytes:,} bytes of images, {side} the threshold of {options.stream_threshold:,}"
    else:
        why = f"--stream {options.stream}"
    record: dict[str, Any] = {
        "streaming": dataset.streaming,
        "why": why,
        "stream": options.stream,
        "threshold_bytes": options.stream_threshold,
        "images_bytes": dataset.images_bytes,
        "shuffle": options.shuffle,
    }
    if options.shuffle == "chunks":
        record.update(chunk_rows=CHUNK_ROWS, buffer_chunks=BUFFER_CHUNKS)
    return record
