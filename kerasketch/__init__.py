"""kerasketch: the nine Tiny Quick, Draw! experiments as Keras 3 models on PyTorch.

Importing this package selects Keras' torch backend unless the user already
chose one through ``KERAS_BACKEND``; it must happen before Keras is imported,
so every entry point imports ``kerasketch`` first.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

__version__ = "0.1.0"
