"""Keras' Adam and AdamW update on the torch backend, with fewer temporaries and the same numbers.

Keras' torch Adam (``keras/src/backend/torch/optimizers/torch_adam.py``)
runs its update as ``torch._foreach_*`` calls, five of which return a new
list of tensors the size of the model: g*g, m*alpha, sqrt(v), sqrt(v) + eps
and their quotient. On a CPU each is a fresh allocation the kernel then
fills, which made one AdamW update of like_vgg cost 19.2 ms against torch's
own 13.0 (``bench/optimizer_step.py``). :func:`use_inplace_update` gives an
optimiser an update that makes the same elementwise operations in the same
order, on the same operands, but writes two of them into lists it
already has. Every result is the same float, bit for bit
(``tests/models/test_inplace_adam.py``).

The optimiser stays Keras' own class, so saved models and their compile
config load with plain Keras, without kerasketch; only the instance's
update method is replaced. Other backends keep Keras' update untouched.
"""

from __future__ import annotations

from types import MethodType
from typing import Any

import keras

from kerasketch.active_backend import on_torch

#: The Keras optimisers whose torch update this module reproduces (AdamW adds decay before it).
INPLACE_CLASSES = ("Adam", "AdamW")


def use_inplace_update(optimizer: keras.optimizers.Optimizer) -> bool:
    """Give a torch-backend Adam or AdamW (without amsgrad) the in-place update; False where it stays Keras'."""
    if not on_torch() or type(optimizer).__name__ not in INPLACE_CLASSES:
        return False
    if getattr(optimizer, "amsgrad", False) or not hasattr(optimizer, "_parallel_update_step"):
        return False
    optimizer._parallel_update_step = MethodType(_inplace_adam_step, optimizer)
    return True


def _inplace_adam_step(self: Any, grads: list[Any], variables: list[Any], learning_rate: Any) -> None:
    """Keras' ``torch_adam.Adam._parallel_update_step`` (Keras 3.15), operation for operation."""
    import torch
    from keras import ops

    keras_variables = variables
    values = [v.value for v in variables]
    dtype = values[0].dtype
    lr = ops.cast(learning_rate, dtype)
    local_step = ops.cast(self.iterations + 1, dtype)
    beta_1_power = ops.power(ops.cast(self.beta_1, dtype), local_step)
    beta_2_power = ops.power(ops.cast(self.beta_2, dtype), local_step)
    alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)

    m_list = [self._momentums[self._get_variable_index(v)].value for v in keras_variables]
    v_list = [self._velocities[self._get_variable_index(v)].value for v in keras_variables]

    torch._foreach_mul_(m_list, self.beta_1)
    torch._foreach_add_(m_list, grads, alpha=1 - self.beta_1)

    torch._foreach_mul_(v_list, self.beta_2)
    torch._foreach_add_(v_list, torch._foreach_mul(grads, grads), alpha=1 - self.beta_2)

    # The quotient goes into m*alpha's list and epsilon into sqrt(v)'s. Writing m*alpha into g*g's
    # freed list instead changed a few results in the last bit (tests/models/test_inplace_adam.py).
    step = torch._foreach_mul(m_list, alpha)
    denominator = torch._foreach_sqrt(v_list)
    torch._foreach_add_(denominator, self.epsilon)
    torch._foreach_div_(step, denominator)
    torch._foreach_add_(values, step, alpha=-1)
