"""Reading back an offline W&B run: its ``.wandb`` file, a LevelDB-style log of W&B's Record messages.

W&B's Python package no longer ships a reader (its core is in Go), so the
tests read the file format themselves: a 7-byte header, then 32 KiB blocks
of records, each with a 7-byte header (checksum, length, type) and parts of
one message (types FULL=1, FIRST=2, MIDDLE=3, LAST=4).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32768
HEADER = 7


@dataclass
class OfflineRun:
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    artifacts: int = 0


def _messages(path: Path):
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    pos, parts = HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == 0:
            continue
        parts = chunk if kind in (1, 2) else parts + chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(parts)
            yield record


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def read_offline_run(path: Path) -> OfflineRun:
    out = OfflineRun()
    for record in _messages(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out.config.update({_key(i): json.loads(i.value_json) for i in record.run.config.update})
        elif kind == "config":
            out.config.update({_key(i): json.loads(i.value_json) for i in record.config.update})
        elif kind == "summary":
            out.summary.update({_key(i): json.loads(i.value_json) for i in record.summary.update})
        elif kind == "history":
            out.history.append({_key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "artifact":
            out.artifacts += 1
    return out


def offline_runs(wandb_dir: Path, run_id: str) -> list[Path]:
    """The ``.wandb`` files of the offline copies of a run."""
    return sorted(wandb_dir.glob(f"wandb/offline-run-*-{run_id}/run-{run_id}.wandb"))
