"""How a run computes: the precision ``--precision auto`` picks, and the path a run records in ``config.json``.

A run trains through one path, Keras' own ``fit`` and train step; what
varies is recorded so that two runs' speeds and numbers can be told apart:
eager or compiled, the dtype policy, the convolutions' memory format, the
optimiser's update kernel and the threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import validation
from ..errors import ConfigError
from .distributed import SINGLE, World, keras_distributes_torch

AUTO = validation.PRECISION_AUTO
#: x86 CPU features with bfloat16 arithmetic (AMX tiles, AVX-512 BF16), as /proc/cpuinfo names them.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (empty where the file is absent or has none)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def resolve_precision(requested: str, *, backend: str, flags: set[str] | None = None) -> tuple[str, str]:
    """(the dtype policy a run uses, why) for ``--precision requested``; only ``auto`` chooses."""
    if requested != AUTO:
        precision = validation.check_precision(requested)
        if precision != "float32" and backend == "tensorflow" and not tensorflow_runs_bfloat16(flags):
            raise ConfigError(
                "--precision mixed_bfloat16 on tensorflow needs a GPU or a CPU with bfloat16 instructions "
                f"({' or '.join(BF16_CPU_FLAGS)}): TensorFlow's CPU convolution takes the models' channels-first "
                "bfloat16 images only through those",
                "train in float32 here, or use the torch backend (its default)",
            )
        return precision, "as asked"
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            if torch.cuda.is_bf16_supported():
                return "mixed_bfloat16", f"auto: {torch.cuda.get_device_name(0)} has bfloat16 arithmetic"
            return "float32", f"auto: {torch.cuda.get_device_name(0)} lacks fast bfloat16"
    else:
        # XLA's CPU bfloat16 was not measured fast here; only torch's oneDNN and CUDA kernels were.
        return "float32", f"auto: bfloat16 is chosen only on the torch backend, not {backend}"
    present = sorted((flags if flags is not None else cpu_flags()) & set(BF16_CPU_FLAGS))
    if present:
        return "mixed_bfloat16", f"auto: the CPU has bfloat16 instructions ({', '.join(present)})"
    return "float32", f"auto: the CPU has no bfloat16 instructions ({' or '.join(BF16_CPU_FLAGS)})"


def tensorflow_runs_bfloat16(flags: set[str] | None = None) -> bool:
    """Whether TensorFlow can run the models' channels-first bfloat16 convolutions: on a GPU, or on a CPU
    whose bfloat16 instructions oneDNN uses (Eigen's CPU kernel refuses NCHW)."""
    if (flags if flags is not None else cpu_flags()) & set(BF16_CPU_FLAGS):
        return True
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def record(
    *, jit_compile: bool, precision: str, precision_why: str, optimizer: str, world: World = SINGLE
) -> dict[str, Any]:
    """config.json's ``execution``: the path this run's steps take."""
    import keras

    backend = keras.backend.backend()
    if world.distributed and not keras_distributes_torch():
        step = "kerasketch data-parallel train_step (Keras' step plus one flat gradient all-reduce)"
    else:
        step = "keras train_step"  # Keras' own fit and train step: no private machinery
    out: dict[str, Any] = {
        "step": step,
        "mode": _mode(backend, jit_compile),
        "precision": precision,
        "precision_why": precision_why,
    }
    if backend == "torch":
        import torch

        out["threads"] = torch.get_num_threads()
        # kerasketch's fused Conv2D hands oneDNN channels_last weights; Keras' own layers stay NCHW.
        out["memory_format"] = "channels_last convolutions (kerasketch's fused layers), NCHW elsewhere"
        if optimizer in ("adam", "adamw"):
            out["optimizer_update"] = (
                "keras.ops (traced by torch.compile)" if jit_compile else "torch.optim.adam.adam(fused=True) per weight"
            )
        else:
            out["optimizer_update"] = f"Keras' {optimizer}"
    return out


def _mode(backend: str, jit_compile: bool) -> str:
    if backend == "torch":
        return "compiled (torch.compile)" if jit_compile else "eager"
    # JAX and TensorFlow compile with XLA by Keras' default ("auto").
    return "compiled (XLA)"
