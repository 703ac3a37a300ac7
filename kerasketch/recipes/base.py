"""What a recipe is: a small, typed, frozen description of one experiment."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .. import validation


@dataclass(frozen=True)
class Original:
    """What the original log reports for the experiment."""

    number: int  # its row in the log's summary table
    title: str  # e.g. "Like_VGG(with AdamW)"
    loss: str  # as the log labels it: "CEL", "Focal Loss"
    optimizer: str  # "SGD", "Adam", "RMSprop", "AdamW"
    val_acc: float  # best validation accuracy
    best_epoch: int  # the epoch it was reached in


@dataclass(frozen=True)
class Recipe:
    """One experiment: model, loss, optimiser and the training schedule.

    ``optimizer_settings`` override the optimiser's original defaults (see
    ``kerasketch.optimizers``); ``l2`` is an L2 penalty on every weight and
    bias, which is how PyTorch's coupled weight decay is expressed in Keras.
    """

    name: str
    model: str
    loss: str
    optimizer: str
    image_size: int
    original: Original
    optimizer_settings: dict[str, float] = field(default_factory=dict)
    l2: float = 0.0
    batch_size: int = 64
    epochs: int = 100
    patience: int = 7
    weights: str | None = None  # pretrained models: "imagenet", "none" or a file path
    model_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience", "image_size"):
            validation.check(name, getattr(self, name))

    def with_(self, **changes: Any) -> Recipe:
        """A variant: this recipe with some fields changed."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
