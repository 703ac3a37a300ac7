"""The trackers by name, and the one message for a missing optional package.

Imports nothing heavy: the dashboard's launch form offers these names.
"""

from __future__ import annotations

import importlib.util

from ..errors import ConfigError
from ..options import TRACKERS

__all__ = ["EXTRA", "LIBRARIES", "TRACKERS", "require"]

#: The Python module each tracker is written with.
LIBRARIES = {"mlflow": "mlflow", "tensorboard": "tensorboardX", "wandb": "wandb"}
EXTRA = 'pip install "kerasketch[track]"'


def require(kind: str) -> None:
    """ConfigError naming the extra when ``kind``'s library is not installed."""
    if kind not in TRACKERS:
        raise ConfigError(f"unknown tracker {kind!r}", f"one of: {', '.join(TRACKERS)}")
    library = LIBRARIES[kind]
    # Found, not imported: importing MLflow or wandb takes seconds, which the tracker's own thread spends.
    if importlib.util.find_spec(library) is None:
        raise ConfigError(f"the {kind} tracker needs the {library} package: {EXTRA} (or `make install`)")
