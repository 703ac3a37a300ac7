"""Experiments 2 and 3: torchvision's ImageNet VGG16_bn and ResNet50, frozen, new head.

As the log does it:

* vgg16_bn: every parameter frozen, ``classifier[6]`` replaced by a
  ``Linear(4096, classes)``, then the whole classifier (all three Linear layers)
  made trainable again: 120,365,256 trainable of 135,088,392 at 200 classes.
* resnet50: every parameter frozen, ``fc`` replaced by a trainable
  ``Linear(2048, classes)``: 409,800 trainable of 23,917,832.

The torch module runs inside a Keras :class:`TorchvisionClassifier` layer (a
``TorchModuleWrapper``), so these two models need Keras' torch backend. The
grayscale sketch is repeated to three channels and normalised with ImageNet's
statistics by Keras layers in front of it.

BatchNorm: the log calls ``model.train()`` for the whole model, so the frozen
BatchNorm layers of the backbone still normalise with batch statistics and
update their running mean/variance while training; only their affine weights
stay fixed. This layer does the same under ``fit`` (``training=True``) and
uses the running statistics at inference (``training`` False or None).

Weights (``weights=``):

* ``"imagenet"``: torchvision's IMAGENET1K_V1 checkpoint (what the log's
  ``pretrained=True`` loads), read from the torch hub cache
  (``$TORCH_HOME/hub/checkpoints``). When the file is absent a
  :class:`KerasketchError` says so at once; nothing is downloaded unless the
  environment sets ``KERASKETCH_ALLOW_DOWNLOAD=1``, because an offline machine
  would otherwise wait on the network.
* ``None`` or ``"none"``: torchvision's random initialisation.
* a path: a local state-dict file for torchvision's model with its original
  1000-class head (e.g. a copy of the hub checkpoint). Its sha256 is recorded
  so a reloaded model can tell when the file changed.

Saving: ``get_config`` records the architecture, classes and weights reference
instead of pickling the module, and ``save_own_variables`` writes only what the
reference cannot restore: the trainable parameters and the buffers (BatchNorm
running statistics, which training changes). With random weights there is
nothing to refer to, so everything is written. Plain ``model.save(...)``,
``ModelCheckpoint`` and ``keras.saving.load_model`` then work, in safe mode.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import keras
import numpy as np
from keras import layers

from kerasketch.errors import ConfigError, KerasketchError

if TYPE_CHECKING:  # torch and torchvision are imported where used, to keep imports cheap
    import torch

IMAGE_SIZE = 32
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ALLOW_DOWNLOAD_ENV = "KERASKETCH_ALLOW_DOWNLOAD"
WEIGHTS_CHOICES = (
    "choose --weights imagenet (torchvision's ImageNet checkpoint in the torch hub cache), "
    "--weights none (random initialisation) or --weights PATH (a local state-dict file)"
)


@dataclass(frozen=True)
class Backbone:
    name: str
    imagenet_weights: str  # torchvision weight enum entry that pretrained=True meant
    min_image_size: int  # smallest input whose feature map is still >= 1x1


BACKBONES: dict[str, Backbone] = {
    # Five 2x2 max-pools: 32 -> 1, then AdaptiveAvgPool2d(7) repeats it to 7x7.
    "vgg16_bn": Backbone("vgg16_bn", "VGG16_BN_Weights.IMAGENET1K_V1", 32),
    # Padded stride-2 stages never go below 1x1.
    "resnet50": Backbone("resnet50", "ResNet50_Weights.IMAGENET1K_V1", 1),
}


def _backbone(architecture: str) -> Backbone:
    try:
        return BACKBONES[architecture]
    except KeyError:
        raise ConfigError(
            f"unknown pretrained architecture {architecture!r}",
            hint=f"use one of {', '.join(BACKBONES)}",
        ) from None


def _require_torch_backend(architecture: str) -> None:
    if keras.backend.backend() != "torch":
        raise ConfigError(
            f"{architecture} wraps torchvision's model and runs on Keras' torch backend only, "
            f"but KERAS_BACKEND is {keras.backend.backend()!r}",
            hint="set KERAS_BACKEND=torch (importing kerasketch before keras does it)",
        )


def normalize_weights(weights: str | os.PathLike | None) -> str | None:
    """``"imagenet"``, ``None`` for random init, or an absolute file path."""
    if weights is None:
        return None
    if isinstance(weights, os.PathLike):
        weights = os.fspath(weights)
    if not isinstance(weights, str):
        raise ConfigError(f"weights must be a string or a path, not {type(weights).__name__}", hint=WEIGHTS_CHOICES)
    if weights.lower() == "none":
        return None
    if weights.lower() == "imagenet":
        return "imagenet"
    path = Path(weights).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"weights {weights!r} is neither 'imagenet', 'none' nor an existing file", hint=WEIGHTS_CHOICES
        )
    return str(path.resolve())


def imagenet_checkpoint_path(architecture: str) -> Path:
    """Where torchvision's loader caches the ImageNet checkpoint."""
    import torch
    import torchvision

    url = torchvision.models.get_weight(_backbone(architecture).imagenet_weights).url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _imagenet_state_dict(architecture: str) -> dict[str, Any]:
    import torch
    import torchvision

    path = imagenet_checkpoint_path(architecture)
    if path.is_file():
        return torch.load(path, map_location="cpu", weights_only=True)
    if os.environ.get(ALLOW_DOWNLOAD_ENV) != "1":
        raise KerasketchError(
            f"the ImageNet weights for {architecture} are not in the torch hub cache ({path}), "
            f"and kerasketch does not download them unless {ALLOW_DOWNLOAD_ENV}=1",
            hint=f"{WEIGHTS_CHOICES}; or copy the file to that path, "
            f"or set {ALLOW_DOWNLOAD_ENV}=1 on a machine with network access",
        )
    weights = torchvision.models.get_weight(_backbone(architecture).imagenet_weights)
    try:
        return weights.get_state_dict(progress=True, check_hash=True)
    except OSError as error:  # URLError and friends
        raise KerasketchError(
            f"downloading the ImageNet weights for {architecture} failed: {error}",
            hint=WEIGHTS_CHOICES,
        ) from error


