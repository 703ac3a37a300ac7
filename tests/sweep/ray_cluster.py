"""A two-node Ray cluster on 127.0.0.1 that is the test's alone: its own ports, temp folder and auth token.

The machine may run other Ray sessions (a sweep beside the tests), so
nothing here uses a default port, ``~/.ray``'s token or a bare ``ray stop``,
which would stop every Ray on the machine: the cluster's processes are found
by its own temp folder, which each of them names on its command line or, for
the agents that retitle themselves (``ray::DashboardAgent``), inherits in
their environment from ``ray start``.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(n: int) -> list[int]:
    """``n`` consecutive free ports above the usual ephemeral range's start (a block: the workers' range)."""
    for _ in range(200):
        base = random.randrange(20000, 30000 - n)
        if all(_is_free(p) for p in range(base, base + n)):
            return list(range(base, base + n))
    raise RuntimeError(f"no {n} consecutive free ports found")


def _node_ports(ports: list[int]) -> list[str]:
    manager, objects, agent, agent_grpc, env_agent, metrics, *workers = ports
    return [
        f"--node-manager-port={manager}",
        f"--object-manager-port={objects}",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--runtime-env-agent-port={env_agent}",
        f"--metrics-export-port={metrics}",
        f"--min-worker-port={workers[0]}",
        f"--max-worker-port={workers[-1]}",
    ]


#: Set to the cluster's temp folder in the environment ``ray start`` passes on to every process it starts.
MARKER_VARIABLE = "KERASKETCH_TEST_RAY_CLUSTER"


def cluster_processes(marker: str) -> list[int]:
    """The pids whose command line or environment names ``marker`` (the cluster's temp folder)."""
    pids = []
    tagged = f"{MARKER_VARIABLE}={marker}\0".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if marker.encode() in (proc / "cmdline").read_bytes() or tagged in (proc / "environ").read_bytes():
                pids.append(int(proc.name))
    return pids


def _stop(marker: str, timeout: float = 60) -> list[int]:
    """SIGTERM the cluster's processes, SIGKILL what is left after ``timeout``; returns the survivors."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in cluster_processes(marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while cluster_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not cluster_processes(marker):
            return []
    return cluster_processes(marker)


@contextlib.contextmanager
def two_node_cluster(ray_bin: Path, cpus: int = 1) -> Iterator[tuple[str, dict[str, str]]]:
    """A head and a second node with ``cpus`` CPUs each; yields the address and the environment that reaches it."""
    temp = tempfile.mkdtemp(prefix="kr", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    ports = free_ports(2 * 16 + 2)
    head_port, client_port = ports[:2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        # Ray 2.60 turns token authentication on where ~/.ray/auth_token exists (any earlier local Ray made
        # one): the cluster, its nodes and the sweep's driver share a token of the test's own instead.
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
        MARKER_VARIABLE: temp,
    }
    env.pop("RAY_ADDRESS", None)
    common = [f"--num-cpus={cpus}", "--node-ip-address=127.0.0.1", "--disable-usage-stats", f"--temp-dir={temp}"]
    address = f"127.0.0.1:{head_port}"
    try:
        for argv in (
            ["--head", f"--port={head_port}", f"--ray-client-server-port={client_port}", "--include-dashboard=false"]
            + _node_ports(ports[2:18]),
            [f"--address={address}", *_node_ports(ports[18:34])],
        ):
            done = subprocess.run(
                [str(ray_bin), "start", *argv, *common], env=env, capture_output=True, text=True, timeout=300
            )
            if done.returncode != 0:
                raise RuntimeError(f"ray start {' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        yield address, env
    finally:
        left = _stop(temp)
        assert not left, f"the test cluster's processes {left} outlived SIGKILL"
