"""The limits of every run option, checked in one place.

The config dataclasses (:class:`kerasketch.recipes.base.Recipe`,
:class:`kerasketch.data.assembly.DataConfig`, the run options) call these
checks in ``__post_init__``; the command line parses its text with
:func:`parse` and the dashboard's launch form with :func:`check_text`, so
both show the same message for the same mistake. Standard library only: the
dashboard imports this and must not pull in Keras or torch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import ConfigError


class OptionError(ConfigError):
    """An option outside its limits. ``brief`` is the same verdict without the
    option's name, for a form that shows it beside the field."""

    def __init__(self, flag: str, brief: str, got: str, hint: str | None = None):
        super().__init__(f"{flag} must be {brief.removesuffix(', please')}, got {got}", hint)
        self.brief = brief


@dataclass(frozen=True)
class Limit:
    flag: str  # as the command line spells it
    kind: type  # int or float
    minimum: int | float
    maximum: int | float
    include_minimum: bool = True
    hint: str | None = None

    def range_text(self, value: int | float) -> str:
        if self.kind is float:
            return (
                f"in ({self.minimum:g}, {self.maximum:g}]"
                if not self.include_minimum
                else (f"in [{self.minimum:g}, {self.maximum:g}]")
            )
        return f"at least {self.minimum:,}" if value < self.minimum else f"at most {self.maximum:,}"

    def not_a_number(self) -> str:
        return "a whole number, please" if self.kind is int else f"a number {self.range_text(0)}, please"


#: numpy's legacy seeding (``keras.utils.set_random_seed``) takes 0 <= seed < 2**32.
MAX_SEED = 2**32 - 1
#: The fewest classes a run trains on: with one, every guess is right and accuracy means nothing.
MIN_CLASSES = 2

LIMITS: dict[str, Limit] = {
    "epochs": Limit("--epochs", int, 1, 100_000, hint="the recipes train for up to 100 epochs"),
    "batch_size": Limit("--batch-size", int, 1, 65_536, hint="the original used 64"),
    "patience": Limit("--patience", int, 0, 100_000, hint="epochs without a better val_accuracy (recipes: 7)"),
    "image_size": Limit("--image-size", int, 8, 512, hint="the models' native sizes are 28 and 32"),
    "classes": Limit(
        "--classes",
        int,
        MIN_CLASSES,
        100_000,
        hint=f"give a number ({MIN_CLASSES} or more), 'all', or names separated by commas",
    ),
    "fraction": Limit(
        "--fraction", float, 0.0, 1.0, include_minimum=False, hint="the original kept 0.01 of each class"
    ),
    "max_per_class": Limit("--max-per-class", int, 1, 10**9),
    "seed": Limit("--seed", int, 0, MAX_SEED, hint="numpy's seeding takes 0 to 2**32 - 1"),
    "init_seed": Limit("--init-seed", int, 0, MAX_SEED, hint="numpy's seeding takes 0 to 2**32 - 1"),
    "build_workers": Limit("--build-workers", int, 1, 1024, hint="processes reading while a cache is built"),
    "nproc": Limit("--nproc", int, 1, 1024, hint="processes training one model on this machine, e.g. one per GPU"),
    "dist_timeout": Limit("--dist-timeout", float, 0.0, 86_400.0, include_minimum=False, hint="seconds; 60 by default"),
    "threads": Limit("--threads", int, 1, 1024, hint="torch threads per process"),
    # Recipe parameters that `--set` and `kerasketch sweep` reach (kerasketch.recipes.params).
    "learning_rate": Limit(
        "learning_rate", float, 0.0, 10.0, include_minimum=False, hint="the recipes use 0.01 (SGD) or 0.001"
    ),
    "weight_decay": Limit("weight_decay", float, 0.0, 1.0, hint="AdamW's recipe uses 0.01"),
    "l2": Limit("l2", float, 0.0, 1.0, hint="an L2 penalty on every weight and bias (ts_cnn: 2.5e-4)"),
    "top": Limit("--top", int, 1, 100_000, hint="the likeliest classes to show per drawing (default 3)"),
    "logit_adjust": Limit(
        "--logit-adjust", float, 0.0, 10.0, hint="tau of the logit-adjusted loss: 1 in Menon et al. 2021, 0 is off"
    ),
    "prior_shift": Limit(
        "--prior-shift",
        float,
        -10.0,
        10.0,
        hint="tau of the post-hoc logit adjustment: 1 aims at the balanced error (Menon et al. 2021), 0 is off",
    ),
    "focal_alpha": Limit(
        "--focal-alpha",
        float,
        0.0,
        1.0,
        include_minimum=False,
        hint="the focal loss's weight: 0.25 in the log and in Keras, or 'balanced' for one per class",
    ),
    "focal_gamma": Limit(
        "--focal-gamma", float, 0.0, 10.0, hint="the focal loss's focusing exponent: 2 in the log and in Keras"
    ),
    "ema_momentum": Limit(
        "--ema-momentum",
        float,
        0.0,
        1.0,
        include_minimum=False,
        hint="the average's momentum: 0.99 (Keras' default) remembers about the last 100 steps",
    ),
    "mixup": Limit("--mixup", float, 0.0, 10.0, hint="MixUp's Beta(alpha, alpha): 0.2 to 0.4 is common, 0 is off"),
    "cutmix": Limit("--cutmix", float, 0.0, 10.0, hint="CutMix's Beta(alpha, alpha): 1 is the paper's, 0 is off"),
    "mix_prob": Limit(
        "--mix-prob", float, 0.0, 1.0, include_minimum=False, hint="the share of training batches mixed (default 1)"
    ),
}

