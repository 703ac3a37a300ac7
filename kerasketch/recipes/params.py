"""A recipe's tunable parameters, read from the :class:`Recipe` dataclass itself.

``kerasketch sweep --list-params``, ``--param``/``--space`` and the run
command's ``--set NAME=VALUE`` all name parameters through this module. The
list is derived, not written down: every scalar field of the dataclass (but
the ones that say *which* experiment it is), every scalar entry of its dict
fields (``optimizer_settings`` over the optimiser's own defaults,
``model_options`` ...), and ``weight_decay`` for every recipe. A field added
to :class:`Recipe` shows up here unchanged. Values are applied with
:meth:`Recipe.with_`, whose ``__post_init__`` and :mod:`kerasketch.validation`
check the limits. Standard library only: the dashboard may import this.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from types import UnionType
from typing import Any

from .. import validation
from ..errors import ConfigError
from ..optimizer_defaults import DECOUPLED_DECAY, ORIGINAL_KWARGS
from .base import Recipe

#: Fields that say which experiment a recipe is (and a file path), not a knob to tune.
_IDENTITY = frozenset({"name", "model", "weights", "original"})
_SCALARS = (bool, int, float, str)


@dataclass(frozen=True)
class Param:
    name: str
    default: Any  # the recipe's current value
    kind: type  # bool, int, float or str
    field: str  # the Recipe field that holds it (a dict field for its entries)
    key: str | None = None  # the entry of that dict field, if it is one

    @property
    def type_name(self) -> str:
        return self.kind.__name__

    @property
    def a_type(self) -> str:
        return f"{'an' if self.type_name[0] in 'aeiou' else 'a'} {self.type_name}"


def _scalar_kind(hint: Any) -> type | None:
    """int, float, str or bool for a field typed as one of them (or Optional of one), else None."""
    if hint in _SCALARS:
        return hint
    if typing.get_origin(hint) in (typing.Union, UnionType):
        kinds = [a for a in typing.get_args(hint) if a in _SCALARS]
        return kinds[0] if len(kinds) == 1 else None
    return None


def _value_kind(value: Any) -> type | None:
    return type(value) if type(value) in _SCALARS else None


def _is_dict(hint: Any) -> bool:
    return hint is dict or typing.get_origin(hint) is dict


def tunable(recipe: Recipe) -> dict[str, Param]:
    """Every parameter of ``recipe`` a run or a sweep may set, by name, in the dataclass's order."""
    hints = typing.get_type_hints(type(recipe))
    fields = {f.name for f in dataclasses.fields(recipe)}
    out: dict[str, Param] = {}
    decoupled = recipe.optimizer in DECOUPLED_DECAY
    for f in dataclasses.fields(recipe):
        if f.name in _IDENTITY:
            continue
        value = getattr(recipe, f.name)
        hint = hints[f.name]
        if _is_dict(hint):
            entries = dict(value)
            if f.name == "optimizer_settings":
                # The recipe's settings override the optimiser's original ones; both are knobs.
                entries = {**ORIGINAL_KWARGS.get(recipe.optimizer, {}), **entries}
            for key, entry in entries.items():
                kind = _value_kind(entry)
                if kind is None:
                    continue
                if kind is int and f.name == "optimizer_settings":
                    kind = float
                name = key if key not in fields and key not in out else f"{f.name}.{key}"
                out[name] = Param(name, entry, kind, f.name, key)
            continue
        kind = _scalar_kind(hint)
        if kind is None:
            continue
        if f.name == "l2" and not decoupled:
            continue  # expressed as weight_decay below: one name for one knob
        out[f.name] = Param(f.name, value, kind, f.name)
    if not decoupled:
        # PyTorch's weight_decay on SGD, Adam and RMSprop is coupled: an L2 penalty of
        # weight_decay / 2 on every weight and bias (see kerasketch.optimizers).
        out["weight_decay"] = Param("weight_decay", recipe.l2 * 2, float, "l2")
    return out


def lookup(recipe: Recipe, name: str) -> Param:
    params = tunable(recipe)
    if name not in params:
        raise ConfigError(
            f"{recipe.name} has no parameter {name!r}",
            f"its parameters are: {', '.join(params)} (`kerasketch sweep {recipe.name} --list-params`)",
        )
    return params[name]


def parse_value(param: Param, text: str) -> Any:
    """``text`` as the parameter's type; limits are checked when the value is applied."""
    text = text.strip()
    if param.name in validation.LIMITS:
        return validation.parse(param.name, text)
    if param.kind is bool:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
    elif param.kind is int:
        try:
            return int(text)
        except ValueError:
            pass
    elif param.kind is float:
        try:
            return float(text)
        except ValueError:
            pass
    else:
        if text:
            return text
    raise ConfigError(f"{param.name} takes {param.a_type} value, got {text!r}")


def parse_assignments(recipe: Recipe, items: list[str]) -> dict[str, Any]:
    """``["learning_rate=0.003", ...]`` (the run command's ``--set``) as values by name."""
    values: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set {item!r} is not NAME=VALUE", "for example --set learning_rate=0.003")
        values[name.strip()] = parse_value(lookup(recipe, name.strip()), text)
    return values


def check_value(param: Param, value: Any) -> Any:
    """``value`` as the parameter's type (an int for a float is fine), within its limits."""
    if param.kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if param.kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not param.kind:
        raise ConfigError(f"{param.name} takes {param.a_type} value, got {value!r}")
    if param.name in validation.LIMITS:
        validation.check(param.name, typing.cast(float, value))
    return value


def apply(recipe: Recipe, values: dict[str, Any]) -> Recipe:
    """``recipe`` with these parameters set (names as :func:`tunable` gives them)."""
    if not values:
        return recipe
    params = {name: lookup(recipe, name) for name in values}
    changes: dict[str, Any] = {}
    optimizer = values.get("optimizer", recipe.optimizer)
    if optimizer != recipe.optimizer:
        if optimizer not in ORIGINAL_KWARGS:
            raise ConfigError(f"unknown optimizer {optimizer!r}", f"choose one of: {', '.join(ORIGINAL_KWARGS)}")
        # Settings of the old optimiser that the new one does not take are dropped.
        changes["optimizer_settings"] = {
            k: v for k, v in recipe.optimizer_settings.items() if k in ORIGINAL_KWARGS[optimizer]
        }
    for name, value in values.items():
        param = params[name]
        value = check_value(param, value)
        if name == "weight_decay":
            continue
        if param.key is None:
            changes[param.field] = value
        else:
            changes[param.field] = {**changes.get(param.field, getattr(recipe, param.field)), param.key: value}
    if "weight_decay" in values:
        decay = check_value(params["weight_decay"], values["weight_decay"])
        if optimizer in DECOUPLED_DECAY:
            settings = changes.get("optimizer_settings", recipe.optimizer_settings)
            changes["optimizer_settings"] = {**settings, "weight_decay": decay}
        else:
            changes["l2"] = decay / 2
    return recipe.with_(**changes)
