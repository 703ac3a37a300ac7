"""``--mixup`` and ``--cutmix``: training batches mixed pairwise, with soft labels; the model stays plain.

* MixUp (Zhang et al., 2018): ``x = lam * x_i + (1 - lam) * x_j`` and the
  same mix of the two one-hot labels, ``lam ~ Beta(alpha, alpha)``;
* CutMix (Yun et al., 2019): a box of ``x_j`` pasted into ``x_i``, its side
  ``sqrt(1 - lam)`` of the image's, centred anywhere and clipped at the
  border; the labels mix in the share of pixels each image keeps, counted
  after clipping.

As both papers' code does, one ``lam`` (and one box) serves a whole batch,
``j`` is a permutation of the batch, and with both options each mixed batch
is one or the other with even odds (timm's ``switch_prob``). ``prob`` is the
share of batches mixed; the others keep their images, with one-hot labels
(every training batch has the same form).

The operation runs on the numpy batch in :class:`~kerasketch.training.inputs.Batches`,
so it touches neither the model (``best.keras`` and exports stay plain) nor
validation, and it works alike on every backend, streamed or in memory, with
the balanced sampler and on each rank's share of a data-parallel batch. Its
draws come from (seed, epoch, batch, rank), like the training order, so a
resumed run mixes its batches as the uninterrupted run would have.

Keras' ``keras.layers.MixUp`` and ``keras.layers.CutMix`` are not used:
their draws come from the layer's ``SeedGenerator`` state, which a resumed
run does not restore, and given a per-batch integer seed instead, CutMix
draws the box's row and column from the same stream, so every box lies on
the diagonal; CutMix's label weights are the box's real-valued area, not the
pixels its mask pastes; and both compute on the backend's device, returning
its tensors to the input pipeline.

The losses take soft labels as the mix of their values on the two labels
(``lam * L(y_i) + (1 - lam) * L(y_j)``: for the cross-entropies that is the
cross-entropy of the soft label; see kerasketch/losses.py). With
``--class-weight`` a mixed drawing weighs ``lam * w_i + (1 - lam) * w_j``,
handed to Keras as a sample weight (Keras' own ``class_weight`` would weigh
a soft label by its larger share's class alone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Mixes the stream of draws apart from the training order's, which (seed, epoch) also seeds.
_STREAM = 0x6D6978


@dataclass(frozen=True)
class BatchMix:
    """MixUp and/or CutMix of training batches (``alpha`` 0: that one is off), on ``prob`` of the batches."""

    num_classes: int
    mixup: float = 0.0
    cutmix: float = 0.0
    prob: float = 1.0
    #: Each class's weight (``--class-weight``), by class index; None: every drawing weighs 1.
    class_weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.mixup < 0 or self.cutmix < 0 or not (self.mixup or self.cutmix):
            raise ValueError(f"a BatchMix needs a positive mixup or cutmix alpha, got {self.mixup}, {self.cutmix}")
        if not 0 < self.prob <= 1:
            raise ValueError(f"prob must be in (0, 1], got {self.prob}")

    @classmethod
    def of(
        cls,
        num_classes: int,
        *,
        mixup: float = 0.0,
        cutmix: float = 0.0,
        prob: float = 1.0,
        class_weight: Mapping[int, float] | None = None,
    ) -> BatchMix | None:
        """The mix of these options, or None where neither is on; ``class_weight`` as Keras takes it
        (classes left out weigh 1)."""
        if not (mixup or cutmix):
            return None
        weights = None
        if class_weight is not None:
            weights = tuple(float(class_weight.get(c, 1.0)) for c in range(num_classes))
        return cls(num_classes, float(mixup), float(cutmix), float(prob), weights)

    def __call__(
        self, images: np.ndarray, labels: np.ndarray, key: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``images`` (B, C, H, W) and integer ``labels`` mixed: (images, soft labels[, sample weights]).

        ``key`` (seed, epoch, batch, rank) seeds the batch's draws."""
        rng = np.random.default_rng([*(int(k) for k in key), _STREAM])
        soft = np.zeros((len(labels), self.num_classes), np.float32)
        soft[np.arange(len(labels)), np.asarray(labels, np.int64)] = 1.0
        if rng.random() < self.prob:
            partner = rng.permutation(len(labels))
            use_cutmix = self.cutmix > 0 and (self.mixup == 0 or rng.random() < 0.5)
            if use_cutmix:
                images, lam = cutmix(images, partner, rng.beta(self.cutmix, self.cutmix), rng)
            else:
                lam = float(rng.beta(self.mixup, self.mixup))
                images = (lam * images + (1.0 - lam) * images[partner]).astype(np.float32)
            soft = (lam * soft + (1.0 - lam) * soft[partner]).astype(np.float32)
        if self.class_weights is None:
            return images, soft
        return images, soft, (soft @ np.asarray(self.class_weights, np.float32)).astype(np.float32)


def cutmix(images: np.ndarray, partner: np.ndarray, lam: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """``images`` with one box of each partner's pasted in, and the share of pixels they keep.

    The box's sides are ``sqrt(1 - lam)`` of the image's, its centre uniform over the image, clipped at
    the border (Yun et al.'s ``rand_bbox``)."""
    height, width = images.shape[-2:]
    cut = np.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * cut), int(width * cut)
    cy, cx = int(rng.integers(height)), int(rng.integers(width))
    top, bottom = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, height)
    left, right = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, width)
    mixed = images.copy()
    mixed[..., top:bottom, left:right] = images[partner][..., top:bottom, left:right]
    kept = 1.0 - (bottom - top) * (right - left) / (height * width)
    return mixed, float(kept)
