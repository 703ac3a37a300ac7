"""The log's two losses in Keras: a built-in, and a focal loss that means the same on every backend.

* ``cross_entropy``: ``nn.CrossEntropyLoss()`` on logits with integer labels,
  averaged over the batch = ``SparseCategoricalCrossentropy(from_logits=True)``.
* ``focal``: the log's ``FocalLoss``, a *sigmoid* focal loss on one-hot
  targets: per element ``0.25 * (1 - p_t)^2 * BCE``, summed over classes and
  batch. It is Keras' ``binary_focal_crossentropy`` (no class balancing),
  written out with ``keras.ops`` so that it means the same on every backend:
  Keras computes the BCE on ``sigmoid(logits)`` clipped to [1e-7, 1 - 1e-7] on
  torch and JAX, but its TensorFlow backend finds the logits behind a
  sigmoid's output (``_keras_logits``, or a ``Sigmoid`` op in a graph) and
  takes the unclipped BCE-with-logits instead, so a class logit beyond about
  16 on the wrong side kept pulling on TensorFlow and not elsewhere. Keras'
  clipping, on every backend, is the one rule (docs/deviations-models.md,
  item 12). Summed over classes and scaled by the log's constant ``alpha``
  (Keras averages over classes and applies alpha only with class balancing).
* ``cross_entropy`` with ``label_smoothing`` (sketch_resnet, ours): Keras'
  ``CategoricalCrossentropy(label_smoothing=...)``, which has the option its
  sparse sibling lacks, on the integer labels made one-hot.
* the logit-adjusted cross-entropy (``--logit-adjust TAU``, any recipe whose
  loss is the cross-entropy): Menon et al., "Long-tail learning via logit
  adjustment" (ICLR 2021), eq. 11: the cross-entropy of
  ``logits + tau * log(prior)``, the prior being the classes' shares of the
  training split. Only the loss sees the shift: the model's outputs, and so
  its predictions, stay the plain logits.
* ``softmax_focal`` (``--loss softmax_focal``, any recipe): Keras' own
  ``CategoricalFocalCrossentropy(from_logits=True)`` on the integer labels
  made one-hot (Keras has no sparse form): per drawing of class ``y``,
  ``alpha_y * (1 - p_y)^gamma * -log p_y`` with ``p = softmax(logits)``,
  averaged over the batch (Keras' default reduction), with the recipe's label
  smoothing if it has one.

Soft labels (``--mixup``, ``--cutmix``: rows of class shares, where the
integer labels are one-hot rows) are taken by every loss as the mix of its
values on the labels mixed, ``sum_k y_k * L(k)``, which is what the MixUp
paper's criterion ``lam * L(y_i) + (1 - lam) * L(y_j)`` computes. The
cross-entropies (with label smoothing and logit adjustment) and Keras'
softmax focal loss are linear in their target, so they take the soft row as
it is; the sigmoid focal loss is not, and is written as that mix
(:class:`SparseSigmoidFocalLoss`). The plain cross-entropy then trains as
Keras' ``CategoricalCrossentropy`` (``build_loss(soft_labels=True)``), which
is Keras' sparse one on one-hot rows; validation keeps integer labels, which
every loss here also takes.

Both focal losses take ``alpha`` as one number for every class or as one per
class (``--focal-alpha balanced``: :func:`balanced_alpha`). A per-class alpha
means the same in both: ``alpha_y`` weighs every term of a drawing of class
``y``. That is what Keras' softmax form does with a list (its cross-entropy
term is non-zero at the true class only), and for the sigmoid form it keeps
the log's loss as the case of one alpha for all (the log weighs the positive
and the negative terms alike). RetinaNet's split (``alpha`` on a class's
positive term, ``1 - alpha`` on its negatives) is not used: at 0.25 it is no
longer the log's loss, and a balanced alpha above 1 would weigh the
negatives below zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import ops

from kerasketch import validation
from kerasketch.errors import ConfigError

LOSSES: tuple[str, ...] = validation.LOSSES


def balanced_alpha(train_counts: Sequence[int]) -> list[float]:
    """One focal alpha per class: ``n / (K * n_c)`` for ``K`` classes, ``n`` training drawings and ``n_c``
    of class ``c``, which is scikit-learn's ``compute_class_weight("balanced")`` (the per-class alpha that
    Keras' ``CategoricalFocalCrossentropy`` suggests). Weighed by the drawings, the alphas average to 1.
    A class without training drawings counts as one drawing: its alpha is then finite, and never used."""
    counts = [max(int(c), 1) for c in train_counts]
    total = sum(int(c) for c in train_counts)
    return [total / (len(counts) * c) for c in counts]


def targets(y_true, width: int, dtype):
    """The target rows of a batch: integer labels made one-hot, soft labels (rows of class shares) as
    they are, padded with zeros where the model emits more logits than there are classes (ts_cnn's
    flatten head)."""
    if len(y_true.shape) == 2 and (y_true.shape[-1] or 0) > 1:
        rows = ops.cast(y_true, dtype)
        if y_true.shape[-1] < width:
            rows = ops.pad(rows, [(0, 0), (0, width - y_true.shape[-1])])
        return rows
    return ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), width, dtype=dtype)


def _alpha_for_classes(alpha: float | Sequence[float], width: int | None, loss: str) -> None:
    if not isinstance(alpha, int | float) and width is not None and len(alpha) != width:
        raise ConfigError(
            f"the {loss} has an alpha for each of {len(alpha)} classes but the model emits {width} logits",
            hint="use cross_entropy for ts_cnn's flatten head, or a single --focal-alpha",
        )


def _alpha_config(alpha: float | Sequence[float]) -> float | list[float]:
    return float(alpha) if isinstance(alpha, int | float) else [float(a) for a in alpha]


@keras.saving.register_keras_serializable(package="kerasketch")
class SparseSigmoidFocalLoss(keras.losses.Loss):
    """The log's FocalLoss(alpha=0.25, gamma=2, logits=True, reduce=True) for integer labels.

    ``alpha`` is one number, or one per class: then a drawing of class ``y`` weighs ``alpha[y]``."""

    def __init__(
        self,
        num_classes: int,
        alpha: float | Sequence[float] = 0.25,
        gamma: float = 2.0,
        reduction: str = "sum",
        name: str = "sigmoid_focal_loss",
        dtype: str | None = None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.num_classes = num_classes
        self.alpha = _alpha_config(alpha)
        self.gamma = float(gamma)
        _alpha_for_classes(self.alpha, num_classes, "sigmoid focal loss")

    def call(self, y_true, y_pred):
        if y_pred.shape[-1] not in (None, self.num_classes):
            raise ConfigError(
                f"the focal loss was built for {self.num_classes} classes "
                f"but the model emits {y_pred.shape[-1]} logits",
                hint="use cross_entropy for ts_cnn's flatten head, or build the loss with the model's width",
            )
        # Keras' Loss.__call__ has cast the labels to float; one_hot wants ints (targets() casts).
        one_hot = targets(y_true, self.num_classes, y_pred.dtype)
        probabilities = ops.sigmoid(y_pred)
        # Keras' BCE on clipped probabilities, by hand: ops.binary_crossentropy would
        # recover the logits from the sigmoid on TensorFlow and skip the clip there.
        eps = keras.config.epsilon()
        clipped = ops.clip(probabilities, eps, 1.0 - eps)
        # Each logit's term where its target is 1 and where it is 0; a one-hot row picks one of the two
        # per logit, a soft row mixes them (the mix of the losses of the labels it mixes).
        positive = ops.power(1.0 - probabilities, self.gamma) * -ops.log(clipped)
        negative = ops.power(probabilities, self.gamma) * -ops.log(1.0 - clipped)
        if isinstance(self.alpha, float):
            return ops.sum(one_hot * positive + (1.0 - one_hot) * negative, axis=-1) * self.alpha
        # alpha_k weighs every term of a drawing of class k: sum_k y_k alpha_k (sum_c negative_c + positive_k - negative_k)
        alpha = ops.convert_to_tensor(self.alpha, dtype=y_pred.dtype)
        weighted = one_hot * alpha
        return ops.sum(weighted, axis=-1) * ops.sum(negative, axis=-1) + ops.sum(
            weighted * (positive - negative), axis=-1
        )

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
class SparseCategoricalFocalCrossentropy(keras.losses.CategoricalFocalCrossentropy):
    """Keras' softmax focal loss on logits, for integer labels (made one-hot for it).

    ``alpha`` is one number or one per class, as Keras takes it."""

    def __init__(
        self,
        num_classes: int,
        alpha: float | Sequence[float] = 0.25,
        gamma: float = 2.0,
        label_smoothing: float = 0.0,
        name: str = "softmax_focal_loss",
        **kwargs,
    ):
        kwargs.pop("from_logits", None)  # always logits: from_config hands it back
        alpha = _alpha_config(alpha)
        _alpha_for_classes(alpha, num_classes, "softmax focal loss")
        super().__init__(
            alpha=alpha, gamma=float(gamma), from_logits=True, label_smoothing=label_smoothing, name=name, **kwargs
        )
        self.num_classes = num_classes

    def call(self, y_true, y_pred):
        _alpha_for_classes(self.alpha, y_pred.shape[-1], "softmax focal loss")
        return super().call(targets(y_true, y_pred.shape[-1], y_pred.dtype), y_pred)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="kerasketch")
class SparseSmoothedCrossentropy(keras.losses.CategoricalCrossentropy):
    """Cross-entropy on logits with label smoothing, for integer or soft labels."""

    def __init__(self, num_classes: int, label_smoothing: float, name: str = "cross_entropy", **kwargs):
        super().__init__(from_logits=True, label_smoothing=label_smoothing, name=name, **kwargs)
        self.num_classes = num_classes

    def call(self, y_true, y_pred):
        return super().call(targets(y_true, y_pred.shape[-1], y_pred.dtype), y_pred)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("from_logits", None)
        return {**config, "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="kerasketch")
class LogitAdjustedCrossentropy(keras.losses.Loss):
    """Cross-entropy of ``logits + tau * log(prior)`` for integer labels (with optional label smoothing)."""

    def __init__(
        self,
        prior: list[float],
        tau: float = 1.0,
        label_smoothing: float = 0.0,
        name: str = "logit_adjusted_cross_entropy",
        reduction: str = "sum_over_batch_size",
        dtype: str | None = None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.prior = [float(p) for p in prior]
        self.tau = float(tau)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        shift = ops.convert_to_tensor([self.tau * math.log(p) for p in self.prior], dtype=y_pred.dtype)
        one_hot = targets(y_true, len(self.prior), y_pred.dtype)
        if self.label_smoothing:
            one_hot = one_hot * (1.0 - self.label_smoothing) + self.label_smoothing / len(self.prior)
        return ops.categorical_crossentropy(one_hot, y_pred + shift, from_logits=True)

    def get_config(self) -> dict:
        return {
            "prior": self.prior,
            "tau": self.tau,
            "label_smoothing": self.label_smoothing,
            "name": self.name,
            "reduction": self.reduction,
            "dtype": self.dtype,
        }


def class_prior(train_counts: Sequence[int]) -> list[float]:
    """Each class's share of the training split; a class without training drawings counts as one
    drawing (its log prior must stay finite)."""
    counts = [max(int(c), 1) for c in train_counts]
    total = sum(counts)
    return [c / total for c in counts]


def build_loss(
    name: str,
    num_classes: int,
    label_smoothing: float = 0.0,
    *,
    logit_adjust: float = 0.0,
    train_counts: Sequence[int] | None = None,
    focal_alpha: float | str = 0.25,
    focal_gamma: float = 2.0,
    soft_labels: bool = False,
) -> keras.losses.Loss:
    """The recipe's loss; with ``logit_adjust`` (tau > 0) the cross-entropy is logit-adjusted by the
    prior of ``train_counts``. The focal losses take ``focal_alpha`` (a number, or "balanced":
    :func:`balanced_alpha` of ``train_counts``) and ``focal_gamma``. ``soft_labels``: training batches
    carry soft labels (MixUp, CutMix), which Keras' sparse cross-entropy would refuse."""
    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}", hint=f"choose one of: {', '.join(LOSSES)}")
    if name not in validation.FOCAL_LOSSES and (focal_alpha != 0.25 or focal_gamma != 2.0):
        raise ConfigError(f"--focal-alpha and --focal-gamma apply to the focal losses, not the {name} loss")
    validation.check("focal_gamma", focal_gamma)
    alpha: float | list[float]
    if focal_alpha == validation.FOCAL_ALPHA_BALANCED:
        if train_counts is None or len(train_counts) != num_classes:
            raise ConfigError(
                "--focal-alpha balanced needs the training split's count of each class",
                "give the counts, or a single --focal-alpha such as the log's 0.25",
            )
        alpha = balanced_alpha(train_counts)
    else:
        alpha = float(validation.check_focal_alpha(focal_alpha))
    if logit_adjust:
        if name != "cross_entropy":
            raise ConfigError(
                f"--logit-adjust applies to the cross-entropy, not the {name} loss",
                hint="logit adjustment shifts a softmax's logits; leave it out for this recipe",
            )
        if train_counts is None or len(train_counts) != num_classes:
            raise ConfigError("--logit-adjust needs the training split's count of each class")
        return LogitAdjustedCrossentropy(class_prior(train_counts), logit_adjust, label_smoothing)
    if name == "cross_entropy":
        if label_smoothing or soft_labels:
            return SparseSmoothedCrossentropy(num_classes, label_smoothing)
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="cross_entropy")
    if name == "focal":
        if label_smoothing:
            raise ConfigError(
                "label_smoothing applies to the cross-entropy only", hint="set it to 0 for the focal loss"
            )
        return SparseSigmoidFocalLoss(num_classes, alpha, focal_gamma)
    return SparseCategoricalFocalCrossentropy(num_classes, alpha, focal_gamma, label_smoothing)
