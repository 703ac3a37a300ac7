"""Adam and AdamW with PyTorch's update rule on every backend, on Keras' public optimiser API.

The log trained with ``torch.optim.Adam`` and ``torch.optim.AdamW``. Keras'
Adam differs from them in one place: it adds epsilon to sqrt(v) before the
bias correction, PyTorch to sqrt(v_hat) after it, so Keras' epsilon acts
1/sqrt(1 - beta_2^t) times larger at the first steps and shrinks the steps of
tiny gradients. These optimisers are written the way Keras documents a new
optimiser (``build`` makes the slots with ``add_optimizer_variables``,
``update_step`` updates one variable), so schedules, gradient clipping and
accumulation, EMA, weight-decay exclusions and saving are Keras' own. The
update is PyTorch's, step for step:

    m = m + (g - m) * (1 - beta_1)                   # torch: m.lerp_(g, 1 - beta_1)
    v = v + (g * g - v) * (1 - beta_2)               # torch: v * beta_2 + (1 - beta_2) * g * g
    w = w - lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + eps)

AdamW's decoupled decay w *= 1 - lr * weight_decay comes first, from Keras'
optimiser (its ``weight_decay`` argument), as ``torch.optim.AdamW`` does it.

On torch, outside ``torch.compile``, each variable's update is
``torch.optim.adam.adam`` with ``fused=True`` (PyTorch's public functional
API, the kernel ``torch.optim.Adam(fused=True)`` runs). Under
``torch.compile`` (``--jit-compile``) and on JAX and TensorFlow it is the
same rule written with ``keras.ops``, which the compilers trace and fuse.
``tests/models/test_optimizers.py`` compares both with ``torch.optim`` on
every backend, to float32 rounding.

Old saves name these classes ``kerasketch>Adam`` and ``kerasketch>AdamW``,
with Keras' Adam configuration and slot order (momentum, velocity per
weight), so their backups still load and resume.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from kerasketch.active_backend import on_torch


def _compiling() -> bool:
    if not on_torch():
        return False
    import torch

    return torch.compiler.is_compiling()


@keras.saving.register_keras_serializable(package="kerasketch")
class Adam(keras.optimizers.Optimizer):
    """``torch.optim.Adam``'s update (without ``amsgrad``) as a Keras optimiser."""

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ):
        if amsgrad:
            raise ValueError("kerasketch's Adam follows PyTorch's rule without amsgrad")
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # Keras' Adam's slots, names and order, so that its saves and ours load into each other.
        self.momentums, self.velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        # Each variable's slots by identity. TensorFlow's optimiser hands update_step the tf.Variable that a
        # Keras variable holds (its `value`), the other backends the Keras variable itself.
        on_tensorflow = keras.backend.backend() == "tensorflow"
        self.slot_of = {}
        for i, variable in enumerate(var_list):
            self.slot_of[id(variable)] = i
            if on_tensorflow:
                self.slot_of[id(variable.value)] = i

    def update_step(self, gradient, variable, learning_rate):
        i = self.slot_of[id(variable)]
        m, v = self.momentums[i], self.velocities[i]
        if on_torch() and not _compiling():
            self.fused_update(gradient, variable, m, v, learning_rate)
            return
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        # 1 - beta^t as -expm1(t log beta): torch computes it in float64; float32's 1 - 0.999^t
        # loses four digits to cancellation at the first steps (Keras' own Adam does so).
        bias_1 = -ops.expm1(step * math.log(self.beta_1))
        bias_2_sqrt = ops.sqrt(-ops.expm1(step * math.log(self.beta_2)))
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        denominator = ops.add(ops.divide(ops.sqrt(v), bias_2_sqrt), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / bias_1), denominator))

    def fused_update(self, gradient, variable, m, v, learning_rate) -> None:
        """One variable's update in PyTorch's fused kernel, through its public functional API."""
        import torch
        from torch.optim.adam import adam

        weight = variable.value
        device = weight.device
        # A tensor (a float would wait for the device every step); Keras keeps it as float32, so it is
        # torch.optim's Python float to within an ulp now and then.
        lr = ops.convert_to_tensor(learning_rate).to(device=device, dtype=torch.float32)
        # torch keeps a step count per weight and adds one before the update; ours is the optimiser's.
        step = ops.convert_to_tensor(self.iterations).to(device=device, dtype=torch.float32)
        with torch.no_grad():
            adam(
                [weight],
                [gradient],
                [m.value],
                [v.value],
                [],
                [step],
                fused=True,
                amsgrad=False,
                beta1=self.beta_1,
                beta2=self.beta_2,
                lr=lr,
                weight_decay=0.0,  # AdamW's decay is Keras' (decoupled, before this update)
                eps=self.epsilon,
                maximize=False,
            )

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": False,
        }


@keras.saving.register_keras_serializable(package="kerasketch")
class AdamW(Adam):
    """``torch.optim.AdamW``'s update: Keras' decoupled weight decay, then PyTorch's Adam step."""

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, name: str | None = None, **kwargs: Any):
        if weight_decay is None:
            raise ValueError("AdamW needs a weight_decay")
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, name=name, **kwargs)
