"""Where ``torch.compile`` keeps what it compiled, so that a second ``--jit-compile`` run does not compile again.

Torch's Inductor caches its compiled graphs (the FX graph cache) and the
AOTAutograd forward and backward pairs (the autograd cache) on disk, both on
by default, in ``$TORCHINDUCTOR_CACHE_DIR``. Left unset, that is
``/tmp/torchinductor_<user>``, which a reboot or a tmp cleaner empties, and
then the next run spends its first epoch compiling again (the Baseline on 2
busy CPU cores: a first epoch of 87 s cold, 30 s from a warm cache; Dynamo
still traces the step in every process). A run therefore points it at
``<data root>/torch-compile``, beside the dataset cache, unless the user set
the variable (``KERASKETCH_DATA`` moves it with the data root), and only for
as long as the run lasts: a process that runs several things (the tests, a
sweep's trials) gets its environment back.

Torch keys every entry by the graph, the torch version and the machine's
compiler and CPU features, so a shared or stale folder never returns a wrong
program; deleting the folder only costs the next run its compile.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .. import active_backend
from ..data.assembly import default_data_root

#: Torch's own variable: set by the user, it wins over our default.
ENV = "TORCHINDUCTOR_CACHE_DIR"


def applies(jit_compile: bool) -> bool:
    """Only torch's compiler reads the folder: JAX and TensorFlow keep their own."""
    return jit_compile and active_backend.name() == "torch"


def compile_cache_dir() -> Path:
    """``$TORCHINDUCTOR_CACHE_DIR`` if the user set it, else ``<data root>/torch-compile``; absolute, as torch makes it."""
    chosen = os.environ.get(ENV)
    if chosen and not _torchs_own_default(chosen):
        return Path(chosen).expanduser().absolute()
    return default_data_root().expanduser().absolute() / "torch-compile"


def _torchs_own_default(path: str) -> bool:
    # Importing Keras' torch backend makes torch write its default into the variable, so a
    # value seen after that is the user's only where it differs from that default.
    return os.path.abspath(path) == os.path.abspath(torch_default_cache_dir())


def torch_default_cache_dir() -> str:
    """Inductor's documented default, ``<tmp>/torchinductor_<user>`` (its own helper is private to torch)."""
    try:
        user = getpass.getuser()
    except (KeyError, ModuleNotFoundError, OSError):
        user = f"uid_{os.getuid()}" if hasattr(os, "getuid") else "unknown_user"
    return os.path.join(tempfile.gettempdir(), "torchinductor_" + re.sub(r'[\\/:*?"<>|]', "_", user))


@contextlib.contextmanager
def kept(jit_compile: bool) -> Iterator[Path | None]:
    """Within the block, torch.compile's caches live in :func:`compile_cache_dir` (nothing changes without jit)."""
    if not applies(jit_compile):
        yield None
        return
    folder = compile_cache_dir()
    before = os.environ.get(ENV)
    os.environ[ENV] = str(folder)
    try:
        yield folder
    finally:
        # Torch writes the variable back itself whenever it reads it, so restore it whatever happened.
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before
