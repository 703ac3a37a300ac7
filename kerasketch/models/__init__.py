"""The log's six architectures and ours (sketch_resnet), by name.

>>> from kerasketch.models import build_model, param_counts
>>> model = build_model("like_vgg")            # (B, 1, 28, 28) -> (B, 200) logits
>>> param_counts("vgg16_bn")                   # (trainable, total), nothing built

Importing this package is cheap: torchvision is imported only when a
pretrained model is built or counted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import keras

from kerasketch.errors import ConfigError

# augment is imported for its layer, which a saved model names: loading needs it registered.
from kerasketch.models import ai_inno_cnn, augment, baseline, like_vgg, pretrained, sketch_resnet, ts_cnn  # noqa: F401


@dataclass(frozen=True)
class ModelSpec:
    name: str
    builder: Callable[..., keras.Model]
    image_size: int  # native input side: the log's, or 32 for the pretrained ones
    pretrained: bool
    description: str
    counter: Callable[..., tuple[int, int]]  # (num_classes, image_size) -> (trainable, total)


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "baseline",
            baseline.build_baseline,
            baseline.IMAGE_SIZE,
            False,
            "LeNet-style: conv5-6, pool, conv5-16, pool, FC 256, FC classes",
            baseline.parameter_counts,
        ),
        ModelSpec(
            "ts_cnn",
            ts_cnn.build_ts_cnn,
            ts_cnn.IMAGE_SIZE,
            False,
            "Atabay's TS-CNN as the log codes it: conv5-96, pool3/2, conv5-192, pool3/2, conv3-192, "
            "two 1x1 convs; flattens a classes x 2 x 2 map into 4*classes logits unless head='global_pool'",
            ts_cnn.parameter_counts,
        ),
        ModelSpec(
            "like_vgg",
            like_vgg.build_like_vgg,
            like_vgg.IMAGE_SIZE,
            False,
            "two blocks of two conv3-BN-ReLU and a pool (32, 64 channels), FC 1024, FC classes",
            like_vgg.parameter_counts,
        ),
        ModelSpec(
            "ai_inno_cnn",
            ai_inno_cnn.build_ai_inno_cnn,
            ai_inno_cnn.IMAGE_SIZE,
            False,
            "five conv3-ReLU (32-64-64-128-256) with BN and two pools, global average pool, FC classes, FC classes",
            ai_inno_cnn.parameter_counts,
        ),
        ModelSpec(
            "vgg16_bn",
            pretrained.build_vgg16_bn,
            pretrained.IMAGE_SIZE,
            True,
            "torchvision VGG16_bn, ImageNet-pretrained, frozen; the whole classifier trainable with a new last layer",
            lambda num_classes, image_size: pretrained.parameter_counts("vgg16_bn", num_classes, image_size),
        ),
        ModelSpec(
            "resnet50",
            pretrained.build_resnet50,
            pretrained.IMAGE_SIZE,
            True,
            "torchvision ResNet50, ImageNet-pretrained, frozen; a new trainable fc",
            lambda num_classes, image_size: pretrained.parameter_counts("resnet50", num_classes, image_size),
        ),
        ModelSpec(
            "sketch_resnet",
            sketch_resnet.build_sketch_resnet,
            sketch_resnet.IMAGE_SIZE,
            False,
            "ours: stem conv3, three stages of residual blocks with squeeze-and-excitation "
            "(w, 2w, 4w channels), global average pool, dropout, FC classes",
            sketch_resnet.parameter_counts,
        ),
    )
}

#: Models whose builder takes the recipe's ``model_options`` as keyword arguments (ts_cnn's one
#: option has its own parameter, ``ts_cnn_head``).
TAKES_OPTIONS = ("sketch_resnet",)


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}", hint=f"choose one of: {', '.join(MODELS)}") from None


def _check_num_classes(num_classes: int) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"num_classes must be a positive integer, not {num_classes!r}")


def build_model(
    name: str,
    num_classes: int = 200,
    image_size: int | None = None,
    *,
    weights: str | os.PathLike | None = "imagenet",
    l2: float = 0.0,
    ts_cnn_head: str = "flatten",
    seed: int | None = None,
    **options: float,
) -> keras.Model:
    """A fresh model of the named architecture, emitting logits.

    ``weights`` applies to the pretrained models only (the from-scratch ones
    ignore it); ``l2`` is the L2 penalty on every parameter that reproduces
    PyTorch's coupled weight decay (TS_CNN's ``weight_decay=5e-4`` is
    ``l2=2.5e-4``) and applies to the from-scratch models only;
    ``ts_cnn_head`` is ``"flatten"`` (the log's 4*classes logits) or
    ``"global_pool"``; ``options`` are sketch_resnet's (width, blocks,
    se_ratio, dropout).
    """
    spec = get_spec(name)
    _check_num_classes(num_classes)
    _check_options(name, options)
    size = spec.image_size if image_size is None else image_size
    ts_cnn.check_head(ts_cnn_head)
    if spec.pretrained:
        if l2:
            raise ConfigError(
                f"l2 applies to the from-scratch models; {name}'s frozen backbone is a torch module",
                hint="leave l2 at 0 for vgg16_bn and resnet50 (the log used no weight decay there)",
            )
        return spec.builder(num_classes, size, weights=weights, seed=seed)
    if name == "ts_cnn":
        return spec.builder(num_classes, size, head=ts_cnn_head, l2=l2, seed=seed)
    return spec.builder(num_classes, size, l2=l2, seed=seed, **options)


def _check_options(name: str, options: dict[str, float]) -> None:
    if options and name not in TAKES_OPTIONS:
        raise ConfigError(
            f"model {name} takes no options ({', '.join(sorted(options))})",
            hint=f"model_options apply to: {', '.join(TAKES_OPTIONS)} (and ts_cnn's ts_cnn_head)",
        )
    known = set(sketch_resnet.DEFAULTS)
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"unknown option{'s' if len(unknown) > 1 else ''} for {name}: {', '.join(unknown)}",
            hint=f"its options are: {', '.join(sketch_resnet.DEFAULTS)}",
        )


def param_counts(name: str, num_classes: int = 200, image_size: int | None = None, **options: float) -> tuple[int, int]:
    """(trainable, total) as ``model.count_params()`` would report, without building it.

    For the Keras-built models the total includes the BatchNorm moving
    statistics (non-trainable Keras variables); for the two wrapped torchvision
    models it is torch's parameter count (their running statistics are buffers).
    """
    spec = get_spec(name)
    _check_num_classes(num_classes)
    _check_options(name, options)
    return spec.counter(num_classes, spec.image_size if image_size is None else image_size, **options)


__all__ = ["MODELS", "ModelSpec", "build_model", "get_spec", "param_counts"]
