"""Put this folder first on PYTHONPATH and ``import torch`` fails, as where torch is not installed.

Python imports ``sitecustomize`` at start-up; this one puts a finder in front
of the import system that refuses torch and its companions.
"""

import sys

BLOCKED = ("torch", "torchvision", "triton")


class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by tests/training/no_torch)", name=name)
        return None


sys.meta_path.insert(0, _NoTorch())
