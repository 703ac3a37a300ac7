"""The exporter of a tracker by its name: the one place that knows which module writes to which tracker."""

from __future__ import annotations

from .kinds import require
from .target import Exporter, Target


def exporter(kind: str, target: Target) -> Exporter:
    """The tracker's exporter (its library imported now: ConfigError naming the extra if missing)."""
    require(kind)
    if kind == "mlflow":
        from .mlflow_export import MlflowExporter

        return MlflowExporter(target)
    if kind == "tensorboard":
        from .tensorboard_export import TensorBoardExporter

        return TensorBoardExporter(target)
    from .wandb_export import WandbExporter

    return WandbExporter(target)
