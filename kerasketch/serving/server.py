"""Starting the service: uvicorn with the app of :mod:`.app`, in one process or several."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import ConfigError
from ..inference.runtimes import open_runtime
from .app import CONFIG_ENV, create_app, use_threads
from .limits import Limits


def serve(
    source: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    limits: Limits | None = None,
    max_batch: int = 32,
    max_wait_ms: float = 5.0,
    top: int = 5,
    threads: int | None = None,
    log_level: str = "info",
) -> int:
    """Serve ``source`` (a run folder or an export) until interrupted.

    With one worker the model is loaded here first, so that a run that cannot
    be served says so as one message before anything listens. Several workers
    are separate processes (uvicorn's), each loading the model itself from the
    options handed over in :data:`~.app.CONFIG_ENV`.
    """
    import uvicorn

    limits = limits or Limits()
    if not 1 <= workers <= 64:
        raise ConfigError(f"--workers must be from 1 to 64, got {workers}")
    if not 1 <= max_batch <= 4096:
        raise ConfigError(f"--max-batch must be from 1 to 4096, got {max_batch}")
    if not 0 <= max_wait_ms <= 1000:
        raise ConfigError(f"--max-wait-ms must be from 0 to 1000, got {max_wait_ms:g}")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, got {port}")
    if not 1 <= top <= limits.max_top:
        raise ConfigError(f"--top must be from 1 to --max-top ({limits.max_top}), got {top}")
    if threads is not None and not 1 <= threads <= 256:
        raise ConfigError(f"--threads must be from 1 to 256, got {threads}")
    use_threads(threads)
    runtime = open_runtime(source)  # the one-line error, before anything listens
    if workers == 1:
        app = create_app(lambda: runtime, limits, max_batch=max_batch, max_wait_ms=max_wait_ms, top=top)
        uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)
        return 0
    config = {
        "source": str(Path(source).expanduser().resolve()),
        "limits": limits.as_dict(),
        "max_batch": max_batch,
        "max_wait_ms": max_wait_ms,
        "top": top,
        "threads": threads,
    }
    os.environ[CONFIG_ENV] = json.dumps(config)  # each worker process loads its own model from this
    uvicorn.run(
        "kerasketch.serving.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,
    )
    return 0
