"""The log's four from-scratch PyTorch models, as it writes them, and weight transfer to the ports.

The reference the Keras ports are measured against: the parity tests copy
weights from these modules into the Keras models and compare outputs,
gradients and optimiser steps, and the training benchmark runs them in a
plain PyTorch loop. ``num_classes`` is a parameter (the log fixes it at 200).
"""

from __future__ import annotations

import keras
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 200


class Baseline(nn.Module):
    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.num_classes = num_classes
        self.conv_layer = nn.Sequential(
            nn.Conv2d(1, 6, 5, 1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, 1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.fc_layer = nn.Sequential(
            nn.Linear(16 * 4 * 4, 256),
            nn.ReLU(),
            nn.Linear(256, self.num_classes),
        )

    def forward(self, x):
        x = self.conv_layer(x)
        x = x.reshape(x.shape[0], -1)  # the log: x.view(...); reshape also takes channels_last
        return self.fc_layer(x)


def _log_init(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


class TS_CNN(nn.Module):
    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.num_classes = num_classes
        self.L1 = nn.Sequential(nn.Conv2d(1, 96, 5, 1), nn.ReLU(), nn.MaxPool2d(3, stride=2))
        self.L2 = nn.Sequential(nn.Conv2d(96, 192, 5, 1), nn.ReLU(), nn.MaxPool2d(3, stride=2))
        self.L3 = nn.Sequential(nn.Conv2d(192, 192, 3, 1), nn.ReLU())
        self.L4 = nn.Sequential(
            nn.Conv2d(192, self.num_classes, 1, 1),
            nn.ReLU(),
            nn.Conv2d(self.num_classes, self.num_classes, 1, 1),
        )
        _log_init(self)

    def forward(self, x):
        x = self.L1(x)
        x = self.L2(x)
        x = self.L3(x)
        x = self.L4(x)
        return x.reshape(x.shape[0], -1)  # the log: x.view(...); reshape also takes channels_last


class Like_VGG(nn.Module):
    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.num_classes = num_classes
        self.conv_layer = nn.Sequential(
            nn.Conv2d(1, 32, 3, 1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, 1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, 1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, 1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.fc_layer = nn.Sequential(
            nn.Linear(64 * 4 * 4, 64 * 4 * 4),
            nn.ReLU(),
            nn.Linear(64 * 4 * 4, self.num_classes),
        )
        _log_init(self)

    def forward(self, x):
        x = self.conv_layer(x)
        x = x.reshape(x.shape[0], -1)  # the log: x.view(...); reshape also takes channels_last
        return self.fc_layer(x)


class AI_Inno_CNN(nn.Module):
    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.num_classes = num_classes
        self.conv_layer = nn.Sequential(
            nn.Conv2d(1, 32, 3, 1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, 1),
            nn.ReLU(),
            nn.BatchNorm2d(64),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, 1),
            nn.ReLU(),
            nn.Conv2d(64, 128, 3, 1),
            nn.ReLU(),
            nn.BatchNorm2d(128),
            nn.MaxPool2d(2),
            nn.Conv2d(128, 256, 3, 1),
            nn.ReLU(),
            nn.BatchNorm2d(256),
        )
        self.fc_layer = nn.Sequential(
            nn.Linear(256, self.num_classes),
            nn.ReLU(),
            nn.Linear(self.num_classes, self.num_classes),
        )
        _log_init(self)

    def forward(self, x):
        x = self.conv_layer(x)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        x = x.reshape(x.shape[0], -1)  # the log: x.view(...); reshape also takes channels_last
        return self.fc_layer(x)


ORIGINALS: dict[str, type[nn.Module]] = {
    "baseline": Baseline,
    "ts_cnn": TS_CNN,
    "like_vgg": Like_VGG,
    "ai_inno_cnn": AI_Inno_CNN,
}
IMAGE_SIZES = {"baseline": 28, "ts_cnn": 32, "like_vgg": 28, "ai_inno_cnn": 32}


# Weight transfer: torch modules and Keras layers pair up in definition order.

_KERAS_TYPES = (keras.layers.Conv2D, keras.layers.Dense, keras.layers.BatchNormalization)
_TORCH_TYPES = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)


def paired_layers(torch_model: nn.Module, keras_model: keras.Model) -> list[tuple[nn.Module, keras.layers.Layer]]:
    torch_layers = [m for m in torch_model.modules() if isinstance(m, _TORCH_TYPES)]
    keras_layers = [layer for layer in keras_model.layers if isinstance(layer, _KERAS_TYPES)]
    if len(torch_layers) != len(keras_layers):
        raise ValueError(f"{len(torch_layers)} torch layers with weights but {len(keras_layers)} Keras ones")
    for t, k in zip(torch_layers, keras_layers):
        if not isinstance(k, _KERAS_TYPES[_TORCH_TYPES.index(type(t))]):
            raise ValueError(f"{t} does not pair with the Keras layer {k.name}")
    return list(zip(torch_layers, keras_layers))


def to_keras_layout(module: nn.Module, tensor: torch.Tensor) -> np.ndarray:
    """A torch weight or gradient in the layout of the matching Keras variable, as a copy.

    A copy, never a view of the tensor's memory: on JAX, ``set_weights`` can
    adopt a NumPy array's buffer, and an in-place torch optimiser step would
    then silently change the Keras weights too.
    """
    array = tensor.detach().cpu().numpy()
    if isinstance(module, nn.Conv2d) and array.ndim == 4:
        array = array.transpose(2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out)
    elif isinstance(module, nn.Linear) and array.ndim == 2:
        array = array.T  # (out, in) -> (in, out)
    return np.array(array, copy=True, order="C")


def torch_state(module: nn.Module) -> list[np.ndarray]:
    """The module's tensors in Keras' get_weights() order."""
    names = ["weight", "bias"] + (["running_mean", "running_var"] if isinstance(module, nn.BatchNorm2d) else [])
    return [to_keras_layout(module, getattr(module, name)) for name in names]


def copy_weights(torch_model: nn.Module, keras_model: keras.Model) -> None:
    for t, k in paired_layers(torch_model, keras_model):
        k.set_weights(torch_state(t))
