"""What an epoch cost the machine: images per second, the process's CPU use and memory, the GPU's.

Recorded in each ``epoch`` event's ``system`` (:data:`kerasketch.runs.events.SYSTEM_KEYS`
names the keys). CPU and memory come from psutil, the GPU's utilisation and
memory from NVIDIA's management library (``nvidia-ml-py``, the ``[track]``
extra) where a GPU is present; whatever cannot be measured on this machine is
left out, never guessed, and nothing here can fail a run.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any


class SystemSampler:
    """Measures one epoch at a time: :meth:`begin` at its start, :meth:`poll` now and then
    during it (the GPU's utilisation is an instant reading, so it is averaged over the
    polls), :meth:`end` at its end."""

    def __init__(self) -> None:
        self._process = _process()
        self._gpu = _gpu_handle()
        self._gpu_readings: list[float] = []

    def begin(self) -> None:
        self._gpu_readings = []
        if self._process is not None:
            with contextlib.suppress(Exception):
                self._process.cpu_percent(None)  # the next call measures from here

    def poll(self) -> None:
        if self._gpu is None:
            return
        try:
            import pynvml

            self._gpu_readings.append(float(pynvml.nvmlDeviceGetUtilizationRates(self._gpu).gpu))
        except Exception:
            self._gpu = None  # a GPU that stopped answering is not asked again

    def end(self, images: int, seconds: float) -> dict[str, float]:
        """The epoch's figures, for ``images`` training images trained on in ``seconds``
        (CPU use and the GPU's readings span the whole epoch, validation included)."""
        self.poll()
        out: dict[str, float] = {}
        if seconds > 0 and images > 0:
            out["images_per_second"] = round(images / seconds, 1)
        if self._process is not None:
            try:
                out["cpu_percent"] = round(float(self._process.cpu_percent(None)), 1)
                out["rss_bytes"] = float(self._process.memory_info().rss)
            except Exception:
                self._process = None
        if self._gpu is not None:
            try:
                import pynvml

                if self._gpu_readings:
                    out["gpu_percent"] = round(sum(self._gpu_readings) / len(self._gpu_readings), 1)
                out["gpu_memory_bytes"] = float(pynvml.nvmlDeviceGetMemoryInfo(self._gpu).used)
            except Exception:
                self._gpu = None
        return out


def _process() -> Any:
    try:
        import psutil

        return psutil.Process(os.getpid())
    except Exception:  # not installed, or a platform it cannot read
        return None


def _gpu_handle() -> Any:
    """NVML's handle of the first GPU this process sees, or None (no library, no driver, no GPU)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return None
    try:
        import pynvml

        pynvml.nvmlInit()
        if pynvml.nvmlDeviceGetCount() < 1:
            return None
        first = (os.environ.get("CUDA_VISIBLE_DEVICES") or "0").split(",")[0].strip()
        if first.isdigit():
            return pynvml.nvmlDeviceGetHandleByIndex(int(first))
        return pynvml.nvmlDeviceGetHandleByUUID(first)
    except Exception:
        return None
