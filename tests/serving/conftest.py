"""A model trained on the synthetic shapes, and ``kerasketch serve`` running it in a real uvicorn process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kerasketch.cli import main

ROOT = Path(__file__).resolve().parents[2]
#: Shapes a pointer can draw; like_vgg_adamw tells them apart after three short epochs (test accuracy 1.0).
SHAPES = ("circle", "square", "triangle", "zigzag")


@pytest.fixture(scope="session")
def shapes_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("serve-runs")
    argv = ["run", "like_vgg_adamw", "--data", "synthetic", "--classes", ",".join(SHAPES)]
    argv += ["--max-per-class", "150", "--epochs", "3", "--runs-dir", str(runs), "--quiet"]
    assert main(argv) == 0
    return next(runs.iterdir())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    url: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None


def start_service(source: Path, log: Path, *options: str, timeout: float = 180.0) -> Service:
    """``python -m kerasketch serve SOURCE`` on a free port of 127.0.0.1, returned once /readyz says ready."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "torch"}
    argv = [sys.executable, "-m", "kerasketch", "serve", str(source), "--port", str(port), *options]
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    service = Service(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise AssertionError(f"kerasketch serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{service.url}/readyz", timeout=2.0).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # polling for readiness; the deadline above bounds the wait
    stop_service(service)
    raise AssertionError(f"kerasketch serve was not ready after {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def stop_service(service: Service) -> None:
    service.process.terminate()
    try:
        service.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


@pytest.fixture(scope="session")
def service(shapes_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service on the shapes run; requests wait up to 100 ms for others to share their model call."""
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    running = start_service(shapes_run, log, "--max-wait-ms", "100", "--max-batch", "64", "--log-level", "warning")
    yield running
    stop_service(running)
