"""Which Keras backend this process trains on, spelled in one place.

``kerasketch/__init__.py`` makes torch the default through ``KERAS_BACKEND``
before Keras is imported, so the variable and Keras agree: :func:`name` reads
the variable (for code that runs before Keras is imported, such as a run's
fingerprint), :func:`on_torch` asks Keras (for code that already has it).
"""

from __future__ import annotations

import os

DEFAULT = "torch"


def name() -> str:
    """The backend's name without importing Keras."""
    return os.environ.get("KERAS_BACKEND", DEFAULT)


def on_torch() -> bool:
    """Whether Keras runs on torch, where kerasketch's torch fast paths apply."""
    import keras

    return bool(keras.backend.backend() == "torch")
