"""The log's optimisers as Keras built-ins with PyTorch's semantics.

Each entry of :data:`ORIGINAL_SETTINGS` gives the PyTorch call the log makes,
the Keras arguments that reproduce it, and what still differs. The update
rules are compared step by step with ``torch.optim`` in
``tests/models/test_optimizers.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras

from kerasketch import pytorch_adam
from kerasketch.errors import ConfigError
from kerasketch.optimizer_defaults import DECOUPLED_DECAY, ORIGINAL_KWARGS


@dataclass(frozen=True)
class OriginalSetting:
    torch_call: str  # the optimiser as the log constructs it
    keras_class: type[keras.optimizers.Optimizer]
    keras_kwargs: dict[str, Any] = field(default_factory=dict)
    used_by: str = ""
    note: str = ""


ORIGINAL_SETTINGS: dict[str, OriginalSetting] = {
    "sgd": OriginalSetting(
        torch_call="torch.optim.SGD(params, lr=0.01)",
        keras_class=keras.optimizers.SGD,
        keras_kwargs=ORIGINAL_KWARGS["sgd"],
        used_by="1 Baseline; 4 TS_CNN with learning_rate=0.001, momentum=0.9 (see TS_CNN_SGD) "
        "and weight_decay=5e-4 realised as l2=2.5e-4 on the model (TS_CNN_L2)",
        note="Identical update rule. Keras keeps momentum as -lr * (PyTorch's buffer), which is "
        "the same trajectory at a constant learning rate. PyTorch's weight_decay here is coupled "
        "(decay * w added to the gradient before momentum), which Keras' decoupled weight_decay "
        "is not; an L2 penalty of decay/2 on every weight and bias gives exactly that gradient.",
    ),
    "adam": OriginalSetting(
        torch_call="torch.optim.Adam(params, lr=0.001)",
        keras_class=pytorch_adam.Adam,
        keras_kwargs=ORIGINAL_KWARGS["adam"],
        used_by="2 VGG16_bn, 3 ResNet50, 5 Like_VGG, 6 Like_VGG + focal loss, 9 AI_Inno_CNN",
        note="Keras' Adam with PyTorch's update (kerasketch/pytorch_adam.py): Keras adds epsilon "
        "to sqrt(v) before the bias correction, PyTorch to sqrt(v_hat) after it, which made Keras' "
        "epsilon act up to 31.6x larger; the subclass adds it where PyTorch does, on every backend, "
        "and runs PyTorch's fused kernel on torch. Keras' default epsilon is 1e-7; PyTorch's 1e-8.",
    ),
    "rmsprop": OriginalSetting(
        torch_call="torch.optim.RMSprop(params, lr=0.001)",
        keras_class=keras.optimizers.RMSprop,
        keras_kwargs=ORIGINAL_KWARGS["rmsprop"],
        used_by="7 Like_VGG with RMSprop",
        note="PyTorch's alpha (rho) is 0.99, Keras' default 0.9. PyTorch divides by sqrt(v) + 1e-8; "
        "Keras by sqrt(v + epsilon). epsilon=1e-16 (= 1e-8 squared) gives the same denominator "
        "where v = 0, the case epsilon guards, and elsewhere differs by a factor "
        "(s + 1e-8) / sqrt(s^2 + 1e-16) for RMS gradient s: at most sqrt(2) at s = 1e-8, below "
        "1% from s = 1e-6. Keras' default 1e-7 would floor the denominator at 3.2e-4 and shrink "
        "every step whose RMS gradient is below that.",
    ),
    "adamw": OriginalSetting(
        torch_call="torch.optim.AdamW(params, lr=0.001, weight_decay=0.01)",
        keras_class=pytorch_adam.AdamW,
        keras_kwargs=ORIGINAL_KWARGS["adamw"],
        used_by="8 Like_VGG with AdamW",
        note="Keras' defaults are weight_decay 0.004 and epsilon 1e-7. Both apply the decoupled "
        "decay w *= 1 - lr * weight_decay to every trainable variable (biases and BatchNorm too) "
        "before the Adam step; PyTorch's update as for Adam.",
    ),
}

# Experiment 4: torch.optim.SGD(lr=0.001, momentum=0.9, weight_decay=0.0005).
TS_CNN_SGD: dict[str, float] = {"learning_rate": 0.001, "momentum": 0.9}
TS_CNN_L2 = 0.0005 / 2

# PyTorch's weight_decay on SGD/Adam/RMSprop is coupled; Keras' is decoupled.
_COUPLED_DECAY_HINT = (
    "PyTorch's weight_decay on this optimiser is an L2 gradient term: build the model with "
    "l2=weight_decay/2 instead (Keras' weight_decay would be decoupled, like AdamW)"
)


def build_optimizer(name: str, **overrides: Any) -> keras.optimizers.Optimizer:
    """A Keras optimiser with the log's settings; ``overrides`` use Keras' argument names."""
    try:
        setting = ORIGINAL_SETTINGS[name]
    except KeyError:
        raise ConfigError(
            f"unknown optimizer {name!r}", hint=f"choose one of: {', '.join(ORIGINAL_SETTINGS)}"
        ) from None
    if name not in DECOUPLED_DECAY and overrides.get("weight_decay"):
        raise ConfigError(f"weight_decay is not supported for {name}", hint=_COUPLED_DECAY_HINT)
    kwargs = {**setting.keras_kwargs, **overrides}
    try:
        optimizer = setting.keras_class(**kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"bad setting for the {name} optimizer: {error}") from error
    return optimizer


def peak_learning_rate(name: str, overrides: dict[str, Any]) -> float:
    """The learning rate a recipe's optimiser runs at: its override, else the original's."""
    if name not in ORIGINAL_SETTINGS:
        build_optimizer(name)  # raises the unknown-optimizer message
    return float(overrides.get("learning_rate", ORIGINAL_SETTINGS[name].keras_kwargs["learning_rate"]))


def learning_rate(
    schedule: str, peak: float, *, steps_per_epoch: int, epochs: int, warmup_epochs: int = 0
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """``peak`` for "constant"; for "cosine", Keras' CosineDecay warming up linearly from 0 to ``peak``
    over ``warmup_epochs`` and then decaying along a cosine to 0 at the end of ``epochs``.

    The warm-up is capped at half the run, so a run shortened with --epochs still decays.
    """
    if schedule == "constant":
        return peak
    if schedule != "cosine":
        raise ConfigError(f"unknown schedule {schedule!r}", hint="choose constant or cosine")
    total = max(1, steps_per_epoch * epochs)
    warmup = min(steps_per_epoch * warmup_epochs, total // 2)
    decay = keras.optimizers.schedules.CosineDecay
    if not warmup:
        return decay(initial_learning_rate=peak, decay_steps=total)
    return decay(initial_learning_rate=0.0, decay_steps=total - warmup, warmup_target=peak, warmup_steps=warmup)
