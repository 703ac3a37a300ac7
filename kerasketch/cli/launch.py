"""``--nproc N``: this same command as N ranks on this machine, under torch's own elastic launcher.

It is what ``torchrun --standalone --nproc-per-node N`` does (the c10d
rendezvous on a free local port, one worker process per rank, the agent
watching them), started from within the command so that a user need not
know torchrun. The agent restarts nothing: a rank that fails or is killed
ends the run, the agent stops the others, and the failure is one message
naming the rank. The run folder keeps its last finished epoch, so the same
command resumes it.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import uuid

from ..errors import KerasketchError
from ..training import distributed


def relaunch(nproc: int, *, monitor_interval: float = 0.5) -> int:
    """Run this process's own command line as ``nproc`` ranks; returns the exit code for the command."""
    from torch.distributed.elastic.multiprocessing.api import DefaultLogsSpecs, SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # Threads shared out over the ranks, as config.json then records, unless the user chose.
    os.environ.setdefault(
        "OMP_NUM_THREADS", str(distributed.threads_per_rank(distributed.World(size=nproc, local_size=nproc)))
    )
    if distributed.keras_backend() == "jax" and distributed.JAX_COORDINATOR not in os.environ:
        # Rank 0 serves jax.distributed's coordination service here (training/distributed.py's start_jax).
        os.environ[distributed.JAX_COORDINATOR] = f"127.0.0.1:{free_port()}"
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=f"kerasketch-{uuid.uuid4().hex[:8]}",
        rdzv_backend="c10d",
        rdzv_endpoint="127.0.0.1:0",  # torchrun --standalone: a free port on this machine
        max_restarts=0,
        monitor_interval=monitor_interval,
        start_method="spawn",
        logs_specs=DefaultLogsSpecs(),
    )
    # The same interpreter and arguments: `python -m kerasketch.recipes.NAME ...` or `kerasketch run NAME ...`.
    command = sys.orig_argv[1:]
    try:
        elastic_launch(config, entrypoint=sys.executable)(*command)
    except ChildFailedError as err:
        rank, failure = err.get_first_failure()
        raise KerasketchError(
            _failure_message(rank, failure.exitcode, failure.pid, nproc),
            "the same command resumes the run from its last finished epoch; rank 0's run.log and the "
            "other ranks' rank-N.log in the run folder say more",
        ) from None
    except SignalException as err:
        # Ctrl-C or a stop: the agent passed the signal on to the ranks, which end as cancelled.
        return 130 if err.sigval in (signal.SIGINT, signal.SIGTERM) else 1
    return 0


def free_port() -> int:
    """A port free on 127.0.0.1 now (torchrun --standalone picks its rendezvous port the same way)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _failure_message(rank: int, exitcode: int, pid: int, nproc: int) -> str:
    if exitcode < 0:
        how = f"was killed by {signal.Signals(-exitcode).name}"
    else:
        how = f"exited with status {exitcode}"
    return f"rank {rank} of {nproc} (pid {pid}) {how}; the other ranks were stopped"
