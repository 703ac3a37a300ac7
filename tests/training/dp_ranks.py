"""One rank (or the single process) of the data-parallel tests: trains a recipe's model on fixed rows, saves what it ends with.

    python dp_ranks.py RECIPE OUT.npz      # with RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set: one rank

The rows are 677 random 28x28 drawings of 5 classes (so the last global batch
of 64 splits unevenly, 19 + 18) and a validation split of 150 (not a multiple
of 2 x its batch). Written: the model's weights, the optimiser's variables,
the fit and evaluate logs, the number of training steps this rank took.
"""

from __future__ import annotations

import json
import sys

import numpy as np

import kerasketch  # noqa: F401  the torch backend, before Keras

# isort: split
import torch

from kerasketch.recipes import registry
from kerasketch.training import distributed
from kerasketch.training.data_parallel import SyncRanks, moving_statistics
from kerasketch.training.fit import compile_model
from kerasketch.training.inputs import Batches

ROWS, VAL_ROWS, CLASSES, BATCH = 677, 150, 5, 64


def rows() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (ROWS, 28, 28), dtype=np.uint8), rng.integers(0, CLASSES, ROWS)


def main(recipe_name: str, out: str) -> None:
    torch.set_num_threads(1)
    world = distributed.start(distributed.world_from_env(), threads=1)
    recipe = registry.get(recipe_name).with_(batch_size=BATCH)
    x, y = rows()
    shard = (world.rank, world.size)
    model = compile_model(recipe, CLASSES, 0, world=world)
    train = Batches(x, y, BATCH, shuffle=True, seed=0, shard=shard)
    val_batch = distributed.even_batch_size(VAL_ROWS, 256, world)
    val = Batches(x[:VAL_ROWS], y[:VAL_ROWS], val_batch, shuffle=False, shard=shard)
    callbacks = [SyncRanks(world)] if world.distributed else []
    history = model.fit(train, validation_data=val, epochs=1, verbose=0, shuffle=False, callbacks=callbacks)
    evaluated = model.evaluate(val, verbose=0, return_dict=True)
    np.savez(
        out,
        **{f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())},
        **{f"o{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)},
        **{f"s{i}": np.asarray(v) for i, v in enumerate(moving_statistics(model))},
        logs=json.dumps(
            {
                "fit": {k: float(v[-1]) for k, v in history.history.items()},
                "evaluate": {k: float(v) for k, v in evaluated.items()},
                "steps": len(train),
            }
        ),
    )
    distributed.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
