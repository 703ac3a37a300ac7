"""What a recipe is: a small, typed, frozen description of one experiment."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any

from .. import validation
from ..errors import ConfigError

#: The learning-rate schedules a recipe may name (``kerasketch.optimizers.learning_rate``).
SCHEDULES = ("constant", "cosine")


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
    ``original`` is the log's result, None for a recipe of ours.

    The fields after ``model_options`` came with sketch_resnet; their
    defaults are what the nine recipes always did (no smoothing, a constant
    learning rate, no augmentation), and :meth:`to_json` leaves them out at
    those defaults, so the nine recipes' configs and run fingerprints are
    what they were. ``label_smoothing`` is Keras' cross-entropy option;
    ``schedule`` "cosine" warms the learning rate up linearly over
    ``warmup_epochs`` and then decays it along a cosine to 0 at ``epochs``;
    ``augmentation`` maps ``kerasketch.models.augment.KINDS`` to their
    strengths (training only); ``precise_bn`` recomputes the BatchNorm
    statistics of the best model after training, as ``--precise-bn`` does for
    any recipe (training/precise_bn.py; ``--set precise_bn=false`` turns the
    recipe's off).
    """

    name: str
    model: str
    loss: str
    optimizer: str
    image_size: int
    original: Original | None
    optimizer_settings: dict[str, float] = field(default_factory=dict)
    l2: float = 0.0
    batch_size: int = 64
    epochs: int = 100
    patience: int = 7
    weights: str | None = None  # pretrained models: "imagenet", "none" or a file path
    model_options: dict[str, Any] = field(default_factory=dict)
    label_smoothing: float = 0.0
    schedule: str = "constant"
    warmup_epochs: int = 0
    augmentation: dict[str, float] = field(default_factory=dict)
    precise_bn: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience", "image_size"):
            validation.check(name, getattr(self, name))
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(
                f"recipe {self.name}: label_smoothing must be in [0, 1), not {self.label_smoothing!r}",
                hint="0 is plain cross-entropy; 0.1 is usual",
            )
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"recipe {self.name}: unknown schedule {self.schedule!r}", hint=f"choose one of: {', '.join(SCHEDULES)}"
            )
        if isinstance(self.warmup_epochs, bool) or not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0:
            raise ConfigError(
                f"recipe {self.name}: warmup_epochs must be a whole number >= 0, not {self.warmup_epochs!r}"
            )

    def with_(self, **changes: Any) -> Recipe:
        """A variant: this recipe with some fields changed."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The recipe as config.json records it; the later fields only where they differ from their defaults."""
        out = asdict(self)
        for f in fields(self):
            if f.name in LATER_FIELDS and out[f.name] == _default(f):
                del out[f.name]
        return out


#: Fields added after the nine recipes had run: at their defaults they are left out of
#: config.json, so those runs' configs and fingerprints (which resume a run) stay the same.
LATER_FIELDS = ("label_smoothing", "schedule", "warmup_epochs", "augmentation", "precise_bn")


def _default(f) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default
