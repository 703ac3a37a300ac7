"""The JSON files of run and sweep folders: written atomically, read checked against their types."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import RunError
from . import schema

#: What a reader says of a damaged file: the rest of its folder stays readable.
DAMAGED_HINT = "is this a run folder? A damaged file can be moved away; the rest of the folder stays readable"


def write_json_atomically(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk must not keep a half-written copy


def read_json(path: Path, hint: Any) -> Any:
    """A JSON file checked against its type; None if it does not exist, RunError if it is malformed."""
    folder, name = path.parent, path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise RunError(f"{folder}: unreadable {name} (not UTF-8 text)", DAMAGED_HINT) from None
    except OSError as err:
        raise RunError(f"{folder}: unreadable {name} ({err.strerror or err})", DAMAGED_HINT) from None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise RunError(f"{folder}: unreadable {name} ({err})", DAMAGED_HINT) from None
    if not isinstance(obj, dict):
        raise RunError(f"{folder}: {name} is not a JSON object", DAMAGED_HINT)
    try:
        schema.check(obj, hint)
    except schema.SchemaError as err:
        field = f"field '{err.where}'" if err.where else "the document"
        raise RunError(f"{path}: {field} {err.reason}", DAMAGED_HINT) from None
    return obj
