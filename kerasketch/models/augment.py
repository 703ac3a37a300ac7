"""Image augmentation as the model's first layers: Keras' preprocessing layers, active in training only.

A recipe's ``augmentation`` maps names to plain numbers (:data:`KINDS`); the
model gets one Keras layer per name, in a fixed order, in front of its own
layers. Keras runs them only when the model is called with
``training=True`` (``model.fit``); prediction, evaluation and the loaded
``best.keras`` pass images through unchanged. They are stock Keras layers,
so the saved model loads with nothing of ours but ``kerasketch.models``.

The drawings are strokes bright on black: every geometric transform fills
what it uncovers with black (``fill_mode="constant"``), and erasing paints
black, which removes part of the drawing as a hurried player would leave it
out.

Rotation, zoom and translation are one layer of ours, :class:`RandomAffine`:
it draws each image's angle, zoom and shift as Keras' ``RandomRotation``,
``RandomZoom`` and ``RandomTranslation`` do, composes them into one affine
map and resamples once, with Keras' ``ops.image.affine_transform``, or on
torch with ``affine_grid``/``grid_sample`` (the same map, tested equal).
Keras' three layers interpolate three times, each through its torch
backend's generic ``map_coordinates``, which made sketch_resnet's training
step far slower (docs/results/speed.md, "Augmentation").
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import keras
from keras import layers, ops

from kerasketch.active_backend import on_torch
from kerasketch.errors import ConfigError
from kerasketch.models.initializers import CHANNELS_FIRST, SeedStream

#: name: what its number means. The order is the order the layers apply in.
KINDS: dict[str, str] = {
    "rotation": "largest rotation as a fraction of a full turn (0.05 = 18 degrees either way)",
    "zoom": "largest zoom in or out, as a fraction of the side",
    "translation": "largest shift, as a fraction of the side, along x and y",
    "erasing": "probability of blacking out one random rectangle (2-33% of the image)",
}


def check(settings: Mapping[str, float]) -> None:
    unknown = sorted(set(settings) - set(KINDS))
    if unknown:
        raise ConfigError(
            f"unknown augmentation {', '.join(map(repr, unknown))}",
            hint=f"the augmentations are: {', '.join(KINDS)}",
        )
    for name, value in settings.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise ConfigError(
                f"augmentation {name!r} must be a number from 0 to 1, not {value!r}", hint=f"{name}: {KINDS[name]}"
            )


#: The settings :class:`RandomAffine` takes; each is one of Keras' geometric layers' factor.
GEOMETRIC = ("rotation", "zoom", "translation")


def affine_matrices(angle, zoom, shift_x, shift_y, size: int):
    """Keras' 8-number transforms (B, 8) that rotate by ``angle`` (radians), scale by ``1 + zoom``
    (positive zooms out, as in ``RandomZoom``) about the image's centre, and shift by whole-image pixels.

    Each maps an output pixel (x, y) to the input point it is read from, as
    ``keras.ops.image.affine_transform`` wants: ``x' = a0 x + a1 y + a2``, ``y' = b0 x + b1 y + b2``.
    """
    centre = (size - 1) / 2.0
    scale = 1.0 + zoom
    cos, sin = ops.cos(angle) * scale, ops.sin(angle) * scale
    a2 = centre - (cos - sin) * centre - shift_x
    b2 = centre - (sin + cos) * centre - shift_y
    zero = ops.zeros_like(angle)
    return ops.stack([cos, -sin, a2, sin, cos, b2, zero, zero], axis=1)


def _torch_affine_transform(images, transforms):
    """``affine_transform`` (bilinear, constant 0 fill, channels first) for affine maps, as one ``grid_sample``."""
    import torch
    import torch.nn.functional as F

    _, _, height, width = images.shape
    # The random draws land on Keras' default device; the images may sit elsewhere (a CPU batch on a GPU machine).
    t = transforms.to(device=images.device, dtype=images.dtype)
    # grid_sample reads normalised coordinates, u = (2x + 1) / W - 1 (align_corners=False), so the
    # pixel map x' = a0 x + a1 y + a2 becomes u' = a0 u + a1 (W/H) v + (2 (a0 c_x + a1 c_y + a2) + 1) / W - 1
    # with c = (W - 1) / 2 the centre; written out for both rows.
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    row_x = torch.stack(
        [t[:, 0], t[:, 1] * height / width, (2 * (t[:, 0] * cx + t[:, 1] * cy + t[:, 2]) + 1) / width - 1], dim=1
    )
    row_y = torch.stack(
        [t[:, 3] * width / height, t[:, 4], (2 * (t[:, 3] * cx + t[:, 4] * cy + t[:, 5]) + 1) / height - 1], dim=1
    )
    theta = torch.stack([row_x, row_y], dim=1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@keras.saving.register_keras_serializable(package="kerasketch")
class RandomAffine(keras.layers.Layer):
    """Random rotation, zoom and translation of channels-first images, in training only, in one resampling.

    ``rotation`` is a fraction of a full turn, ``zoom`` and ``translation``
    fractions of the side, each drawn uniformly in ``[-f, f]`` per image
    (translation along x and y apart), as Keras' ``RandomRotation``,
    ``RandomZoom`` and ``RandomTranslation`` draw them.
    """

    def __init__(self, rotation: float = 0.0, zoom: float = 0.0, translation: float = 0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rotation, self.zoom, self.translation, self.seed = float(rotation), float(zoom), float(translation), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _uniform(self, n, factor: float):
        if not factor:
            return ops.zeros((n,))
        return keras.random.uniform((n,), -factor, factor, seed=self.seed_generator)

    def call(self, images, training=False):
        if not training:
            return images
        n, size = ops.shape(images)[0], images.shape[-1]
        transforms = affine_matrices(
            self._uniform(n, self.rotation * 2 * math.pi),
            self._uniform(n, self.zoom),
            self._uniform(n, self.translation * size),
            self._uniform(n, self.translation * size),
            size,
        )
        if on_torch():
            return _torch_affine_transform(images, transforms)
        return ops.image.affine_transform(
            images,
            transforms,
            interpolation="bilinear",
            fill_mode="constant",
            fill_value=0.0,
            data_format=CHANNELS_FIRST,
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "rotation": self.rotation,
            "zoom": self.zoom,
            "translation": self.translation,
            "seed": self.seed,
        }


def augmentation_layers(settings: Mapping[str, float], seed: int | None = None) -> list[keras.Layer]:
    """The geometric settings as one :class:`RandomAffine`, then Keras' ``RandomErasing`` where asked for."""
    check(settings)
    seeds = SeedStream(seed)
    out: list[keras.Layer] = []
    geometric = {name: float(settings.get(name, 0.0)) for name in GEOMETRIC}
    if any(geometric.values()):
        out.append(RandomAffine(**geometric, seed=seeds.next(), name="augment_affine"))
    erasing = float(settings.get("erasing", 0.0))
    if erasing:
        out.append(
            layers.RandomErasing(
                erasing,
                fill_value=0.0,
                value_range=(0.0, 1.0),
                seed=seeds.next(),
                data_format=CHANNELS_FIRST,
                name="augment_erasing",
            )
        )
    return out


def with_augmentation(model: keras.Model, settings: Mapping[str, float], seed: int | None = None) -> keras.Model:
    """``model`` behind the augmentation layers (``model`` itself where there are none)."""
    augment = augmentation_layers(settings, seed)
    if not augment:
        return model
    images = keras.Input(model.input_shape[1:], name="image")  # (B, 1, S, S)
    x = images
    for layer in augment:
        x = layer(x)  # training only; identity in inference
    return keras.Model(images, model(x), name=model.name)


def without_augmentation(model: keras.Model) -> keras.Model:
    """The network inside :func:`with_augmentation`'s model; ``model`` itself where it has no augmentation."""
    inner = model.layers[-1] if model.layers else None
    wrapped = any(layer.name.startswith("augment_") for layer in model.layers)
    return inner if wrapped and isinstance(inner, keras.Model) else model
