"""kerasketch: the nine Tiny Quick, Draw! experiments as Keras 3 models on PyTorch.

Importing this package selects Keras' torch backend unless the user already
chose one through ``KERAS_BACKEND``; it must happen before Keras is imported,
so every entry point imports ``kerasketch`` first.

It also turns on TensorFlow's oneDNN kernels unless the user set
``TF_ENABLE_ONEDNN_OPTS``: the models are channels-first like the PyTorch
originals, and TensorFlow's own CPU kernels train NHWC only ("Conv2DCustom
BackpropFilterOp only supports NHWC"); TensorFlow enables oneDNN by itself
only on CPUs with AVX-512 VNNI or newer, so without this the tensorflow
backend fails on most other CPUs. Setting a variable costs nothing on the
other backends.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # active_backend.DEFAULT: that module imports this package
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
