"""Adam and AdamW with PyTorch's update rule on every backend, as one fused kernel on torch.

The log trained with ``torch.optim.Adam`` and ``torch.optim.AdamW``. Keras'
Adam differs from them in one place: it adds epsilon to sqrt(v) before the
bias correction, PyTorch to sqrt(v_hat) after it, so Keras' epsilon acts
1/sqrt(1 - beta_2^t) times larger (31.6x at step 1) and shrinks the steps of
gradients near 1e-7. These subclasses keep Keras' optimiser (its variables,
schedules, weight-decay exclusions, saving) and replace only the update,
which becomes PyTorch's, step for step:

    m = m + (g - m) * (1 - beta_1)                   # torch: m.lerp_(g, 1 - beta_1)
    v = v + (g * g - v) * (1 - beta_2)               # torch: v * beta_2 + (1 - beta_2) * g * g
    w = w - lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + eps)

AdamW first decays every decayed weight by w * (1 - lr * weight_decay), as
both frameworks do. On JAX and TensorFlow the update is written with
``keras.ops``, variable by variable; on torch it is PyTorch's own fused kernel
(``torch._fused_adam_``/``torch._fused_adamw_``, what ``fused=True`` runs),
one pass over all the weights. Keras' torch update takes five ``_foreach``
passes and three lists of temporaries: one AdamW update of like_vgg (1.3M
weights, 2 CPU cores) took 4.8 ms with Keras' own, 3.5 with torch's CPU
default and 1.4 with this one (``bench/optimizer_step.py``), of a step of
about 30-40 ms. ``tests/models/test_optimizers.py`` compares it with
torch.optim on every backend, to float32 rounding (Keras keeps the learning
rate as float32, torch.optim as a Python float: an ulp now and then).
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from kerasketch.active_backend import on_torch


class _PyTorchRule:
    """PyTorch's Adam update for a Keras Adam or AdamW (``amsgrad`` is not offered)."""

    # Attributes of Keras' Adam, for the type checker.
    beta_1: float
    beta_2: float
    epsilon: float
    amsgrad: bool
    iterations: Any
    learning_rate: Any
    weight_decay: float | None
    _momentums: list[Any]
    _velocities: list[Any]
    _get_variable_index: Any
    _use_weight_decay: Any
    assign_add: Any
    assign_sub: Any

    def _check_rule(self) -> None:
        if self.amsgrad:
            raise ValueError("kerasketch's Adam follows PyTorch's rule without amsgrad")

    def update_step(self, gradient, variable, learning_rate):
        """One variable's update (JAX and TensorFlow; Keras' torch optimisers update all at once)."""
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        # 1 - beta^t as -expm1(t log beta): torch computes it in float64; float32's 1 - 0.999^t
        # loses four digits to cancellation at the first steps (Keras' own Adam does so).
        bias_1 = -ops.expm1(step * math.log(self.beta_1))
        bias_2_sqrt = ops.sqrt(-ops.expm1(step * math.log(self.beta_2)))
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        denominator = ops.add(ops.divide(ops.sqrt(v), bias_2_sqrt), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / bias_1), denominator))

    def _apply_weight_decay(self, variables):
        if on_torch():
            return  # the fused kernel decays (see _fused_update)
        super()._apply_weight_decay(variables)  # type: ignore[misc]

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if not on_torch():
            return super()._backend_update_step(grads, trainable_variables, learning_rate)  # type: ignore[misc]
        import torch

        with torch.no_grad():
            self._fused_update(grads, trainable_variables, learning_rate)

    def _fused_update(self, grads, variables, learning_rate):
        """All the variables' updates in PyTorch's fused kernels, decayed ones and the rest apart."""
        import torch

        values = [v.value for v in variables]
        index = [self._get_variable_index(v) for v in variables]
        moments = [self._momentums[i].value for i in index]
        velocities = [self._velocities[i].value for i in index]
        device = values[0].device
        # A tensor (a float would wait for the device every step); Keras keeps it as float32, so it is
        # torch.optim's 0.001 to within 5e-11, which moves a weight by an ulp now and then.
        lr = ops.convert_to_tensor(learning_rate).to(device=device, dtype=torch.float32)
        # torch keeps a step count per weight; every weight here is at the optimiser's step.
        step = ops.convert_to_tensor(self.iterations + 1).to(device=device, dtype=torch.float32)
        decay = self.weight_decay or 0.0
        decayed = [bool(decay) and bool(self._use_weight_decay(v)) for v in variables]
        for wanted in (True, False):
            group = [i for i, d in enumerate(decayed) if d is wanted]
            if not group:
                continue
            kernel = torch._fused_adamw_ if wanted else torch._fused_adam_
            kernel(
                [values[i] for i in group],
                [grads[i] for i in group],
                [moments[i] for i in group],
                [velocities[i] for i in group],
                [],
                [step] * len(group),
                lr=lr,
                beta1=self.beta_1,
                beta2=self.beta_2,
                weight_decay=decay if wanted else 0.0,
                eps=self.epsilon,
                amsgrad=False,
                maximize=False,
            )


@keras.saving.register_keras_serializable(package="kerasketch")
class Adam(_PyTorchRule, keras.optimizers.Adam):
    """``torch.optim.Adam``'s update in Keras' Adam."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._check_rule()


@keras.saving.register_keras_serializable(package="kerasketch")
class AdamW(_PyTorchRule, keras.optimizers.AdamW):
    """``torch.optim.AdamW``'s update in Keras' AdamW."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._check_rule()
