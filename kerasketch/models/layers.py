"""Keras' Conv2D, Dense, pooling, Flatten and BatchNormalization, as single torch calls on the torch backend.

On the torch backend Keras composes these layers from generic ops: Conv2D is
a convolution plus a separate bias add, Dense a product plus a bias add (two
generic ops and two autograd nodes where ``nn.Linear`` has one addmm), and BatchNormalization computes the
batch moments, the normalisation and the moving averages as a dozen
element-wise passes (and as many again backwards). PyTorch has each as one
fused kernel, which is what the original's ``nn.Conv2d`` and
``nn.BatchNorm2d`` ran. These subclasses call those kernels only where they
compute what Keras' own layer would (torch backend, channels-first, no
padding or "same" padding at stride 1, float32 or, under Keras' mixed_bfloat16 policy, bfloat16, no
mask) and defer to Keras otherwise, so the models stay ordinary Keras models that save, load and run on
any backend.

Keras' contracts hold on the fast path too: weights are read through the
layer's own properties (so ``enable_lora`` works) and the moving statistics
change only through ``Variable.assign`` (so ``stateless_call`` returns them
instead of mutating the caller's variables).

Two consequences, both towards the original:

* BatchNormalization updates its moving variance with the *unbiased* batch
  variance, as ``nn.BatchNorm2d`` does, on every backend (Keras' own layer
  uses the biased one), so a model means the same on torch, JAX and TensorFlow;
* on torch, convolutions run in the ``channels_last`` memory format (the
  logical layout stays channels-first, NCHW), which on CPU takes oneDNN's
  fastest path. Flattening is a reshape of the logical NCHW tensor, so
  nothing about the model's meaning changes.
"""

from __future__ import annotations

import keras
from keras import ops

from kerasketch.active_backend import on_torch

#: Compute dtypes the fused kernels run in: float32, and bfloat16 (``mixed_bfloat16``: bfloat16 arithmetic,
#: float32 weights, which Keras' autocast scope hands the layer as bfloat16).
FUSED_DTYPES = ("float32", "bfloat16")


def _fusable(layer: keras.layers.Layer, inputs) -> bool:
    dtype = layer.compute_dtype
    return dtype in FUSED_DTYPES and keras.backend.standardize_dtype(inputs.dtype) == dtype


def _read(weight, dtype):
    """A weight as a tensor of ``dtype``: under mixed_bfloat16 the autocast scope that Layer.__call__ (or the
    model's, for LayerChain) opens reads float32 weights as bfloat16; ``.to`` makes that hold outside a scope."""
    return ops.convert_to_tensor(weight).to(dtype)


def _activate(activation, x):
    """``activation(x)``; Keras' relu with its defaults (which ends in ``torch.relu``) as ``torch.relu``."""
    if activation is keras.activations.relu:
        import torch

        return torch.relu(x)
    return activation(x)


@keras.saving.register_keras_serializable(package="kerasketch")
class Conv2D(keras.layers.Conv2D):
    """``nn.Conv2d``: one ``torch.nn.functional.conv2d`` with its bias fused."""

    def call(self, inputs):
        # "same" at stride 1 with odd kernels pads symmetrically, which torch's padding="same" does too.
        same = self.padding == "same" and all(s == 1 for s in self.strides) and all(k % 2 for k in self.kernel_size)
        fused = on_torch() and self.data_format == "channels_first" and (self.padding == "valid" or same)
        if not (fused and _fusable(self, inputs)):
            return super().call(inputs)
        import torch
        import torch.nn.functional as F

        # `self.kernel`, not the variable: with LoRA enabled it is the adapted kernel.
        # Keras stores (kh, kw, in, out); torch wants (out, in, kh, kw). Asking for
        # channels_last here makes oneDNN run the convolution in NHWC, forwards and
        # backwards, and hand NHWC on to the layers after it.
        kernel = _read(self.kernel, inputs.dtype)
        kernel = kernel.permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
        outputs = F.conv2d(
            inputs,
            kernel,
            _read(self.bias, inputs.dtype) if self.use_bias else None,
            stride=self.strides,
            padding="same" if same else 0,
            dilation=self.dilation_rate,
            groups=self.groups,
        )
        return _activate(self.activation, outputs)