_INTEGER = re.compile(r"[+-]?[0-9]+")
_RUN_NAME = re.compile(r"[\w+-][\w.+-]*")
MAX_RUN_NAME = 100


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def check(name: str, value: int | float) -> int | float:
    """``value`` if it is within the option's limits, else an OptionError saying which."""
    limit = LIMITS[name]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (limit.kind is int and isinstance(value, float))
    ):
        raise OptionError(limit.flag, limit.not_a_number(), _shown(str(value)), limit.hint)
    if not math.isfinite(value):
        raise OptionError(limit.flag, limit.range_text(0), f"{value}", limit.hint)
    too_low = value < limit.minimum if limit.include_minimum else value <= limit.minimum
    if too_low or value > limit.maximum:
        raise OptionError(
            limit.flag, limit.range_text(value), f"{value:g}" if limit.kind is float else f"{value}", limit.hint
        )
    return value


def parse(name: str, text: str) -> int | float:
    """An option's text as its number, checked. Only ASCII digits count: ``int()``
    takes ``'١٢'`` and ``str.isdigit()`` accepts ``'²'``, which ``int()`` refuses."""
    limit = LIMITS[name]
    stripped = text.strip()
    if limit.kind is int:
        if not _INTEGER.fullmatch(stripped):
            raise OptionError(limit.flag, limit.not_a_number(), _shown(stripped), limit.hint)
        return check(name, int(stripped))
    try:
        if not stripped.isascii():
            raise ValueError(stripped)
        value = float(stripped)
    except ValueError:
        raise OptionError(limit.flag, limit.not_a_number(), _shown(stripped), limit.hint) from None
    return check(name, value)


_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(flag: str, text: str, minimum: int = 0) -> int:
    """A size in bytes from ``512M``, ``2G``, ``1.5GiB`` or a plain number of bytes (units are powers of 1024)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise OptionError(flag, "a size such as 512M or 2G, please", _shown(text.strip()))
    value = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if value < minimum:
        raise OptionError(flag, f"at least {minimum:,} bytes", _shown(text.strip()))
    return value


def parse_classes(text: str | None) -> tuple[str, ...] | int | None:
    """``--classes``: ``all`` (None), a number to draw with the seed, or comma-separated names."""
    if text is None or text.strip().lower() == "all":
        return None
    text = text.strip()
    if _INTEGER.fullmatch(text) or (text.isdigit() and "," not in text):
        return int(parse("classes", text))
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ConfigError(f"--classes {text!r} names no class", LIMITS["classes"].hint)
    return names


def check_classes(classes: tuple[str, ...] | int | None) -> None:
    if isinstance(classes, int):
        check("classes", classes)
    elif classes is not None and len(set(classes)) < MIN_CLASSES:
        raise ConfigError(
            f"--classes {','.join(classes)} names {len(set(classes))} class: a classifier needs at least {MIN_CLASSES}",
            LIMITS["classes"].hint,
        )


def check_trainable_classes(names: list[str], source: str) -> None:
    """A dataset a run can learn from: at least :data:`MIN_CLASSES` classes (one scores 1.0 whatever it learns)."""
    if len(names) < MIN_CLASSES:
        shown = ", ".join(repr(n) for n in names) or "none"
        raise ConfigError(
            f"{source} holds {len(names)} class{'' if len(names) == 1 else 'es'} ({shown}): "
            f"training needs at least {MIN_CLASSES}, "
            "since with one every guess is right",
            "point --data at a folder that holds a file per class (such as the folder this file is in)",
        )


def check_run_name(name: str | None) -> str | None:
    """A run folder's prefix: one plain folder name, so that it stays under the runs folder."""
    if name is None:
        return None
    if len(name) > MAX_RUN_NAME or not _RUN_NAME.fullmatch(name):
        raise ConfigError(
            f"--name {_shown(name)} is not a plain folder name",
            f"use letters, digits, '-', '_', '.' and '+' (at most {MAX_RUN_NAME}, not starting with '.'); "
            "--runs-dir says where the folder goes",
        )
    return name


#: Keras dtype policies a run may train under (``--precision``): float32, or bfloat16 arithmetic on
#: float32 weights. mixed_float16 is left out: it needs loss scaling, and CPUs gain nothing from it.
PRECISIONS = ("float32", "mixed_bfloat16")
#: ``--precision auto``: bfloat16 where the hardware runs it fast, float32 elsewhere (training/execution.py).
PRECISION_AUTO = "auto"
#: What ``--precision`` accepts: a policy, or auto.
PRECISION_CHOICES = (*PRECISIONS, PRECISION_AUTO)


#: The focal losses' alpha and gamma when not given: the log's and Keras' (``--focal-alpha``, ``--focal-gamma``).
FOCAL_ALPHA_DEFAULT = 0.25
FOCAL_GAMMA_DEFAULT = 2.0
#: ``--class-weight``: "balanced" weighs each class's drawings by total / (classes x the class's count).
CLASS_WEIGHTS = ("none", "balanced")
#: ``--sampler``: each drawing once an epoch, or class-balanced draws with replacement (training/inputs.py).
SAMPLERS = ("uniform", "balanced")


#: The losses a recipe may train with (``--loss``; kerasketch/losses.py): the cross-entropy, the log's sigmoid
#: focal loss, and Keras' softmax focal loss (``CategoricalFocalCrossentropy``).
LOSSES = ("cross_entropy", "focal", "softmax_focal")
#: The two focal losses, which take ``--focal-alpha`` and ``--focal-gamma``.
FOCAL_LOSSES = ("focal", "softmax_focal")
#: ``--focal-alpha balanced``: one alpha per class, scikit-learn's "balanced" class weights.
FOCAL_ALPHA_BALANCED = "balanced"


#: Keras' default ``ema_momentum`` (training/ema.py), ``--ema-momentum``'s.
EMA_MOMENTUM_DEFAULT = 0.99


