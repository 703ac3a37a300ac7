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
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
from keras import layers

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


def augmentation_layers(settings: Mapping[str, float], seed: int | None = None) -> list[keras.Layer]:
    """One preprocessing layer per non-zero setting, in :data:`KINDS` order."""
    check(settings)
    seeds = SeedStream(seed)
    geometric = {"fill_mode": "constant", "fill_value": 0.0, "data_format": CHANNELS_FIRST}
    out: list[keras.Layer] = []
    for name in KINDS:
        value = float(settings.get(name, 0.0))
        if not value:
            continue
        s = seeds.next()
        if name == "rotation":
            out.append(layers.RandomRotation(value, seed=s, name="augment_rotation", **geometric))
        elif name == "zoom":
            out.append(layers.RandomZoom(value, seed=s, name="augment_zoom", **geometric))
        elif name == "translation":
            out.append(layers.RandomTranslation(value, value, seed=s, name="augment_translation", **geometric))
        else:
            out.append(
                layers.RandomErasing(
                    value,
                    fill_value=0.0,
                    value_range=(0.0, 1.0),
                    seed=s,
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
