"""What the launch form asks for, how it is checked, and the child's command line.

Pure functions, no widgets: the form shows what these return, and the tests
check them without a terminal. The options' limits are checked by
:mod:`kerasketch.validation`, the same check the child's command line makes,
so the child never has to reject what the form accepted.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kerasketch import validation
from kerasketch.errors import KerasketchError
from kerasketch.recipes import params
from kerasketch.recipes.base import Recipe
from kerasketch.tracking.kinds import EXTRA, TRACKERS, require
from kerasketch.training.shuffle_order import SHUFFLES

#: (field, label, placeholder) in the form's order.
FIELDS = (
    ("data", "Data", "default: data/quickdraw if it has files, else synthetic"),
    ("classes", "Classes", "all, a number drawn with the seed, or names,comma,separated"),
    ("fraction", "Fraction", "keep this share of each class, 0-1 (e.g. 0.01)"),
    ("max_per_class", "Max per class", "keep at most this many per class (30: a quick try)"),
    ("epochs", "Epochs", "at most this many epochs (recipe: 100)"),
    ("patience", "Patience", "epochs without a better val_acc before stopping"),
    ("batch_size", "Batch size", "images per step"),
    ("nproc", "Processes", "processes training one model, sharing each batch (1: one process; torch backend)"),
    ("seed", "Seed", "one seed for data, initialisation and shuffling"),
    ("weights", "Weights", "imagenet, none, or a state-dict file"),
    ("track", "Trackers", "also send the run to: mlflow, tensorboard, wandb (comma-separated)"),
    ("precision", "Precision", f"{', '.join(validation.PRECISION_CHOICES)} (default {validation.PRECISIONS[0]})"),
    ("shuffle", "Shuffle", f"{' or '.join(SHUFFLES)} (default {SHUFFLES[0]}; chunks: for slow disks)"),
    ("class_weight", "Class weight", "none or balanced: weigh each class by total / (classes x its count)"),
    ("sampler", "Sampler", "uniform or balanced: each epoch draws every class equally often (exact shuffle only)"),
    ("logit_adjust", "Logit adjust", "tau of the logit-adjusted cross-entropy (1: Menon et al. 2021; empty: off)"),
    ("loss", "Loss", f"{', '.join(validation.LOSSES)} (default: the recipe's)"),
    ("focal_alpha", "Focal alpha", "focal losses: a number in (0, 1] (default 0.25) or balanced (one per class)"),
    ("focal_gamma", "Focal gamma", "focal losses: the focusing exponent, 0-10 (default 2)"),
    ("set", "Set", "recipe parameters, comma-separated: learning_rate=0.003, weight_decay=0.01"),
)
#: (field, label, what it does) of the form's switches: the run command's flags without a value.
SWITCHES = (
    ("jit_compile", "Compile", "compile the training step with torch.compile (a minute, then faster)"),
    ("fresh", "Resume", "start fresh, never resume an unfinished run"),
)


@dataclass(frozen=True)
class LaunchRequest:
    recipe: str
    data: str | None = None
    classes: str | None = None
    fraction: float | None = None
    max_per_class: int | None = None
    epochs: int | None = None
    patience: int | None = None
    batch_size: int | None = None
    nproc: int | None = None  # --nproc: ranks on this machine; 1 (one process) is left off the command
    seed: int | None = None
    weights: str | None = None
    track: tuple[str, ...] = ()  # experiment trackers (kerasketch.tracking.kinds.TRACKERS)
    precision: str | None = None
    shuffle: str | None = None
    class_weight: str | None = None
    logit_adjust: float | None = None
    sampler: str | None = None
    loss: str | None = None
    focal_alpha: float | str | None = None
    focal_gamma: float | None = None
    set: tuple[str, ...] = ()  # NAME=VALUE assignments of the recipe's parameters (--set)
    jit_compile: bool = False
    fresh: bool = False

    def options(self) -> list[str]:
        """The recipe's command-line options for the values that are set."""
        out: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "recipe" or value is None or value == "" or value == () or value is False:
                continue
            if f.name == "nproc" and value == 1:
                continue
            flag = f"--{f.name.replace('_', '-')}"
            if value is True:
                out.append(flag)
            elif isinstance(value, tuple):  # a repeatable option: once per value
                out += [part for item in value for part in (flag, item)]
            else:
                out += [flag, str(value)]
        return out

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


