"""Experiment 1's Baseline: a LeNet-style CNN for 28x28 sketches.

    conv5-6, pool2, conv5-16, pool2, FC 256, FC classes

It keeps PyTorch's default initialisation everywhere (the log never
re-initialises it): uniform(+-1/sqrt(fan_in)) for weights and biases.
"""

from __future__ import annotations

import keras

from kerasketch.models.initializers import TorchStyleLayers, require_image_size

IMAGE_SIZE = 28


def check_image_size(image_size: int) -> None:
    require_image_size(
        "baseline",
        image_size,
        IMAGE_SIZE,
        "its first FC layer is nn.Linear(16*4*4, 256), which fixes the conv output to 16x4x4",
    )


def build_baseline(
    num_classes: int = 200,
    image_size: int = IMAGE_SIZE,
    *,
    l2: float = 0.0,
    seed: int | None = None,
) -> keras.Model:
    check_image_size(image_size)
    make = TorchStyleLayers("torch_default", l2=l2, seed=seed)

    images = keras.Input((1, image_size, image_size), name="image")  # (B, 1, 28, 28)
    x = make.conv2d(6, 5, in_channels=1, activation="relu", name="conv1")(images)  # (B, 6, 24, 24)
    x = make.max_pool2d(2, name="pool1")(x)  # (B, 6, 12, 12)
    x = make.conv2d(16, 5, in_channels=6, activation="relu", name="conv2")(x)  # (B, 16, 8, 8)
    x = make.max_pool2d(2, name="pool2")(x)  # (B, 16, 4, 4)
    x = make.flatten()(x)  # (B, 256)
    x = make.dense(256, in_features=16 * 4 * 4, activation="relu", name="fc1")(x)  # (B, 256)
    logits = make.dense(num_classes, in_features=256, name="fc2")(x)  # (B, classes)
    return keras.Model(images, logits, name="baseline")


def parameter_counts(num_classes: int = 200, image_size: int = IMAGE_SIZE) -> tuple[int, int]:
    """(trainable, total) as Keras counts them, without building the model."""
    check_image_size(image_size)
    trainable = (1 * 25 * 6 + 6) + (6 * 25 * 16 + 16) + (16 * 4 * 4 * 256 + 256) + (256 * num_classes + num_classes)
    return trainable, trainable
