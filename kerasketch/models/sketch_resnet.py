"""sketch_resnet: a small residual CNN for sketches, ours (no original in the log).

    stem conv3-w, BN, ReLU                                    (B, w, S, S)
    stage 1: blocks x [residual block, w channels]            (B, w, S, S)
    stage 2: blocks x [residual block, 2w channels], stride 2 (B, 2w, S/2, S/2)
    stage 3: blocks x [residual block, 4w channels], stride 2 (B, 4w, S/4, S/4)
    global average pool, dropout, FC classes                  (B, classes)

A residual block is He et al.'s basic block (conv3-BN-ReLU, conv3-BN, the
shortcut added, ReLU), optionally with squeeze-and-excitation on the second
BN's output before the addition; the shortcut is the identity, or a 1x1
conv-BN where the block changes width or resolution. Global pooling frees
the classifier from the image size, so any size from 8 up builds.

Built from kerasketch's fused Conv2D and BatchNormalization (PyTorch's
BatchNorm rule, as like_vgg uses it) and stock Keras layers, so ``best.keras``
loads wherever ``kerasketch.models`` is imported, as the dashboard's
prediction child does. Convolutions carry no bias (the BN after each one
has its own offset); the last BN of each block starts with a zero scale, so
that every block starts as the identity and the deep net trains like a
shallow one at first (Goyal et al., "Accurate, Large Minibatch SGD").
"""

from __future__ import annotations

import keras
from keras import layers

from kerasketch.errors import ConfigError
from kerasketch.models import layers as fused
from kerasketch.models.initializers import CHANNELS_FIRST, TORCH_BN_EPSILON, TORCH_BN_MOMENTUM, SeedStream

IMAGE_SIZE = 28
MIN_IMAGE_SIZE = 8
STAGES = 3

#: The defaults of the recipe's ``model_options``; each is a plain number.
DEFAULTS: dict[str, float] = {"width": 32, "blocks": 1, "se_ratio": 0.25, "dropout": 0.2}


