"""What the launch form asks for, how it is checked, and the child's command line.

Pure functions, no widgets: the form shows what these return, and the tests
check them without a terminal. The options' limits are checked by
:mod:`kerasketch.validation`, the same check the child's command line makes,
so the child never has to reject what the form accepted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerasketch import options, validation
from kerasketch.errors import KerasketchError
from kerasketch.recipes import params
from kerasketch.recipes.base import Recipe
from kerasketch.tracking.kinds import EXTRA, TRACKERS, require

#: (field, label, placeholder) in the form's order, and (field, label, what it does) of its switches (the
#: run command's flags without a value): the run options that have a form label (kerasketch.options).
FIELDS = tuple(options.form_fields())
SWITCHES = tuple(options.form_switches())
_NAMES = frozenset(name for name, _, _ in (*FIELDS, *SWITCHES))


@dataclass(frozen=True, init=False)
class LaunchRequest:
    """A recipe and the form's values by option name (None or absent: the default)."""

    recipe: str
    values: Mapping[str, Any]

    def __init__(self, recipe: str, **values: Any) -> None:
        unknown = sorted(set(values) - _NAMES)
        if unknown:
            raise TypeError(f"the launch form has no option {', '.join(unknown)}")
        object.__setattr__(self, "recipe", recipe)
        object.__setattr__(self, "values", dict(values))

    def __getattr__(self, name: str) -> Any:
        if name in _NAMES:
            return self.values.get(name)
        raise AttributeError(name)

    def options(self) -> list[str]:
        """The recipe's command-line options for the values that are set (defaults left out)."""
        return options.argv(self.values)

    def argv(self, runs_dir: Path, python: str | None = None) -> list[str]:
        """The child's command: events on stdout, human text on stderr."""
        return [
            python or sys.executable,
            "-m",
            f"kerasketch.recipes.{self.recipe}",
            "--events",
            "-",
            "--runs-dir",
            str(runs_dir),
            *self.options(),
        ]


def child_env() -> dict[str, str]:
    """The dashboard's environment, with the user's Keras backend (torch when unset)."""
    return {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND") or "torch", "PYTHONUNBUFFERED": "1"}


#: The form's fields whose initial text is the recipe's own value.
_FROM_RECIPE = ("epochs", "patience", "batch_size", "weights")


def defaults(recipe: Recipe, data: str | None = None) -> dict[str, str]:
    """The form's initial text for a recipe (the dashboard's ``--data`` included): the recipe's own
    epochs, patience, batch and weights, whole-number defaults as they are (seed 0, one process), and
    empty text, which means the default the placeholder names, for the rest."""
    texts = {}
    for name, _, _ in FIELDS:
        f, _ = options.spec_of(name)
        default = options.default_of(f)
        texts[name] = "" if isinstance(default, bool) or not isinstance(default, int) else str(default)
    texts.update({name: str(getattr(recipe, name) or "") for name in _FROM_RECIPE})
    texts["data"] = data or ""
    return texts


def _exists(text: str, *, file: bool = False) -> bool:
    """Whether a typed path exists; text that cannot be a path (a NUL, a name too long,
    ``~nobody``) simply does not."""
    try:
        path = Path(text).expanduser()
        return path.is_file() if file else path.exists()
    except (OSError, ValueError, RuntimeError):
        return False


def check_field(name: str, text: str, recipe: Recipe, loss: str | None = None) -> tuple[Any, str | None]:
    """(value, error) for one field's text; empty text means the default (None). Never raises:
    whatever is typed, the form shows a message beside the field. The value's own limits are the
    command line's (:func:`kerasketch.options.parse_text`); the rest are the form's context: the
    recipe, the Loss field's choice ``loss`` where one is made, the files on this machine."""
    text = text.strip()
    if not text:
        return None, None
    trained = loss if loss in validation.LOSSES else recipe.loss
    if name == "logit_adjust" and trained != "cross_entropy":
        return None, f"{recipe.name} trains with the {trained} loss; leave empty"
    if name in ("focal_alpha", "focal_gamma") and trained not in validation.FOCAL_LOSSES:
        return None, f"the {trained} loss has none: leave empty, or choose a focal loss"
    if name == "weights" and recipe.weights is None:
        return None, f"{recipe.name} trains from scratch; leave empty"
    if name == "track":
        return parse_trackers(text)
    try:
        value = options.parse_text(name, text)
    except validation.OptionError as err:
        return None, err.brief
    except KerasketchError as err:
        return None, err.message
    problem = _in_context(name, value, recipe)
    return (None, problem) if problem else (value, None)


def _in_context(name: str, value: Any, recipe: Recipe) -> str | None:
    """Why a value within its limits still cannot launch ``recipe`` here, or None."""
    if name == "data" and value.lower() != "synthetic" and not _exists(value):
        return "no such file or folder ('synthetic' for the built-in set)"
    if name == "loss" and value == "focal" and recipe.label_smoothing:
        return f"{recipe.name} smooths its labels: softmax_focal takes that, focal does not"
    if name == "set":
        try:
            params.parse_assignments(recipe, list(value))
        except KerasketchError as err:
            return err.message
    if name == "nproc":
        backend = child_env()["KERAS_BACKEND"]
        if value > 1 and backend != "torch":
            return f"several processes train on the torch backend only, not {backend} (KERAS_BACKEND)"
    if name == "weights" and value not in ("imagenet", "none") and not _exists(value, file=True):
        return "imagenet, none, or an existing file"
    return None


def check_form(recipe: Recipe, texts: dict[str, str], **switches: bool) -> tuple[LaunchRequest | None, dict[str, str]]:
    """(the request, {}) when every field is valid, else (None, {field: error}); ``switches``: the
    form's checkboxes by option name."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    loss = texts.get("loss", "").strip() or None
    for name, _label, _hint in FIELDS:
        value, error = check_field(name, texts.get(name, ""), recipe, loss)
        if error:
            errors[name] = error
        values[name] = value
    if values.get("sampler") == "balanced" and values.get("shuffle") not in (None, "exact"):
        errors.setdefault("sampler", "balanced draws its own order: not with the chunks shuffle")
    if texts.get("fraction", "").strip() and texts.get("max_per_class", "").strip():
        for name in ("fraction", "max_per_class"):
            errors.setdefault(name, "fraction or max per class, not both")
    if "nproc" not in errors and "batch_size" not in errors:
        split = check_split(recipe, values.get("batch_size"), values.get("nproc"))
        if split:
            errors["nproc"] = split
    if errors:
        return None, errors
    return LaunchRequest(recipe.name, **switches, **values), {}


def check_split(recipe: Recipe, batch_size: int | None, nproc: int | None) -> str | None:
    """Why the batch (the form's, else the recipe's) cannot be shared out over ``nproc`` processes, or None:
    ``--batch-size`` is the global batch, and the run refuses one that does not split evenly."""
    batch = batch_size or recipe.batch_size
    if not nproc or nproc < 2 or batch % nproc == 0:
        return None
    return f"batch {batch} does not split over {nproc} processes: a multiple of {nproc}, please"


def parse_trackers(text: str) -> tuple[tuple[str, ...] | None, str | None]:
    """(the trackers, error) from "mlflow, tensorboard": each once, in the order typed."""
    names = [n.strip().lower() for n in text.replace(" ", ",").split(",") if n.strip()]
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        return None, f"unknown tracker {unknown[0]!r}: {', '.join(TRACKERS)}"
    for name in names:
        try:
            require(name)
        except KerasketchError:
            return None, f"{name} is not installed: {EXTRA}"
    return tuple(dict.fromkeys(names)), None
