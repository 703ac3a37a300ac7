"""A sweep's search space: ``NAME=DIST`` options or a TOML file, checked before Ray starts.

The distributions are ``loguniform:LOW:HIGH``, ``uniform:LOW:HIGH``,
``int:LOW:HIGH`` (both ends included) and ``choice:A,B,C``; names are the
recipe's parameters (:func:`kerasketch.recipes.params.tunable`). Standard
library only: Ray's own domains are built from these in :mod:`.tune`.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..recipes import params
from ..recipes.base import Recipe

FORMS = "loguniform:LOW:HIGH, uniform:LOW:HIGH, int:LOW:HIGH or choice:A,B,C"


@dataclass(frozen=True)
class Dist:
    kind: str  # loguniform, uniform, int, choice
    low: float | int | None = None
    high: float | int | None = None
    choices: tuple[Any, ...] = ()

    @property
    def text(self) -> str:
        if self.kind == "choice":
            return "choice:" + ",".join(str(c) for c in self.choices)
        return f"{self.kind}:{self.low:g}:{self.high:g}"


def _bad(name: str, text: str, why: str) -> ConfigError:
    return ConfigError(f"parameter {name}: bad distribution {text!r} ({why})", f"use {FORMS}")


def _number(name: str, text: str, part: str, kind: type) -> float | int:
    try:
        value = int(part) if kind is int else float(part)
    except ValueError:
        raise _bad(name, text, f"{part!r} is not {'a whole number' if kind is int else 'a number'}") from None
    if not math.isfinite(value):
        raise _bad(name, text, f"{part!r} is not a finite number")
    return value


def parse_dist(param: params.Param, text: str) -> Dist:
    """``text`` as a distribution over ``param``'s values, or one ConfigError naming both."""
    name = param.name
    kind, sep, rest = text.strip().partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in ("loguniform", "uniform", "int", "choice"):
        raise _bad(name, text, "unknown form")
    if kind == "choice":
        parts = [p.strip() for p in rest.split(",") if p.strip()]
        if not parts:
            raise _bad(name, text, "no choices")
        try:
            values = tuple(params.parse_value(param, p) for p in parts)
        except ConfigError as err:
            raise _bad(name, text, err.message) from None
        return Dist("choice", choices=tuple(dict.fromkeys(values)))
    bounds = rest.split(":")
    if len(bounds) != 2:
        raise _bad(name, text, "give LOW:HIGH")
    if kind == "int" and param.kind is not int:
        raise _bad(name, text, f"{name} is {param.a_type}: use uniform, loguniform or choice")
    if kind != "int" and param.kind is not float:
        raise _bad(name, text, f"{name} is {param.a_type}: use " + ("int or choice" if param.kind is int else "choice"))
    number = int if kind == "int" else float
    low, high = (_number(name, text, b.strip(), number) for b in bounds)
    if not low < high:
        raise _bad(name, text, "LOW must be below HIGH")
    if kind == "loguniform" and low <= 0:
        raise _bad(name, text, "loguniform needs LOW > 0")
    # Both ends must be values the parameter may take (validation.py's limits).
    for end in (low, high):
        try:
            params.check_value(param, end)
        except ConfigError as err:
            raise _bad(name, text, err.message) from None
    return Dist(kind, low, high)


def parse_space(recipe: Recipe, items: list[str], file: Path | None) -> dict[str, Dist]:
    """The space from ``--space FILE.toml`` (``NAME = "DIST"`` lines, optionally under ``[space]``)
    and ``--param NAME=DIST`` options (these win); at least one parameter."""
    texts: dict[str, str] = {}
    if file is not None:
        try:
            doc = tomllib.loads(Path(file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"--space {file}: no such file") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(
                f"--space {file}: not a readable TOML file ({err})",
                'write lines like learning_rate = "loguniform:1e-4:1e-2"',
            ) from None
        table = doc.get("space", doc)
        if not isinstance(table, dict):
            raise ConfigError(f"--space {file}: [space] is not a table")
        for name, value in table.items():
            if not isinstance(value, str):
                raise ConfigError(
                    f'--space {file}: parameter {name} should be a string like "{FORMS.split(",")[0]}", not {value!r}'
                )
            texts[name] = value
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(
                f"--param {item!r} is not NAME=DIST",
                f"for example --param learning_rate=loguniform:1e-4:1e-2 ({FORMS})",
            )
        texts[name.strip()] = text
    if not texts:
        raise ConfigError(
            "a sweep needs a search space",
            f"give --param NAME=DIST ({FORMS}) or --space FILE.toml; `--list-params` lists the names",
        )
    return {name: parse_dist(params.lookup(recipe, name), text) for name, text in texts.items()}