def check_options(image_size: int, width: int, blocks: int, se_ratio: float, dropout: float) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < MIN_IMAGE_SIZE:
        raise ConfigError(
            f"sketch_resnet cannot take {image_size}x{image_size} images: its two stride-2 stages need at least "
            f"{MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE}",
            hint=f"use {IMAGE_SIZE} (the bitmaps' size) or any size from {MIN_IMAGE_SIZE} up",
        )
    for name, value, low in (("width", width, 1), ("blocks", blocks, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(
                f"sketch_resnet's {name} must be a whole number of at least {low}, not {value!r}",
                hint="set model_options width (channels of the first stage) and blocks (per stage)",
            )
    if not 0.0 <= se_ratio <= 1.0:
        raise ConfigError(
            f"sketch_resnet's se_ratio must be in [0, 1], not {se_ratio!r}", hint="0 turns squeeze-and-excitation off"
        )
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"sketch_resnet's dropout must be in [0, 1), not {dropout!r}", hint="0 turns it off")


def _se_units(channels: int, se_ratio: float) -> int:
    return max(1, int(channels * se_ratio))


class _Layers:
    """The model's layers, seeded one after another like :class:`TorchStyleLayers`."""

    def __init__(self, l2: float, seed: int | None):
        self._seeds = SeedStream(seed)
        self._l2 = l2

    def _reg(self):
        return keras.regularizers.L2(self._l2) if self._l2 else None

    def conv(self, filters: int, kernel: int, *, stride: int = 1, name: str):
        # Stride 1 pads "same" (symmetric for odd kernels, which the fused torch call
        # computes); stride 2 pads one pixel each side first, as torch's ResNet does,
        # where Keras' "same" would pad the even-sized side asymmetrically.
        conv = fused.Conv2D(
            filters,
            kernel,
            strides=stride,
            padding="same" if stride == 1 else "valid",
            data_format=CHANNELS_FIRST,
            use_bias=False,
            kernel_initializer=keras.initializers.HeNormal(seed=self._seeds.next()),
            kernel_regularizer=self._reg(),
            name=name,
        )
        if stride == 1 or kernel == 1:
            return conv
        pad = layers.ZeroPadding2D(kernel // 2, data_format=CHANNELS_FIRST, name=f"{name}_pad")
        return lambda x: conv(pad(x))

    def bn(self, *, name: str, zero: bool = False):
        return fused.BatchNormalization(
            axis=1,
            momentum=TORCH_BN_MOMENTUM,
            epsilon=TORCH_BN_EPSILON,
            gamma_initializer="zeros" if zero else "ones",
            gamma_regularizer=self._reg(),
            beta_regularizer=self._reg(),
            name=name,
        )

    def dense(self, units: int, *, name: str, activation: str | None = None):
        return layers.Dense(
            units,
            activation=activation,
            kernel_initializer=keras.initializers.HeUniform(seed=self._seeds.next())
            if activation == "relu"
            else keras.initializers.GlorotUniform(seed=self._seeds.next()),
            kernel_regularizer=self._reg(),
            bias_regularizer=self._reg(),
            name=name,
        )


def _block(make: _Layers, x, filters: int, stride: int, se_ratio: float, name: str):
    shortcut = x
    y = make.conv(filters, 3, stride=stride, name=f"{name}_conv1")(x)  # (B, f, H/s, W/s)
    y = make.bn(name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = make.conv(filters, 3, name=f"{name}_conv2")(y)  # (B, f, H/s, W/s)
    y = make.bn(name=f"{name}_bn2", zero=True)(y)
    if se_ratio:
        s = layers.GlobalAveragePooling2D(data_format=CHANNELS_FIRST, name=f"{name}_se_pool")(y)  # (B, f)
        s = make.dense(_se_units(filters, se_ratio), activation="relu", name=f"{name}_se_reduce")(s)  # (B, f*r)
        s = make.dense(filters, activation="sigmoid", name=f"{name}_se_expand")(s)  # (B, f)
        s = layers.Reshape((filters, 1, 1), name=f"{name}_se_reshape")(s)  # (B, f, 1, 1)
        y = layers.Multiply(name=f"{name}_se_scale")([y, s])  # (B, f, H/s, W/s)
    if stride != 1 or x.shape[1] != filters:
        shortcut = make.conv(filters, 1, stride=stride, name=f"{name}_proj")(x)  # (B, f, H/s, W/s)
        shortcut = make.bn(name=f"{name}_proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def build_sketch_resnet(
    num_classes: int = 200,
    image_size: int = IMAGE_SIZE,
    *,
    width: int = int(DEFAULTS["width"]),
    blocks: int = int(DEFAULTS["blocks"]),
    se_ratio: float = DEFAULTS["se_ratio"],
    dropout: float = DEFAULTS["dropout"],
    l2: float = 0.0,
    seed: int | None = None,
) -> keras.Model:
    check_options(image_size, width, blocks, se_ratio, dropout)
    make = _Layers(l2, seed)

    images = keras.Input((1, image_size, image_size), name="image")  # (B, 1, S, S)
    x = make.conv(width, 3, name="stem_conv")(images)  # (B, w, S, S)
    x = make.bn(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for stage in range(STAGES):
        filters = width * 2**stage  # w, 2w, 4w at S, S/2, S/4
        for b in range(blocks):
            stride = 2 if stage > 0 and b == 0 else 1
            x = _block(make, x, filters, stride, se_ratio, name=f"stage{stage + 1}_block{b + 1}")
    x = layers.GlobalAveragePooling2D(data_format=CHANNELS_FIRST, name="global_pool")(x)  # (B, 4w)
    if dropout:
        x = layers.Dropout(dropout, seed=make._seeds.next(), name="dropout")(x)
    logits = make.dense(num_classes, name="fc")(x)  # (B, classes)
    return keras.Model(images, logits, name="sketch_resnet")


def parameter_counts(
    num_classes: int = 200,
    image_size: int = IMAGE_SIZE,
    *,
    width: int = int(DEFAULTS["width"]),
    blocks: int = int(DEFAULTS["blocks"]),
    se_ratio: float = DEFAULTS["se_ratio"],
    dropout: float = DEFAULTS["dropout"],
) -> tuple[int, int]:
    """(trainable, total) as Keras counts them (BN moving statistics are the
    non-trainable part), without building the model; the image size does not enter."""
    check_options(image_size, width, blocks, se_ratio, dropout)
    weights, bn = 9 * width, width  # stem: conv 1 -> w, one BN
    channels = width
    for stage in range(STAGES):
        filters = width * 2**stage
        for _ in range(blocks):
            weights += 9 * channels * filters + 9 * filters * filters
            bn += 2 * filters
            if se_ratio:
                units = _se_units(filters, se_ratio)
                weights += (filters * units + units) + (units * filters + filters)
            if channels != filters:
                weights += channels * filters
                bn += filters
            channels = filters
    weights += channels * num_classes + num_classes
    trainable = weights + 2 * bn
    return trainable, trainable + 2 * bn
