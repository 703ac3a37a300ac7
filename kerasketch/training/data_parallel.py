"""The Keras side of data-parallel training: the one train step, metrics every rank agrees on, callbacks.

See :mod:`kerasketch.training.distributed` for what a multi-process run
means. Everything here goes through Keras' documented extension points: a
``train_step`` and ``get_metrics_result`` override on a functional model
subclass (the pattern of Keras' "customizing what happens in fit()" guide),
``keras.StatelessScope`` and callbacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras

from ..models.chain import LayerChain
from .distributed import MOVING_STATISTICS, SINGLE, World, flat_all_reduce, keras_distributes_torch, undistributed


class DataParallelModel(LayerChain):
    """A functional model whose training step averages gradients over the ranks (and whose forward pass
    is :class:`~kerasketch.models.chain.LayerChain`'s).

    Built from a model's inputs and outputs, sharing its layers and weights:
    ``DataParallelModel(inputs=m.inputs, outputs=m.outputs, world=world)``.
    In a single process (or where Keras distributes torch itself) it is
    Keras' own step unchanged.
    """

    def __init__(self, *args: Any, world: World | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.world = world or SINGLE
        self.hand_over = keras_distributes_torch()

    @property
    def reduces(self) -> bool:
        """Whether this model does the all-reduces (several ranks, and Keras does not do them itself)."""
        return self.world.distributed and not self.hand_over

    def train_step(self, data):
        if not self.reduces:
            return super().train_step(data)
        import torch

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        self.zero_grad()
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        rows = x.shape[0]
        self.loss_tracker.update_state(loss, sample_weight=rows)
        # The rank's loss times its rows, summed over the ranks and divided by all their rows: the global
        # batch's mean also where the last batch split unevenly, and the same sum is what --sync-bn's
        # all-reduce differentiates through.
        (self.optimizer.scale_loss(loss) * rows).backward()
        weights = self.trainable_weights[:]
        local = [v.value.grad if v.value.grad is not None else torch.zeros_like(v.value) for v in weights]
        gradients = flat_all_reduce(local, divide_by=rows)
        with torch.no_grad():
            self.optimizer.apply(gradients, weights)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    @property
    def loss_tracker(self) -> keras.metrics.Metric:
        """Keras' running mean of the loss: the first of ``metrics`` once compiled, named "loss"."""
        return next(m for m in self.metrics if m.name == "loss")

    def get_metrics_result(self):
        if not self.reduces:
            return super().get_metrics_result()
        # Mean-like metrics keep (total, count) variables: their sums over the ranks give the global result.
        variables = [v for m in self.metrics for v in m.variables]
        if not variables:
            return super().get_metrics_result()
        summed = flat_all_reduce([keras.ops.convert_to_tensor(v) for v in variables], exact=True)
        with keras.StatelessScope(state_mapping=list(zip(variables, summed))):
            return super().get_metrics_result()


def data_parallel(model: keras.Model, world: World, *, sync_bn: bool = False) -> keras.Model:
    """``model`` with the data-parallel step where ``world`` has several ranks (``model`` itself otherwise).

    ``sync_bn``: kerasketch's BatchNormalization layers normalise with the
    statistics of the whole global batch (``--sync-bn``), not each rank's share.
    """
    if not world.distributed or world.on_jax:
        return model  # on jax, keras.distribution.DataParallel reduces (BatchNorm's statistics included)
    if sync_bn:
        from ..models.layers import BatchNormalization

        for layer in every_layer(model):
            if isinstance(layer, BatchNormalization):
                layer.across_ranks = True
    return DataParallelModel(inputs=model.inputs, outputs=model.outputs, name=model.name, world=world)


def every_layer(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of ``model`` and of the models nested in it (the augmentation wrapper's network)."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(every_layer(layer))
    return found


def broadcast_variables(variables: Iterable[keras.Variable]) -> None:
    """Rank 0's value of each variable on every rank."""
    import torch.distributed as dist

    for variable in variables:
        value = keras.ops.convert_to_tensor(variable).clone()
        dist.broadcast(value, src=0)
        variable.assign(value)


def moving_statistics(model: keras.Model) -> list[keras.Variable]:
    """BatchNormalization's moving means and variances: what training changes apart from the gradients."""
    return [v for v in model.non_trainable_variables if v.name in MOVING_STATISTICS]


def average_moving_statistics(model: keras.Model, world: World) -> None:
    statistics = moving_statistics(model)
    if not statistics:
        return
    summed = flat_all_reduce([keras.ops.convert_to_tensor(v) for v in statistics])
    for variable, total in zip(statistics, summed):
        variable.assign(total / world.size)


class SyncRanks(keras.callbacks.Callback):
    """Keeps the ranks' copies of the model alike where gradients do not.

    * training starts from rank 0's weights, statistics and optimiser state
      (after a resume's restore, so all ranks continue from the backup);
    * BatchNorm's moving statistics are averaged before every validation and
      at the end (the best checkpoint and backups are written after the
      epoch's validation, so they hold the averaged ones);
    * rank 0's decision to stop is every rank's: placed after EarlyStopping.
    """

    def __init__(self, world: World):
        super().__init__()
        self.world = world

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        broadcast_variables([*self.model.variables, *optimizer.variables])

    def on_test_begin(self, logs=None):
        average_moving_statistics(self.model, self.world)

    def on_epoch_end(self, epoch, logs=None):
        import torch
        import torch.distributed as dist

        decision = torch.tensor([1 if self.model.stop_training else 0], dtype=torch.int64)
        dist.broadcast(decision, src=0)
        self.model.stop_training = bool(decision.item())

    def on_train_end(self, logs=None):
        average_moving_statistics(self.model, self.world)


class SameStop(keras.callbacks.Callback):
    """On jax: rank 0's decision to stop is every rank's (the safety net SyncRanks is on torch)."""

    def on_epoch_end(self, epoch, logs=None):
        import numpy as np
        from jax.experimental import multihost_utils

        decision = multihost_utils.broadcast_one_to_all(np.array(1 if self.model.stop_training else 0, np.int32))
        self.model.stop_training = bool(decision)


class WritesAlone(keras.callbacks.Callback):
    """``callback`` with Keras' distribution off while it writes: rank 0 saving alone on jax.

    Under ``keras.distribution`` on jax, saving a model places arrays on every
    process's devices, a collective the other ranks never join; with the
    distribution off for the write, rank 0 reads its own replica and saves
    alone. Restoring (at the start of training) stays a collective every rank
    makes, with the distribution on.
    """

    def __init__(self, callback: keras.callbacks.Callback):
        super().__init__()
        self.callback = callback

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)

    def on_train_begin(self, logs=None):
        self.callback.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        with undistributed():
            self.callback.on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        with undistributed():
            self.callback.on_train_end(logs)


class RestoreOnly(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore for ranks other than 0: restores the backup rank 0 writes, never writes or deletes."""

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass
