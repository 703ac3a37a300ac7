"""The models' parameter counts as data, so that listing the recipes imports neither Keras nor torch.

At a model's native image size, ``c`` classes give ``fixed + per_class * c +
per_class_squared * c**2`` trainable parameters (the heads are FC layers of
width ``c``; TS_CNN's and AI_Inno_CNN's last layer is c x c) and a constant
number of non-trainable ones: the BatchNorm moving statistics of the
Keras-built models, the frozen backbone of the pretrained ones.

The source of these figures is each model's counter (``kerasketch.models``,
``ModelSpec.counter``), itself tested against built models; this table is a
copy of it that needs no Keras or torch to read.
``tests/training/test_recipes_data.py`` derives every line from the counters
and, when one is stale or missing, fails with the lines to write here.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import ConfigError


class Counts(NamedTuple):
    fixed: int
    per_class: int
    per_class_squared: int
    non_trainable: int


COUNTS: dict[str, Counts] = {
    "baseline": Counts(68_364, 257, 0, 0),
    "ts_cnn": Counts(795_456, 194, 1, 0),
    "like_vgg": Counts(1_114_976, 1025, 0, 384),
    "ai_inno_cnn": Counts(425_664, 258, 1, 896),
    "vgg16_bn": Counts(119_545_856, 4097, 0, 14_723_136),
    "resnet50": Counts(0, 2049, 0, 23_508_032),
    "sketch_resnet": Counts(317_816, 129, 0, 1344),
}


def param_counts(model: str, num_classes: int) -> tuple[int, int]:
    """(trainable, total) of ``model`` at its native image size, as ``model.count_params()`` reports."""
    if model not in COUNTS:
        raise ConfigError(f"no parameter counts recorded for model {model!r}", "add its line to COUNTS")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"--num-classes must be a positive whole number, got {num_classes!r}")
    c = COUNTS[model]
    trainable = c.fixed + c.per_class * num_classes + c.per_class_squared * num_classes**2
    return trainable, trainable + c.non_trainable
