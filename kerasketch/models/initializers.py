"""Layers initialised, laid out and regularised exactly as the PyTorch originals.

Every from-scratch builder makes its Conv2D/Dense/BatchNorm/pooling layers
through :class:`TorchStyleLayers`, so the three things a PyTorch port gets
wrong most often are decided once, here:

* initialisation: PyTorch's default for ``nn.Conv2d``/``nn.Linear`` weights is
  ``kaiming_uniform_(a=sqrt(5))``, i.e. uniform(+-1/sqrt(fan_in)), and its
  biases are uniform(+-1/sqrt(fan_in)) too. The logged models that re-initialise
  with ``kaiming_uniform_(nonlinearity='relu')`` touch weights only, which is
  Keras' ``he_uniform``; their biases keep the PyTorch default.
* layout: ``channels_first`` on every spatial layer, so flattening and weight
  transfer match ``x.view(B, -1)`` on an NCHW tensor. The global Keras config is
  never changed.
* coupled weight decay: ``torch.optim.SGD(weight_decay=wd)`` adds ``wd * w`` to
  the gradient of every parameter; an L2 penalty of ``wd / 2`` on every weight,
  bias and BatchNorm scale/offset produces the same gradient.
"""

from __future__ import annotations

import math
from typing import Literal

import keras
from keras import layers

from kerasketch.errors import ConfigError
from kerasketch.models import layers as fused

CHANNELS_FIRST = "channels_first"

# PyTorch's BatchNorm2d: running = (1 - 0.1) * running + 0.1 * batch, eps 1e-5.
TORCH_BN_MOMENTUM = 0.9
TORCH_BN_EPSILON = 1e-5

KernelInit = Literal["torch_default", "kaiming_relu"]


def require_image_size(model: str, image_size: int, native: int, because: str) -> None:
    """A clear error when a model whose FC layers fix its input size gets another size."""
    if image_size != native:
        raise ConfigError(
            f"{model} takes {native}x{native} images only, not {image_size}x{image_size}: {because}",
            hint=f"leave the image size unset or set it to {native}",
        )


@keras.saving.register_keras_serializable(package="kerasketch")
class TorchDefaultBias(keras.initializers.RandomUniform):
    """uniform(-1/sqrt(fan_in), +1/sqrt(fan_in)), PyTorch's bias default.

    Keras calls a bias initializer with the bias shape only, so the layer's
    fan-in (in_channels * kernel area) has to be given here.
    """

    def __init__(self, fan_in: int, seed: int | None = None):
        bound = 1.0 / math.sqrt(fan_in)
        super().__init__(minval=-bound, maxval=bound, seed=seed)
        self.fan_in = fan_in

    def get_config(self) -> dict:
        config = super().get_config()
        del config["minval"], config["maxval"]
        return {**config, "fan_in": self.fan_in}


def torch_default_kernel(seed: int | None = None) -> keras.initializers.Initializer:
    """PyTorch's ``kaiming_uniform_(a=sqrt(5))``: uniform(+-1/sqrt(fan_in)).

    gain = sqrt(2 / (1 + 5)) = sqrt(1/3), bound = gain * sqrt(3 / fan_in), which
    is VarianceScaling's uniform limit sqrt(3 * scale / fan_in) at scale 1/3.
    """
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed)


def kaiming_relu_kernel(seed: int | None = None) -> keras.initializers.Initializer:
    """``kaiming_uniform_(nonlinearity='relu')``: uniform(+-sqrt(6 / fan_in))."""
    return keras.initializers.HeUniform(seed=seed)


class SeedStream:
    """Distinct integer seeds for successive initialisers, or None throughout.

    One fixed integer for every initialiser would give equal-shaped layers
    equal weights, so each call gets ``seed + n``.
    """

    def __init__(self, seed: int | None):
        self._seed = seed
        self._drawn = 0

    def next(self) -> int | None:
        if self._seed is None:
            return None
        self._drawn += 1
        return self._seed + self._drawn - 1