@keras.saving.register_keras_serializable(package="kerasketch")
class Dense(keras.layers.Dense):
    """``nn.Linear``: one ``torch.nn.functional.linear`` (product and bias in one addmm)."""

    def call(self, inputs, training=None):
        if not (on_torch() and self.quantization_mode is None and _fusable(self, inputs)):
            return super().call(inputs, training=training)
        import torch.nn.functional as F

        # `self.kernel` (the LoRA-adapted one where enabled), stored (in, out); linear takes its transpose.
        kernel = _read(self.kernel, inputs.dtype)
        bias = _read(self.bias, inputs.dtype) if self.use_bias else None
        return _activate(self.activation, F.linear(inputs, kernel.T, bias))


@keras.saving.register_keras_serializable(package="kerasketch")
class MaxPooling2D(keras.layers.MaxPooling2D):
    """``nn.MaxPool2d``: ``torch.nn.functional.max_pool2d`` itself, the kernel Keras' op ends in."""

    def call(self, inputs):
        if not (on_torch() and self.data_format == "channels_first" and self.padding == "valid"):
            return super().call(inputs)
        import torch.nn.functional as F

        return F.max_pool2d(inputs, self.pool_size, self.strides)


@keras.saving.register_keras_serializable(package="kerasketch")
class Flatten(keras.layers.Flatten):
    """``x.view(B, -1)``: the row-major reshape Keras' channels_last Flatten makes, as one torch call."""

    def call(self, inputs):
        if not (on_torch() and self.data_format == "channels_last" and len(inputs.shape) > 1):
            return super().call(inputs)
        return inputs.reshape(inputs.shape[0], -1)


