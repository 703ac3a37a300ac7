"""The log's two losses, as Keras built-ins.

* ``cross_entropy``: ``nn.CrossEntropyLoss()`` on logits with integer labels,
  averaged over the batch = ``SparseCategoricalCrossentropy(from_logits=True)``.
* ``focal``: the log's ``FocalLoss``, a *sigmoid* focal loss on one-hot
  targets: per element ``0.25 * (1 - p_t)^2 * BCE``, summed over classes and
  batch. Keras' ``BinaryFocalCrossentropy`` computes ``(1 - p_t)^2 * BCE`` and
  averages it over classes; it applies ``alpha`` only together with class
  balancing (alpha for positives, 1 - alpha for negatives), which the log does
  not do. So the adapter keeps balancing off, uses reduction "sum" over the
  batch, and scales by ``alpha * num_classes``, which undoes the class mean and
  applies the log's constant alpha.
* ``cross_entropy`` with ``label_smoothing`` (sketch_resnet, ours): Keras'
  ``CategoricalCrossentropy(label_smoothing=...)``, which has the option its
  sparse sibling lacks, on the integer labels made one-hot.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasketch.errors import ConfigError

LOSSES: tuple[str, ...] = ("cross_entropy", "focal")


@keras.saving.register_keras_serializable(package="kerasketch")
class SparseSigmoidFocalLoss(keras.losses.BinaryFocalCrossentropy):
    """The log's FocalLoss(alpha=0.25, gamma=2, logits=True, reduce=True) for integer labels."""

    def __init__(
        self,
        num_classes: int,
        alpha: float = 0.25,
        gamma: float = 2.0,
        reduction: str = "sum",
        name: str = "sigmoid_focal_loss",
        dtype: str | None = None,
    ):
        super().__init__(
            apply_class_balancing=False,
            alpha=alpha,
            gamma=gamma,
            from_logits=True,
            reduction=reduction,
            name=name,
            dtype=dtype,
        )
        self.num_classes = num_classes

    def call(self, y_true, y_pred):
        if y_pred.shape[-1] not in (None, self.num_classes):
            raise ConfigError(
                f"the focal loss was built for {self.num_classes} classes "
                f"but the model emits {y_pred.shape[-1]} logits",
                hint="use cross_entropy for ts_cnn's flatten head, or build the loss with the model's width",
            )
        # Keras' Loss.__call__ has cast the labels to float; one_hot wants ints.
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        one_hot = ops.one_hot(labels, self.num_classes, dtype=y_pred.dtype)
        per_sample_class_mean = super().call(one_hot, y_pred)
        return per_sample_class_mean * (self.alpha * self.num_classes)

    def __repr__(self) -> str:
        return f"SparseSigmoidFocalLoss(num_classes={self.num_classes}, alpha={self.alpha}, gamma={self.gamma})"

    def get_config(self) -> dict:
        return {
            "num_classes": self.num_classes,
            "alpha": self.alpha,
            "gamma": self.gamma,
            "reduction": self.reduction,
            "name": self.name,
            "dtype": self.dtype,
        }


@keras.saving.register_keras_serializable(package="kerasketch")
class SparseSmoothedCrossentropy(keras.losses.CategoricalCrossentropy):
    """Cross-entropy on logits with label smoothing, for integer labels."""

    def __init__(self, num_classes: int, label_smoothing: float, name: str = "cross_entropy", **kwargs):
        super().__init__(from_logits=True, label_smoothing=label_smoothing, name=name, **kwargs)
        self.num_classes = num_classes

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        return super().call(ops.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype), y_pred)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("from_logits", None)
        return {**config, "num_classes": self.num_classes}


def build_loss(name: str, num_classes: int, label_smoothing: float = 0.0) -> keras.losses.Loss:
    if name == "cross_entropy":
        if label_smoothing:
            return SparseSmoothedCrossentropy(num_classes, label_smoothing)
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="cross_entropy")
    if name == "focal":
        if label_smoothing:
            raise ConfigError(
                "label_smoothing applies to the cross-entropy only", hint="set it to 0 for the focal loss"
            )
        return SparseSigmoidFocalLoss(num_classes)
    raise ConfigError(f"unknown loss {name!r}", hint=f"choose one of: {', '.join(LOSSES)}")
