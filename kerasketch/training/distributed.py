"""Data-parallel training on ``torch.distributed``: one model, several processes, one global batch.

Keras 3.15 has no data parallelism on the torch backend, so this follows the
design of Keras' unreleased one (its torch trainer and distribution_lib) with
public APIs only, and hands over to Keras once a release ships its own
(:func:`keras_distributes_torch`), so that nothing is reduced twice.

What a run under ``--nproc N`` or ``torchrun`` means (docs/scaling-out.md):

* ``--batch-size`` is the global batch; each of the N ranks trains on its
  contiguous share of every global batch (:class:`~kerasketch.training.inputs.Batches`
  with ``shard=(rank, N)``), so every rank takes the same number of steps.
* The weights (BatchNorm statistics included) and the optimiser's state are
  broadcast from rank 0 when training starts, after a resume's restore.
* Gradients are averaged once per step in :meth:`DataParallelModel.train_step`,
  one flat all-reduce weighted by each rank's rows, so that a last batch split
  unevenly still gives the single-process mean.
* Metrics are all-reduced (SUM of their state variables) wherever Keras
  reads them, so every rank's logs, EarlyStopping and checkpoints agree; rank
  0's stop decision is broadcast as well, as a safety net.
* BatchNorm trains on each rank's own batch statistics, as PyTorch's DDP does;
  the moving statistics (Keras variables, which nothing syncs) are averaged
  before every validation and at the end of training.
* Only rank 0 writes the run folder; the others log to ``rank-N.log`` in it.

On Keras' jax backend the same launch runs Keras' own
``keras.distribution.DataParallel`` across the processes instead
(:func:`start_jax`): ``jax.distributed`` joins them, the model's variables are
one array replicated over every process's device, and XLA reduces the
gradients, metrics and BatchNorm's statistics itself; kerasketch only feeds
each process its share of every batch (``auto_shard_dataset=False``).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import pickle
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..options import DEFAULT_DIST_TIMEOUT, DIST_BACKENDS
from ..runs.documents import distributed_record

#: What torchrun (and ``--nproc``, which runs torch's elastic launcher) sets in each rank's environment.
RANK_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
#: Waiting for rank 0 to assemble or build the dataset may take hours: its own, longer bound.
DATA_TIMEOUT = datetime.timedelta(hours=24)
#: Where a jax rank finds process 0's coordination service (host:port); ``--nproc`` sets it.
JAX_COORDINATOR = "JAX_COORDINATOR_ADDRESS"
#: The Keras variables BatchNormalization (Keras' and our fused layers) keeps its moving statistics in.
MOVING_STATISTICS = ("moving_mean", "moving_variance")


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of a run; ``World()`` is a single process."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    backend: str | None = None  # "gloo" or "nccl" once the process group is up; "jax/..." on jax

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def on_jax(self) -> bool:
        """Several processes under ``keras.distribution.DataParallel`` on jax (:func:`start_jax`)."""
        return self.distributed and (self.backend or "").startswith("jax")

    @property
    def leader(self) -> bool:
        """Rank 0: the one that writes the run folder and prints."""
        return self.rank == 0


#: A single process: the default wherever a world is asked for.
SINGLE = World()


def launched() -> bool:
    """Whether this process is one rank of a torchrun (or ``--nproc``) launch."""
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE"))


def world_from_env() -> World:
    """The rank variables torchrun sets, as a :class:`World` (a single process without them)."""
    if not launched():
        return World()
    try:
        values = {name: int(os.environ[name]) for name in RANK_VARIABLES if name in os.environ}
    except ValueError as err:
        raise ConfigError(
            f"a torch.distributed variable is not a number ({err})", "launch with torchrun or --nproc"
        ) from None
    size = values["WORLD_SIZE"]
    return World(
        rank=values["RANK"],
        size=size,
        local_rank=values.get("LOCAL_RANK", 0),
        local_size=values.get("LOCAL_WORLD_SIZE", size),
    )


def check_backend(backend: str) -> None:
    """Data parallelism runs on Keras' torch and jax backends: one clear message on tensorflow (docs/scaling-out.md)."""
    if backend in ("torch", "jax"):
        return
    raise ConfigError(
        f"--nproc and torchrun run on Keras' torch and jax backends, not {backend}",
        "run with KERAS_BACKEND=torch (the default) or jax",
    )


def check_sync_bn(*, sync_bn: bool, jit_compile: bool, world: World) -> None:
    if not sync_bn:
        return
    if not world.distributed:
        raise ConfigError("--sync-bn shares BatchNorm's statistics across processes", "use it with --nproc or torchrun")
    if jit_compile:
        # torch.distributed.nn's differentiable all-reduce, which the statistics go through, runs eagerly only.
        raise ConfigError(
            "--sync-bn runs eagerly: its all-reduce of BatchNorm's statistics cannot be compiled",
            "leave out --jit-compile or --sync-bn",
        )