@keras.saving.register_keras_serializable(package="kerasketch")
class BatchNormalization(keras.layers.BatchNormalization):
    """``nn.BatchNorm2d``: PyTorch's update of the moving statistics (momentum
    ``1 - self.momentum``, unbiased variance) on every backend; one
    ``torch.nn.functional.batch_norm`` on torch."""

    #: Set on a model's layers by data-parallel training's ``--sync-bn`` (never saved): batch statistics
    #: over every rank's share of the batch. Keras' own ``synchronized=True`` works on TensorFlow only.
    across_ranks = False

    def call(self, inputs, training=None, mask=None):
        training = bool(training) and self.trainable
        if mask is not None or self.renorm or self.synchronized:
            return super().call(inputs, training=training, mask=mask)
        if training and self.across_ranks and on_torch():
            return self._synchronized_call(inputs)
        if on_torch() and self.axis in (1, -3) and len(inputs.shape) == 4 and _fusable(self, inputs):
            return self._torch_call(inputs, training)
        if not training:
            return super().call(inputs, training=False)

        compute_dtype = keras.backend.result_type(inputs.dtype, "float32")
        inputs = ops.cast(inputs, compute_dtype)  # as Keras does: float16 statistics overflow
        mean, variance = self._batch_moments(inputs)
        self._follow(mean, variance, ops.cast(ops.size(inputs), compute_dtype) / inputs.shape[self.axis], compute_dtype)
        outputs = ops.batch_normalization(
            inputs,
            mean,
            variance,
            axis=self.axis,
            offset=ops.cast(self.beta, compute_dtype) if self.center else None,
            scale=ops.cast(self.gamma, compute_dtype) if self.scale else None,
            epsilon=self.epsilon,
        )
        return ops.cast(outputs, self.compute_dtype)

    def _batch_moments(self, inputs):
        """The batch mean and (biased) variance per channel, averaged in two stages: over
        the axes after the channels' first, then over those before (the batch).

        ``ops.moments`` averages every axis but the channels' in one reduction. For an
        NCHW tensor those axes are not innermost, and TensorFlow's CPU kernel then adds
        the 6,272 values of a channel of ai_inno_cnn's first BatchNorm (8 x 28 x 28) one
        after another in float32: its batch variance came out 2.9e-5 off (relative) where
        JAX's and torch's are within 3e-7, and the port's gradients drifted 4.5e-4 from
        the PyTorch original's. Averaging each image's H x W block first (contiguous,
        784 values) and then the 8 of them is within 2e-7 on every backend."""
        ndim = len(inputs.shape)
        channels = self.axis % ndim
        inner, outer = tuple(range(channels + 1, ndim)), tuple(range(channels))

        def mean(t):
            if inner:
                t = ops.mean(t, axis=inner, keepdims=True)
            return ops.mean(t, axis=outer, keepdims=True) if outer else t

        batch_mean = mean(inputs)
        variance = mean(ops.square(inputs - batch_mean))
        return ops.reshape(batch_mean, (-1,)), ops.reshape(variance, (-1,))

    def _synchronized_call(self, inputs):
        """Training with the batch statistics of the whole global batch, as torch's SyncBatchNorm computes them.

        Each rank's per-channel sums of x and x**2 and its count go through one
        all-reduce that autograd differentiates (``torch.distributed.nn``), so
        the gradients flow through the other ranks' statistics too.
        """
        import torch
        from torch.distributed.nn.functional import all_reduce

        channels = self.axis % len(inputs.shape)
        others = [d for d in range(len(inputs.shape)) if d != channels]
        x = inputs.to(torch.float32)  # statistics in float32, as Keras' layer keeps them under mixed precision
        count = torch.full((1,), x.numel() / x.shape[channels], dtype=torch.float32, device=x.device)
        summed = all_reduce(torch.cat([x.sum(dim=others), (x * x).sum(dim=others), count]))
        c = x.shape[channels]
        total = summed[-1]
        mean = summed[:c] / total
        variance = (summed[c : 2 * c] / total - mean * mean).clamp(min=0.0)
        shape = [1] * len(inputs.shape)
        shape[channels] = c
        outputs = (x - mean.reshape(shape)) * torch.rsqrt(variance + self.epsilon).reshape(shape)
        if self.scale:
            outputs = outputs * _read(self.gamma, torch.float32).reshape(shape)
        if self.center:
            outputs = outputs + _read(self.beta, torch.float32).reshape(shape)
        with torch.no_grad():
            self._follow(mean.detach(), variance.detach(), total, torch.float32)
        return outputs.to(inputs.dtype)

    def _follow(self, mean, variance, count, dtype):
        """PyTorch's update of the moving statistics from a batch's ``mean`` and biased ``variance`` over
        ``count`` values a channel: momentum ``1 - self.momentum``, the variance with Bessel's correction."""
        unbiased = variance * (count / ops.maximum(count - 1.0, 1.0))
        keep = self.momentum
        self.moving_mean.assign(ops.cast(self.moving_mean, dtype) * keep + mean * (1.0 - keep))
        self.moving_variance.assign(ops.cast(self.moving_variance, dtype) * keep + unbiased * (1.0 - keep))

    def _torch_call(self, inputs, training: bool):
        import torch.nn.functional as F

        mean, variance = ops.convert_to_tensor(self.moving_mean), ops.convert_to_tensor(self.moving_variance)
        if training:
            # The fused kernel updates the running statistics in place: give it copies
            # and hand the result to the variables, never their storage.
            mean, variance = mean.clone(), variance.clone()
        outputs = F.batch_norm(
            inputs,
            mean,
            variance,
            # float32 scale and offset beside bfloat16 inputs is torch's mixed-type kernel: statistics
            # in float32, as Keras' own layer computes them under mixed_bfloat16.
            _read(self.gamma, mean.dtype) if self.scale else None,
            _read(self.beta, mean.dtype) if self.center else None,
            training=training,
            momentum=1.0 - self.momentum,
            eps=self.epsilon,
        )
        if training:
            self.moving_mean.assign(mean)
            self.moving_variance.assign(variance)
        return outputs