class TorchStyleLayers:
    """Factory for the Keras layers of one model, matching ``torch.nn`` ones.

    ``kernel_init`` chooses the weight initialiser of conv and dense layers;
    ``l2`` (the coupled decay / 2) is put on every trainable parameter.
    """

    def __init__(self, kernel_init: KernelInit, *, l2: float = 0.0, seed: int | None = None):
        if kernel_init not in ("torch_default", "kaiming_relu"):
            raise ValueError(f"unknown kernel_init {kernel_init!r}")
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2}")
        self._kernel_init = kernel_init
        self._l2 = l2
        self._seeds = SeedStream(seed)

    def _kernel_initializer(self) -> keras.initializers.Initializer:
        if self._kernel_init == "kaiming_relu":
            return kaiming_relu_kernel(self._seeds.next())
        return torch_default_kernel(self._seeds.next())

    def _regularizer(self) -> keras.regularizers.Regularizer | None:
        return keras.regularizers.L2(self._l2) if self._l2 else None

    def conv2d(
        self,
        filters: int,
        kernel_size: int,
        *,
        in_channels: int,
        name: str,
        activation: str | None = None,
    ) -> fused.Conv2D:
        """``nn.Conv2d(in_channels, filters, kernel_size, 1)``: stride 1, no padding."""
        return fused.Conv2D(
            filters,
            kernel_size,
            strides=1,
            padding="valid",
            data_format=CHANNELS_FIRST,
            activation=activation,
            kernel_initializer=self._kernel_initializer(),
            bias_initializer=TorchDefaultBias(in_channels * kernel_size**2, seed=self._seeds.next()),
            kernel_regularizer=self._regularizer(),
            bias_regularizer=self._regularizer(),
            name=name,
        )

    def dense(self, units: int, *, in_features: int, name: str, activation: str | None = None) -> fused.Dense:
        """``nn.Linear(in_features, units)``."""
        return fused.Dense(
            units,
            activation=activation,
            kernel_initializer=self._kernel_initializer(),
            bias_initializer=TorchDefaultBias(in_features, seed=self._seeds.next()),
            kernel_regularizer=self._regularizer(),
            bias_regularizer=self._regularizer(),
            name=name,
        )

    def batch_norm(self, *, name: str) -> fused.BatchNormalization:
        """``nn.BatchNorm2d``: weight 1, bias 0, momentum 0.1 (Keras 0.9), eps 1e-5."""
        return fused.BatchNormalization(
            axis=1,
            momentum=TORCH_BN_MOMENTUM,
            epsilon=TORCH_BN_EPSILON,
            gamma_regularizer=self._regularizer(),
            beta_regularizer=self._regularizer(),
            name=name,
        )

    @staticmethod
    def max_pool2d(pool_size: int, *, name: str, strides: int | None = None) -> fused.MaxPooling2D:
        """``nn.MaxPool2d(pool_size, stride)``: no padding, floor mode."""
        return fused.MaxPooling2D(pool_size, strides=strides, padding="valid", data_format=CHANNELS_FIRST, name=name)

    @staticmethod
    def flatten(*, name: str = "flatten") -> fused.Flatten:
        """``x.view(B, -1)`` on an NCHW tensor.

        Keras' Flatten(data_format="channels_first") would first transpose to
        NHWC; "channels_last" is the plain row-major reshape PyTorch does.
        """
        return fused.Flatten(data_format="channels_last", name=name)

    @staticmethod
    def global_avg_pool2d(*, name: str) -> layers.GlobalAveragePooling2D:
        """``F.adaptive_avg_pool2d(x, (1, 1))`` followed by the flatten."""
        return layers.GlobalAveragePooling2D(data_format=CHANNELS_FIRST, name=name)


def conv_output_size(size: int, kernel: int, stride: int = 1) -> int:
    """Side of a 'valid' (unpadded, floor-mode) conv or pool output."""
    return (size - kernel) // stride + 1
