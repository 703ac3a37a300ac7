"""One rank (or the single process) of the data-parallel tests: trains a recipe's model on fixed rows, saves what it ends with.

    python dp_ranks.py RECIPE OUT.npz [sync_bn]   # with RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set: one rank
    python dp_ranks.py batchnorm OUT.npz          # two BatchNorm layers alone, across the ranks

The rows are 677 random 28x28 drawings of 5 classes (so the last global batch
of 64 splits unevenly, 19 + 18) and a validation split of 150 (not a multiple
of 2 x its batch). Written: the model's weights, the optimiser's variables,
the fit and evaluate logs, the number of training steps this rank took.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import kerasketch  # noqa: F401  the torch backend, before Keras

# isort: split
import keras
import torch

from kerasketch.recipes import registry
from kerasketch.training import distributed
from kerasketch.training.data_parallel import SyncRanks, moving_statistics
from kerasketch.training.fit import compile_model
from kerasketch.training.inputs import Batches

ROWS, VAL_ROWS, CLASSES, BATCH = int(os.environ.get("DP_ROWS", 677)), 150, 5, 64


def rows() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (ROWS, 28, 28), dtype=np.uint8), rng.integers(0, CLASSES, ROWS)


def main(recipe_name: str, out: str, sync_bn: bool = False) -> None:
    torch.set_num_threads(1)
    world = distributed.start(distributed.world_from_env(), threads=1)
    recipe = registry.get(recipe_name).with_(batch_size=BATCH)
    x, y = rows()
    shard = (world.rank, world.size)
    model = compile_model(recipe, CLASSES, 0, world=world, sync_bn=sync_bn)
    # The first step's gradients as the optimiser receives them (after the all-reduce, on the ranks).
    first: list[np.ndarray] = []
    apply = model.optimizer.apply

    def recording(gradients, variables=None):
        if not first:
            first.extend(np.asarray(keras.ops.convert_to_numpy(g)) for g in gradients)
        return apply(gradients, variables)

    model.optimizer.apply = recording
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
        **{f"g{i}": g for i, g in enumerate(first)},
        logs=json.dumps(
            {
                "fit": {k: float(v[-1]) for k, v in history.history.items()},
                "evaluate": {k: float(v) for k, v in evaluated.items()},
                "steps": len(train),
            }
        ),
    )
    distributed.stop()


def batchnorm(out: str) -> None:
    """Two of kerasketch's BatchNormalization layers with --sync-bn's statistics, ReLU between, on this rank's
    share of 8 fixed images: the output, the input's gradient, gamma's and beta's, the moving statistics."""
    from kerasketch.models.layers import BatchNormalization

    world = distributed.start(distributed.world_from_env(), threads=1)
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(8, 4, 5, 5)) * 3 + 1).astype(np.float32)
    upstream = rng.normal(size=x.shape).astype(np.float32)
    lo, hi = distributed.shard_span(0, 8, world.rank, world.size)
    first, second = BatchNormalization(axis=1, momentum=0.9), BatchNormalization(axis=1, momentum=0.9)
    for layer in (first, second):
        layer.build(x.shape)
        layer.across_ranks = world.distributed
    inputs = torch.tensor(x[lo:hi], requires_grad=True)
    outputs = second(torch.relu(first(inputs, training=True)) * 2.0, training=True)
    (outputs * torch.tensor(upstream[lo:hi])).sum().backward()
    grads = [first.gamma.value.grad, first.beta.value.grad, second.gamma.value.grad]
    if world.distributed:
        grads = distributed.flat_all_reduce(grads)
    np.savez(
        out,
        outputs=outputs.detach().numpy(),
        inputs=inputs.grad.numpy(),
        **{f"p{i}": g.numpy() for i, g in enumerate(grads)},
        **{f"s{i}": np.asarray(v) for i, v in enumerate(moving_statistics(first) + moving_statistics(second))},
    )
    distributed.stop()


if __name__ == "__main__":
    if sys.argv[1] == "batchnorm":
        batchnorm(sys.argv[2])
        sys.exit()
    main(sys.argv[1], sys.argv[2], sync_bn=sys.argv[3:] == ["sync_bn"])
