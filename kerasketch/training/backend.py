"""The Keras backend a run trains on: its name, its version and its device.

Asked of Keras and of the active backend alone, so that a run on JAX or
TensorFlow needs no torch. A seed reproduces a run within one backend only:
each backend draws initial weights from its own random generator.
"""

from __future__ import annotations

import importlib

import keras


def describe() -> dict[str, str]:
    """``{"backend": "jax", "version": "0.10.2", "device": "cpu"}`` for the active backend."""
    name = keras.backend.backend()
    module = importlib.import_module(name)
    return {"backend": name, "version": str(module.__version__), "device": _device(name, module)}


def _device(name: str, module) -> str:
    if name == "torch":
        # Keras' torch backend puts tensors on CUDA whenever torch sees a GPU.
        return "cuda" if module.cuda.is_available() else "cpu"
    # "cpu:0", "gpu:0", "tpu:0": Keras lists the backend's devices, the default first.
    devices = keras.distribution.list_devices()
    return devices[0].split(":")[0] if devices else "cpu"
