"""Experiments 5-8's Like_VGG: two VGG blocks and two FC layers, 28x28.

    [conv3-32, BN, ReLU] x2, pool2, [conv3-64, BN, ReLU] x2, pool2, FC 1024, FC classes

Weights are kaiming_uniform(relu) (Keras' he_uniform), biases PyTorch's default,
BatchNorm weight 1 and bias 0 as in the log.
"""

from __future__ import annotations

import keras
from keras import layers

from kerasketch.models.initializers import TorchStyleLayers, require_image_size

IMAGE_SIZE = 28


def check_image_size(image_size: int) -> None:
    require_image_size(
        "like_vgg",
        image_size,
        IMAGE_SIZE,
        "its first FC layer is nn.Linear(64*4*4, 64*4*4), which fixes the conv output to 64x4x4",
    )


def build_like_vgg(
    num_classes: int = 200,
    image_size: int = IMAGE_SIZE,
    *,
    l2: float = 0.0,
    seed: int | None = None,
) -> keras.Model:
    check_image_size(image_size)
    make = TorchStyleLayers("kaiming_relu", l2=l2, seed=seed)

    images = keras.Input((1, image_size, image_size), name="image")  # (B, 1, 28, 28)
    x = make.conv2d(32, 3, in_channels=1, name="conv1_1")(images)  # (B, 32, 26, 26)
    x = make.batch_norm(name="bn1_1")(x)
    x = layers.ReLU(name="relu1_1")(x)
    x = make.conv2d(32, 3, in_channels=32, name="conv1_2")(x)  # (B, 32, 24, 24)
    x = make.batch_norm(name="bn1_2")(x)
    x = layers.ReLU(name="relu1_2")(x)
    x = make.max_pool2d(2, name="pool1")(x)  # (B, 32, 12, 12)

    x = make.conv2d(64, 3, in_channels=32, name="conv2_1")(x)  # (B, 64, 10, 10)
    x = make.batch_norm(name="bn2_1")(x)
    x = layers.ReLU(name="relu2_1")(x)
    x = make.conv2d(64, 3, in_channels=64, name="conv2_2")(x)  # (B, 64, 8, 8)
    x = make.batch_norm(name="bn2_2")(x)
    x = layers.ReLU(name="relu2_2")(x)
    x = make.max_pool2d(2, name="pool2")(x)  # (B, 64, 4, 4)

    x = make.flatten()(x)  # (B, 1024)
    x = make.dense(1024, in_features=1024, activation="relu", name="fc1")(x)  # (B, 1024)
    logits = make.dense(num_classes, in_features=1024, name="fc2")(x)  # (B, classes)
    return keras.Model(images, logits, name="like_vgg")


def parameter_counts(num_classes: int = 200, image_size: int = IMAGE_SIZE) -> tuple[int, int]:
    """(trainable, total) as Keras counts them (BN moving statistics are the
    non-trainable part), without building the model."""
    check_image_size(image_size)
    conv = (1 * 9 * 32 + 32) + (32 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + (64 * 9 * 64 + 64)
    bn_channels = 32 + 32 + 64 + 64
    fc = (1024 * 1024 + 1024) + (1024 * num_classes + num_classes)
    trainable = conv + 2 * bn_channels + fc
    return trainable, trainable + 2 * bn_channels