def defaults(recipe: Recipe, data: str | None = None) -> dict[str, str]:
    """The form's initial text for a recipe (the dashboard's ``--data`` included)."""
    return {
        "data": data or "",
        "classes": "",
        "fraction": "",
        "max_per_class": "",
        "epochs": str(recipe.epochs),
        "patience": str(recipe.patience),
        "batch_size": str(recipe.batch_size),
        "nproc": "1",
        "seed": "0",
        "weights": recipe.weights or "",
        "track": "",
        "precision": "",
        "shuffle": "",
        "class_weight": "",
        "logit_adjust": "",
        "sampler": "",
        "loss": "",
        "focal_alpha": "",
        "focal_gamma": "",
        "set": "",
    }


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
    whatever is typed, the form shows a message beside the field. ``loss`` is the Loss field's
    choice, where one is made (the options that depend on the loss are checked against it)."""
    text = text.strip()
    if not text:
        return None, None
    trained = loss if loss in validation.LOSSES else recipe.loss
    if name == "data":
        if text.lower() != "synthetic" and not _exists(text):
            return None, "no such file or folder ('synthetic' for the built-in set)"
        return text, None
    if name == "track":
        return parse_trackers(text)
    if name == "precision":
        if text not in validation.PRECISION_CHOICES:
            return None, f"one of {', '.join(validation.PRECISION_CHOICES)}"
        return text, None
    if name == "shuffle":
        if text not in SHUFFLES:
            return None, f"{' or '.join(SHUFFLES)}"
        return text, None
    if name == "class_weight":
        if text not in validation.CLASS_WEIGHTS:
            return None, f"{' or '.join(validation.CLASS_WEIGHTS)}"
        return text, None
    if name == "sampler":
        if text not in validation.SAMPLERS:
            return None, f"{' or '.join(validation.SAMPLERS)}"
        return text, None
    if name == "loss":
        if text not in validation.LOSSES:
            return None, f"one of {', '.join(validation.LOSSES)}"
        if text == "focal" and recipe.label_smoothing:
            return None, f"{recipe.name} smooths its labels: softmax_focal takes that, focal does not"
        return text, None
    if name == "logit_adjust" and trained != "cross_entropy":
        return None, f"{recipe.name} trains with the {trained} loss; leave empty"
    if name in ("focal_alpha", "focal_gamma") and trained not in validation.FOCAL_LOSSES:
        return None, f"the {trained} loss has none: leave empty, or choose a focal loss"
    if name == "focal_alpha":
        try:
            return validation.parse_focal_alpha(text), None
        except validation.OptionError as err:
            return None, err.brief
    if name == "set":
        items = tuple(item.strip() for item in text.split(",") if item.strip())
        try:
            params.parse_assignments(recipe, list(items))
        except KerasketchError as err:
            return None, err.message
        return items, None
    if name == "nproc":
        try:
            nproc = validation.parse(name, text)
        except validation.OptionError as err:
            return None, err.brief
        backend = child_env()["KERAS_BACKEND"]
        if nproc > 1 and backend != "torch":
            return None, f"several processes train on the torch backend only, not {backend} (KERAS_BACKEND)"
        return nproc, None
    if name == "weights":
        if recipe.weights is None:
            return None, f"{recipe.name} trains from scratch; leave empty"
        if text not in ("imagenet", "none") and not _exists(text, file=True):
            return None, "imagenet, none, or an existing file"
        return text, None
    try:
        if name == "classes":
            validation.parse_classes(text)
            return text, None
        return validation.parse(name, text), None
    except validation.OptionError as err:
        return None, err.brief
    except KerasketchError as err:
        return None, err.message


def check_form(
    recipe: Recipe, texts: dict[str, str], fresh: bool = False, jit_compile: bool = False
) -> tuple[LaunchRequest | None, dict[str, str]]:
    """(the request, {}) when every field is valid, else (None, {field: error})."""
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
    values["track"] = values["track"] or ()
    values["set"] = values["set"] or ()
    return LaunchRequest(recipe=recipe.name, fresh=fresh, jit_compile=jit_compile, **values), {}


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
