"""Experiment 9's AI_Inno_CNN, 32x32, with the global average pooling its code applies.

    conv3-32, conv3-64, BN, pool2, conv3-64, conv3-128, BN, pool2, conv3-256, BN,
    global average pool, FC classes, FC classes

Each conv is followed by ReLU and then (where present) BatchNorm, the order the
log's nn.Sequential uses. The log's prose says the classifier was "just fully
connected layers", but its forward() applies F.adaptive_avg_pool2d(x, (1, 1))
before them; the code is what ran, so the pooling stays.
"""

from __future__ import annotations

import keras

from kerasketch.errors import ConfigError
from kerasketch.models.initializers import TorchStyleLayers, conv_output_size

IMAGE_SIZE = 32
MIN_IMAGE_SIZE = 24


def final_map_side(image_size: int) -> int:
    side = conv_output_size(conv_output_size(image_size, 3), 3) // 2
    side = conv_output_size(conv_output_size(side, 3), 3) // 2
    return conv_output_size(side, 3)


def check_image_size(image_size: int) -> None:
    # Global pooling frees the FC layers from the image size; only the
    # unpadded convs and pools set a minimum.
    if image_size < MIN_IMAGE_SIZE:
        raise ConfigError(
            f"ai_inno_cnn cannot take {image_size}x{image_size} images: its unpadded convs and "
            f"pools need at least {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE}",
            hint=f"use the native {IMAGE_SIZE}x{IMAGE_SIZE} or any size from {MIN_IMAGE_SIZE} up",
        )


def build_ai_inno_cnn(
    num_classes: int = 200,
    image_size: int = IMAGE_SIZE,
    *,
    l2: float = 0.0,
    seed: int | None = None,
) -> keras.Model:
    check_image_size(image_size)
    make = TorchStyleLayers("kaiming_relu", l2=l2, seed=seed)

    images = keras.Input((1, image_size, image_size), name="image")  # (B, 1, 32, 32)
    x = make.conv2d(32, 3, in_channels=1, activation="relu", name="conv1")(images)  # (B, 32, 30, 30)
    x = make.conv2d(64, 3, in_channels=32, activation="relu", name="conv2")(x)  # (B, 64, 28, 28)
    x = make.batch_norm(name="bn2")(x)
    x = make.max_pool2d(2, name="pool1")(x)  # (B, 64, 14, 14)

    x = make.conv2d(64, 3, in_channels=64, activation="relu", name="conv3")(x)  # (B, 64, 12, 12)
    x = make.conv2d(128, 3, in_channels=64, activation="relu", name="conv4")(x)  # (B, 128, 10, 10)
    x = make.batch_norm(name="bn4")(x)
    x = make.max_pool2d(2, name="pool2")(x)  # (B, 128, 5, 5)

    x = make.conv2d(256, 3, in_channels=128, activation="relu", name="conv5")(x)  # (B, 256, 3, 3)
    x = make.batch_norm(name="bn5")(x)
    x = make.global_avg_pool2d(name="global_pool")(x)  # (B, 256)

    x = make.dense(num_classes, in_features=256, activation="relu", name="fc1")(x)  # (B, classes)
    logits = make.dense(num_classes, in_features=num_classes, name="fc2")(x)  # (B, classes)
    return keras.Model(images, logits, name="ai_inno_cnn")


def parameter_counts(num_classes: int = 200, image_size: int = IMAGE_SIZE) -> tuple[int, int]:
    """(trainable, total) as Keras counts them (BN moving statistics are the
    non-trainable part), without building the model."""
    check_image_size(image_size)
    c = num_classes
    conv = (1 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + (64 * 9 * 64 + 64) + (64 * 9 * 128 + 128) + (128 * 9 * 256 + 256)
    bn_channels = 64 + 128 + 256
    fc = (256 * c + c) + (c * c + c)
    trainable = conv + 2 * bn_channels + fc
    return trainable, trainable + 2 * bn_channels
