"""Experiment 4's TS_CNN (Atabay's sketch CNN) as the log implements it, 32x32.

    conv5-96, pool3/2, conv5-192, pool3/2, conv3-192, conv1-classes, conv1-classes

The log's code ends in a classes x 2 x 2 map that it flattens (channel-major)
into 4 * classes logits and trains against labels 0..classes-1. So label k is
logit k: position k % 4 of channel k // 4. Only the first quarter of the
channels ever name a class, the other 600 of 800 logits at 200 classes only
act as negatives in the softmax, and an argmax can land on an index that is no
class at all. That defect produced the log's result, so ``head="flatten"``
(default) reproduces it; ``head="global_pool"`` averages the map into
``classes`` logits, the fix. Both heads have the same parameters.

(The log's shape comments say 14x14 and 10x10 after the first pool and second
conv; PyTorch's floor-mode pooling gives 13x13 and 9x9, as below.)
"""

from __future__ import annotations

from typing import Literal

import keras

from kerasketch.errors import ConfigError
from kerasketch.models.initializers import TorchStyleLayers, conv_output_size

IMAGE_SIZE = 32
Head = Literal["flatten", "global_pool"]
HEADS: tuple[str, ...] = ("flatten", "global_pool")


def final_map_side(image_size: int) -> int:
    """Side of the classes x side x side map the last 1x1 conv produces."""
    side = conv_output_size(image_size, 5)  # conv5
    side = conv_output_size(side, 3, stride=2)  # pool3/2
    side = conv_output_size(side, 5)  # conv5
    side = conv_output_size(side, 3, stride=2)  # pool3/2
    return conv_output_size(side, 3)  # conv3; the 1x1 convs keep it


def check_head(head: str) -> None:
    if head not in HEADS:
        raise ConfigError(
            f"unknown TS_CNN head {head!r}",
            hint="use 'flatten' (the log's 4*classes logits) or 'global_pool' (classes logits)",
        )


def check_options(image_size: int, head: str) -> None:
    check_head(head)
    if image_size < 1 or final_map_side(image_size) < 1:
        raise ConfigError(
            f"ts_cnn cannot take {image_size}x{image_size} images: its unpadded convs and pools need at least 27x27",
            hint=f"use the native {IMAGE_SIZE}x{IMAGE_SIZE} or any size from 27 up",
        )


def output_width(num_classes: int, image_size: int = IMAGE_SIZE, head: Head = "flatten") -> int:
    """Logits per image: side^2 * classes for the flatten head (800 at 32x32)."""
    check_options(image_size, head)
    return num_classes * final_map_side(image_size) ** 2 if head == "flatten" else num_classes


def build_ts_cnn(
    num_classes: int = 200,
    image_size: int = IMAGE_SIZE,
    *,
    head: Head = "flatten",
    l2: float = 0.0,
    seed: int | None = None,
) -> keras.Model:
    check_options(image_size, head)
    make = TorchStyleLayers("kaiming_relu", l2=l2, seed=seed)
    c = num_classes

    images = keras.Input((1, image_size, image_size), name="image")  # (B, 1, 32, 32)
    x = make.conv2d(96, 5, in_channels=1, activation="relu", name="l1_conv")(images)  # (B, 96, 28, 28)
    x = make.max_pool2d(3, strides=2, name="l1_pool")(x)  # (B, 96, 13, 13)
    x = make.conv2d(192, 5, in_channels=96, activation="relu", name="l2_conv")(x)  # (B, 192, 9, 9)
    x = make.max_pool2d(3, strides=2, name="l2_pool")(x)  # (B, 192, 4, 4)
    x = make.conv2d(192, 3, in_channels=192, activation="relu", name="l3_conv")(x)  # (B, 192, 2, 2)
    x = make.conv2d(c, 1, in_channels=192, activation="relu", name="l4_conv1")(x)  # (B, c, 2, 2)
    x = make.conv2d(c, 1, in_channels=c, name="l4_conv2")(x)  # (B, c, 2, 2)
    if head == "flatten":
        logits = make.flatten(name="flatten")(x)  # (B, 4c): the log's
    else:
        logits = make.global_avg_pool2d(name="global_pool")(x)  # (B, c): corrected
    return keras.Model(images, logits, name="ts_cnn")


def parameter_counts(num_classes: int = 200, image_size: int = IMAGE_SIZE, head: Head = "flatten") -> tuple[int, int]:
    """(trainable, total) as Keras counts them, without building the model."""
    check_options(image_size, head)
    c = num_classes
    trainable = (1 * 25 * 96 + 96) + (96 * 25 * 192 + 192) + (192 * 9 * 192 + 192) + (192 * c + c) + (c * c + c)
    return trainable, trainable