def check_averaging_and_mixing(*, ema: bool, ema_momentum: float, mixup: float, cutmix: float, mix_prob: float) -> None:
    """``--ema``, ``--ema-momentum``, ``--mixup``, ``--cutmix`` and ``--mix-prob``: each in its limits, and the
    ones that refine another only with it."""
    for name, value in (("ema_momentum", ema_momentum), ("mixup", mixup), ("cutmix", cutmix), ("mix_prob", mix_prob)):
        check(name, value)
    if ema_momentum != EMA_MOMENTUM_DEFAULT and not ema:
        raise ConfigError("--ema-momentum applies with --ema", "add --ema, or leave out --ema-momentum")
    if mix_prob != 1.0 and not (mixup or cutmix):
        raise ConfigError("--mix-prob applies with --mixup or --cutmix", "add one of them, or leave out --mix-prob")


def check_sampler(value: str, shuffle: str = "exact") -> str:
    if value not in SAMPLERS:
        raise ConfigError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {_shown(str(value))}")
    if value == "balanced" and shuffle != "exact":
        raise ConfigError(
            f"--sampler balanced draws its own order; it does not combine with --shuffle {shuffle}",
            "leave out --shuffle (exact is the default)",
        )
    return value


def parse_focal_alpha(text: str) -> float | str:
    """``--focal-alpha``: ``balanced``, or one alpha for every class in (0, 1]."""
    if text.strip().lower() == FOCAL_ALPHA_BALANCED:
        return FOCAL_ALPHA_BALANCED
    try:
        return parse("focal_alpha", text)
    except OptionError as err:
        limit = LIMITS["focal_alpha"]
        if "a number" in err.brief:  # not a number: say that 'balanced' is the other choice
            raise OptionError(
                limit.flag, f"{FOCAL_ALPHA_BALANCED} or a number in (0, 1]", _shown(text.strip()), limit.hint
            ) from None
        raise


def check_focal_alpha(value: float | str) -> float | str:
    if value == FOCAL_ALPHA_BALANCED:
        return value
    if isinstance(value, str):
        return parse_focal_alpha(value)
    return check("focal_alpha", value)


def check_loss_options(
    loss: str,
    *,
    recipe: str,
    label_smoothing: float = 0.0,
    logit_adjust: float = 0.0,
    focal_alpha: float | str = FOCAL_ALPHA_DEFAULT,
    focal_gamma: float = FOCAL_GAMMA_DEFAULT,
) -> None:
    """The loss options that do not fit ``loss``, refused before any data is read (the command line and
    the dashboard's form share it)."""
    if loss not in LOSSES:
        raise ConfigError(f"--loss must be one of {', '.join(LOSSES)}, got {_shown(str(loss))}")
    if logit_adjust and loss != "cross_entropy":
        raise ConfigError(
            f"--logit-adjust applies to the cross-entropy; {recipe} trains with the {loss} loss",
            "logit adjustment shifts a softmax's logits: leave it out for this recipe, or add --loss cross_entropy",
        )
    if loss == "focal" and label_smoothing:
        raise ConfigError(
            f"{recipe} smooths its labels ({label_smoothing:g}), which the log's sigmoid focal loss does not take",
            "use --loss softmax_focal (Keras' focal loss smooths labels), or --set label_smoothing=0",
        )
    if loss not in FOCAL_LOSSES:
        for flag, value, default in (
            ("--focal-alpha", focal_alpha, FOCAL_ALPHA_DEFAULT),
            ("--focal-gamma", focal_gamma, FOCAL_GAMMA_DEFAULT),
        ):
            if value != default:
                raise ConfigError(
                    f"{flag} applies to the focal losses; {recipe} trains with the {loss} loss",
                    f"add --loss focal (the log's sigmoid form) or --loss softmax_focal (Keras'), or leave out {flag}",
                )


def check_class_weight(value: str) -> str:
    if value not in CLASS_WEIGHTS:
        raise ConfigError(f"--class-weight must be one of {', '.join(CLASS_WEIGHTS)}, got {_shown(str(value))}")
    return value


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, got {_shown(precision)}")
    return precision