def _file_state_dict(architecture: str, path: str, expected_sha256: str | None) -> dict[str, Any]:
    import torch

    if not Path(path).is_file():
        raise KerasketchError(f"the weights file {path} for {architecture} is missing", hint=WEIGHTS_CHOICES)
    if expected_sha256 is not None and file_sha256(path) != expected_sha256:
        raise KerasketchError(
            f"the weights file {path} changed since this {architecture} model was saved "
            f"(its sha256 is no longer {expected_sha256[:12]}...)",
            hint="restore the original file, or rebuild the model from the new one",
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several unrelated types for a bad file
        raise KerasketchError(f"cannot read {path} as a torch state dict: {error}", hint=WEIGHTS_CHOICES) from error
    if not isinstance(state, dict):
        raise KerasketchError(f"{path} holds a {type(state).__name__}, not a state dict", hint=WEIGHTS_CHOICES)
    return state


@contextlib.contextmanager
def _torch_seed(seed: int | None) -> Iterator[None]:
    """Seed torch's initialisers for this block only, leaving the global RNG as it was."""
    import torch

    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def torchvision_classifier(
    architecture: str,
    num_classes: int,
    weights: str | None = None,
    *,
    weights_sha256: str | None = None,
    seed: int | None = None,
) -> torch.nn.Module:
    """The log's torch model: backbone loaded, everything frozen, new trainable head.

    Built under ``with torch.device("meta")`` it allocates nothing, which is how
    :func:`parameter_counts` counts vgg16_bn's 135M parameters for free.
    """
    import torch
    import torchvision

    backbone = _backbone(architecture)
    with _torch_seed(seed):
        module = getattr(torchvision.models, backbone.name)(weights=None)
        if weights is not None:
            state = (
                _imagenet_state_dict(architecture)
                if weights == "imagenet"
                else _file_state_dict(architecture, weights, weights_sha256)
            )
            try:
                module.load_state_dict(state)
            except RuntimeError as error:
                raise KerasketchError(
                    f"the weights {weights} do not fit torchvision's {architecture}: {str(error).splitlines()[0]}",
                    hint="give a state dict of torchvision's model with its 1000-class ImageNet head",
                ) from error

        for param in module.parameters():
            param.requires_grad = False
        if architecture == "vgg16_bn":
            module.classifier[6] = torch.nn.Linear(module.classifier[6].in_features, num_classes)
            for param in module.classifier.parameters():
                param.requires_grad = True
        else:
            module.fc = torch.nn.Linear(module.fc.in_features, num_classes)
    return module


@keras.saving.register_keras_serializable(package="kerasketch")
class TorchvisionClassifier(keras.layers.TorchModuleWrapper):
    """A frozen torchvision backbone with a trainable head, saved by reference.

    Input: (B, 3, S, S) ImageNet-normalised images; output: (B, classes) logits.
    """

    def __init__(
        self,
        architecture: str,
        num_classes: int,
        weights: str | os.PathLike | None = "imagenet",
        weights_sha256: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        _require_torch_backend(architecture)
        if weights_sha256 is None:
            weights = normalize_weights(weights)
            if weights not in (None, "imagenet"):
                weights_sha256 = file_sha256(weights)
        # else: rebuilt from a saved config, whose path the checksum pins; a
        # missing or changed file is reported by torchvision_classifier.
        spec = os.fspath(weights) if isinstance(weights, os.PathLike) else weights
        module = torchvision_classifier(architecture, num_classes, spec, weights_sha256=weights_sha256, seed=seed)
        super().__init__(module, output_shape=(None, num_classes), **kwargs)
        self.architecture = architecture
        self.num_classes = num_classes
        self.weights_spec = weights
        self.weights_sha256 = weights_sha256
        self.seed = seed

    def call(self, images, training=None):
        # Keras layers treat training=None as inference; the base wrapper would
        # switch the module to train mode and update BatchNorm statistics.
        self.module.train(bool(training))
        return self.module(images)

    def get_config(self) -> dict[str, Any]:
        # Layer's config (name, trainable, dtype), not the base wrapper's,
        # which pickles the whole module into the JSON.
        config = keras.layers.Layer.get_config(self)
        config.update(
            architecture=self.architecture,
            num_classes=self.num_classes,
            weights=self.weights_spec,
            weights_sha256=self.weights_sha256,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TorchvisionClassifier:
        return cls(**config)

    def saved_state_keys(self) -> list[str]:
        """State-dict entries a save writes: all of them for random weights,
        otherwise those the weights reference cannot restore."""
        if self.weights_spec is None:
            return list(self.module.state_dict())
        trainable = [name for name, p in self.module.named_parameters() if p.requires_grad]
        return trainable + [name for name, _ in self.module.named_buffers()]

    def save_own_variables(self, store) -> None:
        state = self.module.state_dict()
        for key in self.saved_state_keys():
            store[key] = state[key].detach().cpu().numpy()

    def load_own_variables(self, store) -> None:
        import torch

        stored = {key.decode() if isinstance(key, bytes) else key for key in store.keys()}  # noqa: SIM118  Keras stores iterate values, not keys
        expected = set(self.saved_state_keys())
        if stored != expected:
            raise KerasketchError(
                f"the saved {self.architecture} state does not match the model: "
                f"{len(expected - stored)} entries missing, {len(stored - expected)} unexpected",
                hint="the file was written by a different architecture, head or weights setting",
            )
        state = {key: torch.from_numpy(np.asarray(store[key])) for key in stored}
        self.module.load_state_dict(state, strict=False)


def _check_image_size(architecture: str, image_size: int) -> None:
    minimum = _backbone(architecture).min_image_size
    if image_size < minimum:
        raise ConfigError(
            f"{architecture} cannot take {image_size}x{image_size} images: "
            f"its feature extractor needs at least {minimum}x{minimum}",
            hint=f"use {IMAGE_SIZE} (the default) or more",
        )


def build_pretrained(
    architecture: str,
    num_classes: int = 200,
    image_size: int = IMAGE_SIZE,
    *,
    weights: str | os.PathLike | None = "imagenet",
    seed: int | None = None,
) -> keras.Model:
    _backbone(architecture)
    _require_torch_backend(architecture)
    _check_image_size(architecture, image_size)
    s = image_size

    images = keras.Input((1, s, s), name="image")  # (B, 1, S, S) in [0, 1]
    x = layers.Concatenate(axis=1, name="gray_to_rgb")([images, images, images])  # (B, 3, S, S)
    x = layers.Normalization(
        axis=1, mean=IMAGENET_MEAN, variance=[std**2 for std in IMAGENET_STD], name="imagenet_norm"
    )(x)  # (B, 3, S, S)
    logits = TorchvisionClassifier(architecture, num_classes, weights, seed=seed, name=f"torchvision_{architecture}")(
        x
    )  # (B, classes)
    return keras.Model(images, logits, name=architecture)


def build_vgg16_bn(
    num_classes: int = 200,
    image_size: int = IMAGE_SIZE,
    *,
    weights: str | os.PathLike | None = "imagenet",
    seed: int | None = None,
) -> keras.Model:
    return build_pretrained("vgg16_bn", num_classes, image_size, weights=weights, seed=seed)


def build_resnet50(
    num_classes: int = 200,
    image_size: int = IMAGE_SIZE,
    *,
    weights: str | os.PathLike | None = "imagenet",
    seed: int | None = None,
) -> keras.Model:
    return build_pretrained("resnet50", num_classes, image_size, weights=weights, seed=seed)


def parameter_counts(architecture: str, num_classes: int = 200, image_size: int = IMAGE_SIZE) -> tuple[int, int]:
    """(trainable, total) parameters, counted on torch's meta device (no memory, no weights).

    The totals are torch parameters, which is also what Keras counts for the
    wrapped module: its BatchNorm running statistics are torch buffers, not
    Keras variables.
    """
    import torch

    _check_image_size(architecture, image_size)
    with torch.device("meta"):
        module = torchvision_classifier(architecture, num_classes, weights=None)
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in module.parameters())