def check_batch(batch_size: int, world: World) -> None:
    """The global batch must split evenly over the ranks: refused at start otherwise."""
    if world.distributed and batch_size % world.size:
        raise ConfigError(
            f"--batch-size {batch_size} does not split evenly over {world.size} processes "
            f"({batch_size / world.size:g} drawings each)",
            f"use a global batch that is a multiple of {world.size}, e.g. {batch_size - batch_size % world.size or world.size}",
        )


def threads_per_rank(world: World, given: int | None = None) -> int:
    """``given``, else this machine's cores shared out over the ranks on it."""
    if given is not None:
        return given
    return max(1, (os.cpu_count() or 1) // max(1, world.local_size))


def start(
    world: World, *, backend: str = "auto", timeout: float = DEFAULT_DIST_TIMEOUT, threads: int | None = None
) -> World:
    """Join the process group (env:// rendezvous, as torchrun sets it up); returns ``world`` with its backend.

    gloo on CPU, NCCL where CUDA is available, unless ``backend`` says which;
    ``timeout`` bounds every collective, so a rank that died or hangs ends the
    run instead of stalling it.
    """
    if not world.distributed:
        if threads is not None and keras_backend() == "torch":
            import torch

            torch.set_num_threads(threads)
        return world
    check_backend(keras_backend())
    if keras_backend() == "jax":
        return start_jax(world, timeout=timeout)
    import torch
    import torch.distributed as dist

    if backend not in DIST_BACKENDS:
        raise ConfigError(f"--dist-backend must be one of {', '.join(DIST_BACKENDS)}, not {backend!r}")
    chosen = backend if backend != "auto" else ("nccl" if torch.cuda.is_available() else "gloo")
    if chosen == "nccl":
        if not torch.cuda.is_available():
            raise ConfigError("--dist-backend nccl needs CUDA GPUs, and torch sees none", "use gloo on CPUs")
        # Keras' torch backend places tensors on "cuda", the current device: one GPU per local rank.
        torch.cuda.set_device(world.local_rank)
    torch.set_num_threads(threads_per_rank(world, threads))
    if not dist.is_initialized():
        dist.init_process_group(chosen, timeout=datetime.timedelta(seconds=timeout))
    return World(world.rank, world.size, world.local_rank, world.local_size, chosen)


def start_jax(world: World, *, timeout: float = DEFAULT_DIST_TIMEOUT) -> World:
    """Join the jax processes (``jax.distributed``) and train under Keras' ``DataParallel`` over all their devices.

    Process 0 serves the coordination service at ``JAX_COORDINATOR_ADDRESS``
    (``--nproc`` picks a free port on this machine; under torchrun on several
    machines the user sets it to a host:port of rank 0's machine). CPU
    collectives go through gloo, set here explicitly.
    """
    address = os.environ.get(JAX_COORDINATOR)
    if not address:
        raise ConfigError(
            f"on jax, the processes meet at {JAX_COORDINATOR} (host:port of rank 0's machine), which is not set",
            f"use --nproc on one machine, or export {JAX_COORDINATOR}=HOST:PORT for torchrun",
        )
    import jax
    import keras

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=address,
        num_processes=world.size,
        process_id=world.rank,
        initialization_timeout=max(1, int(timeout)),
    )
    # Each process hands Keras its own share of every batch (training/inputs.py), not the whole batch.
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)
    )
    platform = jax.devices()[0].platform
    chosen = "jax/gloo" if platform == "cpu" else f"jax/{platform}"
    return World(world.rank, world.size, world.local_rank, world.local_size, chosen)


@contextlib.contextmanager
def undistributed() -> Iterator[None]:
    """Keras' distribution off meanwhile: rank 0 saving alone (jax would make every save a collective)."""
    import keras

    before = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(before)


def keras_backend() -> str:
    import keras

    return str(keras.config.backend())


def stop() -> None:
    if "jax" in sys.modules and keras_backend() == "jax":
        import jax
        import keras

        keras.distribution.set_distribution(None)
        if jax.distributed.is_initialized():
            jax.distributed.shutdown()
        return
    if "torch.distributed" not in sys.modules:  # never imported: nothing to leave (and jax runs stay torch-free)
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def keras_distributes_torch() -> bool:
    """Whether the installed Keras runs data parallelism on torch itself.

    Keras 3.15 has no torch distribution library (``keras.distribution``'s
    calls fail there); the release that ships one wraps the model and reduces
    gradients and metrics on its own, and kerasketch then hands over instead
    of reducing a second time.
    """
    import keras

    if keras.config.backend() != "torch":
        return False
    try:
        keras.distribution.list_devices()
    except Exception:  # 3.15: AttributeError on its missing torch library
        return False
    return True


def broadcast_object(value: Any, world: World) -> Any:
    """``value`` as rank 0 has it, on every rank."""
    if not world.distributed:
        return value
    if world.on_jax:
        import numpy as np
        from jax.experimental import multihost_utils

        data = np.frombuffer(pickle.dumps(value) if world.leader else b"", dtype=np.uint8)
        size = int(multihost_utils.broadcast_one_to_all(np.array(len(data), dtype=np.int32)))
        padded = np.zeros(size, dtype=np.uint8)
        padded[: len(data)] = data
        return pickle.loads(np.asarray(multihost_utils.broadcast_one_to_all(padded)).tobytes())
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wait_for_leader(world: World) -> None:
    """Block until every rank gets here, however long rank 0 takes (building a dataset's cache)."""
    if not world.distributed:
        return
    if world.on_jax:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices("kerasketch: the dataset is ready")
        return
    import torch.distributed as dist

    # A group of its own: the default group's timeout bounds collectives, not a cache build.
    group = dist.new_group(backend="gloo", timeout=DATA_TIMEOUT)
    assert isinstance(group, dist.ProcessGroup)  # every rank is a member
    dist.barrier(group=group)
    dist.destroy_process_group(group)


