"""The log's optimisers' settings as Keras argument values, without importing Keras.

:mod:`kerasketch.optimizers` builds the optimisers from these; the list of a
recipe's tunable parameters (:mod:`kerasketch.recipes.params`) reads them
too, and must stay light enough for the dashboard and ``--list-params``.
"""

from __future__ import annotations

#: Per optimiser, the Keras arguments that reproduce the PyTorch call the log makes.
ORIGINAL_KWARGS: dict[str, dict[str, float]] = {
    "sgd": {"learning_rate": 0.01, "momentum": 0.0},
    "adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
    "rmsprop": {"learning_rate": 0.001, "rho": 0.99, "momentum": 0.0, "epsilon": 1e-16},
    "adamw": {"learning_rate": 0.001, "weight_decay": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
}

#: The optimiser whose weight_decay is decoupled; on the others PyTorch's is an L2 term.
DECOUPLED_DECAY = ("adamw",)
