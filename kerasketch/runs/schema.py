"""Checking JSON read from disk against the types that describe it.

Run folders and event streams are files anyone (a crash, an editor, a disk
error) can damage; the readers check every value against the declared type
of its field before anything uses it, so a string where a number belongs is
one clear error naming the file and the field, never a crash further on.

The types are ordinary annotations: dataclass fields (the events) and
TypedDicts (config.json, eval.json). Only what these use is supported:
``int``, ``float`` (an int is accepted; NaN and infinities are not, since our
writers never produce them), ``str``, ``bool``, ``None``, ``Any``, unions,
``list[X]``, ``dict[str, X]`` and TypedDicts, whose keys are all optional
unless the TypedDict says otherwise and whose unknown keys are kept unchecked
(readers must ignore what they do not know).
"""

from __future__ import annotations

import math
import types
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict


class SchemaError(ValueError):
    """A value that does not have its declared type; ``where`` is its path in the document."""

    def __init__(self, where: str, expected: str, value: Any = None, *, missing: bool = False):
        self.where = where
        self.reason = f"should be {expected}, not {'missing' if missing else _describe(value)}"
        super().__init__(f"{where or 'the document'} {self.reason}")


def check(value: Any, hint: Any, where: str = "") -> None:
    """Raise :class:`SchemaError` unless ``value`` conforms to ``hint``."""
    if hint is Any:
        return
    if hint is None or hint is type(None):
        if value is not None:
            raise SchemaError(where, "null", value)
        return
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return
        rest = [o for o in options if o is not type(None)]
        if len(rest) == 1:  # Optional[X]: X's own message says more
            check(value, rest[0], where)
            return
        for option in rest:
            try:
                check(value, option, where)
                return
            except SchemaError:
                continue
        raise SchemaError(where, " or ".join(_name(o) for o in options), value)
    if is_typeddict(hint):
        _check_typeddict(value, hint, where)
    elif origin is list:
        if not isinstance(value, list):
            raise SchemaError(where, "a list", value)
        (item,) = get_args(hint) or (Any,)
        for i, v in enumerate(value):
            check(v, item, f"{where}[{i}]")
    elif origin is dict:
        if not isinstance(value, dict):
            raise SchemaError(where, "an object", value)
        _, item = get_args(hint) or (str, Any)
        for k, v in value.items():
            check(v, item, _join(where, str(k)))
    elif hint is bool:
        if not isinstance(value, bool):
            raise SchemaError(where, "true or false", value)
    elif hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaError(where, "a whole number", value)
    elif hint is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise SchemaError(where, "a number", value)
        if not math.isfinite(value):
            raise SchemaError(where, "a finite number", value)
    elif hint is str:
        if not isinstance(value, str):
            raise SchemaError(where, "a string", value)
    else:  # pragma: no cover - a type this module was not written for
        raise TypeError(f"schema.check does not know {hint!r}")


def _check_typeddict(value: Any, hint: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise SchemaError(where, "an object", value)
    hints = get_type_hints(hint)
    for key in hint.__required_keys__:
        if key not in value:
            raise SchemaError(_join(where, key), "given", missing=True)
    for key, field_hint in hints.items():
        if key in value:
            check(value[key], field_hint, _join(where, key))


def hints_of(cls: type) -> dict[str, Any]:
    """A class's field types, resolved (the modules use postponed annotations)."""
    return get_type_hints(cls)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _name(hint: Any) -> str:
    if hint is None or hint is type(None):
        return "null"
    if is_typeddict(hint) or get_origin(hint) is dict:
        return "an object"
    if get_origin(hint) is list:
        return "a list"
    return {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    text = repr(value)
    shown = text if len(text) <= 30 else text[:27] + "..."
    return (
        f"{kind.get(type(value), type(value).__name__)} ({shown})"
        if not isinstance(value, (dict, list))
        else kind[type(value)]
    )