def even_batch_size(rows: int, batch_size: int, world: World) -> int:
    """The smallest batch size from ``batch_size`` up whose last batch gives every rank a row.

    Evaluation shards each batch over the ranks and reduces after every step,
    so every rank must have a share of every batch; no row is dropped.
    """
    if not world.distributed:
        return batch_size
    if rows < world.size:
        raise ConfigError(
            f"{rows} validation drawings cannot be shared out over {world.size} processes",
            "use more data (--max-per-class, --fraction) or fewer processes",
        )
    size = batch_size
    while rows % size and rows % size < world.size:
        size += 1
    return size


def shard_span(lo: int, hi: int, world_rank: int, world_size: int) -> tuple[int, int]:
    """This rank's contiguous share of positions ``lo:hi`` (the first ``(hi - lo) % size`` ranks get one more)."""
    base, extra = divmod(hi - lo, world_size)
    start = lo + world_rank * base + min(world_rank, extra)
    return start, start + base + (1 if world_rank < extra else 0)


def flat_all_reduce(tensors: Sequence[Any], divide_by: float | None = None, *, exact: bool = False) -> list[Any]:
    """``tensors`` summed over the ranks in one all-reduce (divided by the sum of ``divide_by`` if given).

    One flat buffer rather than a call per weight: the latency of a
    collective, not its bytes, dominates for small models. ``exact`` sums in
    float64 (metric counts pass float32's 2**24 on a large epoch).
    """
    import torch
    import torch.distributed as dist

    dtype = torch.float64 if exact else torch.float32
    parts = [t.reshape(-1).to(dtype) for t in tensors]
    if divide_by is not None:
        parts.append(torch.full((1,), float(divide_by), dtype=dtype, device=parts[0].device))
    flat = torch.cat(parts)
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    if divide_by is not None:
        flat = flat[:-1] / flat[-1]
    out, at = [], 0
    for t in tensors:
        n = t.numel()
        out.append(flat[at : at + n].reshape(t.shape).to(t.dtype))
        at += n
    return out


def record(world: World, batch_size: int, *, sync_bn: bool = False) -> dict[str, Any]:
    """config.json's ``distributed``: how many processes trained, how, and on how much of each batch."""
    if not world.distributed:
        return {"world_size": 1, "global_batch": batch_size}
    shared = {
        "world_size": world.size,
        "backend": world.backend,
        "global_batch": batch_size,
        "per_rank_batch": batch_size // world.size,
        "local_ranks": world.local_size,
    }
    if world.on_jax:
        return {
            **shared,
            "keras_distributes": True,  # keras.distribution.DataParallel reduces, not kerasketch
            "batch_norm": "statistics over the global batch (one array across the processes on jax)",
        }
    import torch

    return {
        **shared,
        "threads_per_rank": torch.get_num_threads(),
        "keras_distributes": keras_distributes_torch(),
        "batch_norm": "statistics over the global batch (--sync-bn)" if sync_bn else "statistics per rank, as DDP",
    }


def describe(world: World, batch_size: int) -> str:
    return (
        f"data-parallel: {world.size} processes ({world.backend}), global batch {batch_size}, "
        f"{batch_size // world.size} per process"
    )


def resume_note(config: Mapping[str, Any], world: World) -> str | None:
    """A line for a run resumed with another number of processes than it started with (folders from
    before data parallelism started with 1). It works: the global batch and the training order do not
    depend on the number of processes, only BatchNorm's per-rank statistics do."""
    before = distributed_record(config)["world_size"]
    if before == world.size:
        return None
    return (
        f"this run started with {before} process{'es' if before > 1 else ''} and resumes with {world.size}: "
        "the same global batch and order, BatchNorm's statistics now taken over each share"
    )


def lost_a_rank(err: BaseException) -> bool:
    """Whether ``err`` is a collective that failed because another rank died, hung or dropped its connection.

    gloo reports a peer's death as a plain RuntimeError from its transport;
    newer c10d code raises ``torch.distributed.DistError``. Such a run did
    nothing wrong itself: it ends resumable, not failed. On jax, XLA's gloo
    collectives raise a ValueError ("Gloo all-reduce failed: ... Connection
    closed by peer").
    """
    if "torch.distributed" in sys.modules:
        import torch.distributed as dist

        if isinstance(err, dist.DistError):
            return True
    text = str(err)
    signs = ("gloo", "Gloo", "NCCL", "Connection reset", "Connection closed", "timed out")
    return isinstance(err, RuntimeError | ValueError) and any(s in text for s in signs)
