"""Keras' Conv2D and BatchNormalization, each one fused torch call on the torch backend.

On the torch backend Keras composes these layers from generic ops: Conv2D is
a convolution plus a separate bias add, and BatchNormalization computes the
batch moments, the normalisation and the moving averages as a dozen
element-wise passes (and as many again backwards). PyTorch has each as one
fused kernel, which is what the original's ``nn.Conv2d`` and
``nn.BatchNorm2d`` ran. These subclasses call those kernels directly when
they can (torch backend, channels-first, no padding) and defer to Keras
otherwise, so the models stay ordinary Keras models that save, load and run
on any backend.

Two consequences, both towards the original:

* BatchNormalization updates its moving variance with the *unbiased* batch
  variance, as ``nn.BatchNorm2d`` does (Keras' own layer uses the biased one);
* convolutions run in torch's ``channels_last`` memory format (the logical
  layout stays channels-first, NCHW), which on CPU takes oneDNN's fastest
  path. Flattening is a reshape of the logical NCHW tensor, so nothing about
  the model's meaning changes.
"""

from __future__ import annotations

import keras


def _on_torch() -> bool:
    return keras.backend.backend() == "torch"


@keras.saving.register_keras_serializable(package="kerasketch")
class Conv2D(keras.layers.Conv2D):
    """``nn.Conv2d``: one ``torch.nn.functional.conv2d`` with its bias fused."""

    def call(self, inputs):
        if not (_on_torch() and self.data_format == "channels_first" and self.padding == "valid"):
            return super().call(inputs)
        import torch
        import torch.nn.functional as F

        # Keras stores (kh, kw, in, out); torch wants (out, in, kh, kw). Asking for
        # channels_last here makes oneDNN run the convolution in NHWC, forwards and
        # backwards, and hand NHWC on to the layers after it.
        kernel = self.kernel.value.permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
        outputs = F.conv2d(
            inputs,
            kernel,
            self.bias.value if self.use_bias else None,
            stride=self.strides,
            dilation=self.dilation_rate,
            groups=self.groups,
        )
        return self.activation(outputs)


@keras.saving.register_keras_serializable(package="kerasketch")
class BatchNormalization(keras.layers.BatchNormalization):
    """``nn.BatchNorm2d``: one ``torch.nn.functional.batch_norm``, updating the moving
    statistics in place with PyTorch's rule (momentum ``1 - self.momentum``,
    unbiased variance)."""

    def call(self, inputs, training=None, mask=None):
        if not (_on_torch() and mask is None and self.axis in (1, -3) and len(inputs.shape) == 4):
            return super().call(inputs, training=training, mask=mask)
        import torch.nn.functional as F

        return F.batch_norm(
            inputs,
            self.moving_mean.value,
            self.moving_variance.value,
            self.gamma.value if self.scale else None,
            self.beta.value if self.center else None,
            training=bool(training) and self.trainable,
            momentum=1.0 - self.momentum,
            eps=self.epsilon,
        )
