"""Every run option, defined once: its name, type, default, limits, help text and form label.

A run option is a field of :class:`TrainOptions` (what the run itself takes: a sweep hands the
command's values to every trial, and ``config.json`` records them) or of :class:`RunSettings` (the
rest of the run command: the data, the recipe's overrides, the launch, the trackers). Everything
else is derived from these two frozen dataclasses:

- the argument parser of ``kerasketch run``, ``kerasketch sweep`` and the recipes (:func:`add_options`,
  :func:`settings_from_args`);
- the dashboard's launch form (:func:`form_fields`, :func:`form_switches`, :func:`parse_text`,
  :func:`argv`);
- the run's options (``training.run.RunOptions`` extends :class:`TrainOptions`), a sweep's fixed run
  options (:meth:`TrainOptions.for_trials`) and ``config.json``'s record (:meth:`TrainOptions.record`);
- the fingerprint's numeric options (:data:`NUMERIC_DEFAULTS`).

A field's name is the option's name everywhere: ``--build-memory`` is ``build_memory`` in the
parser, the form, the run and ``config.json``. Standard library only (and :mod:`kerasketch.validation`):
the dashboard imports this and must not pull in Keras, torch or h5py.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from . import validation

#: The training orders (training/inputs.py): a permutation of every drawing, or chunks of cached rows
#: for slow disks, with the chunks' sizes (the help states them).
SHUFFLES = ("exact", "chunks")
CHUNK_ROWS = 64
BUFFER_CHUNKS = 512
#: torch.distributed's backends (training/distributed.py) and how long a collective waits for a lost rank.
DIST_BACKENDS = ("auto", "gloo", "nccl")
DEFAULT_DIST_TIMEOUT = 60
#: The options ``data.cache.load_or_build`` takes, by the same names.
CACHE_OPTIONS = ("no_cache", "stream", "stream_threshold", "build_memory", "build_workers")
#: The experiment trackers by name (kerasketch.tracking).
TRACKERS = ("mlflow", "tensorboard", "wandb")
#: Bytes of images in flight while a cache builds, whatever the dataset's size (``--build-memory``).
DEFAULT_BUILD_MEMORY = 512 * 2**20
#: Above this many bytes of images a cache is read from disk as training goes, not loaded whole
#: (``--stream-threshold``): loaded, 2 GiB of uint8 images are within any machine's means and the
#: fastest path; beyond, memory stays bounded whatever the size.
DEFAULT_STREAM_THRESHOLD = 2 * 2**30
#: Training batches ``--precise-bn`` averages BatchNorm's statistics over (training/precise_bn.py), as fvcore's
#: ``update_bn_stats`` does by default; fewer where the training split has fewer batches.
PRECISE_BN_BATCHES = 200
#: How a cache's images are opened (data/cache.py): streamed above the threshold, always, or never.
STREAM_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class Option:
    """How one field is asked for: on the command line, in the dashboard's form, in config.json."""

    help: str
    group: str  # the parser's argument group (and the docs' section)
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    #: Text to value, raising :class:`validation.OptionError` (or ConfigError) with the option's limits.
    parse: Callable[[str], Any] | None = None
    #: The form's label and placeholder; None: the option is not in the form.
    label: str | None = None
    hint: str = ""
    #: The dashboard's form order (fields without one come last, in declaration order).
    form_rank: int = 1000
    repeat: bool = False  # given once per value (``--track a --track b``)
    exclusive: str | None = None  # options sharing this name exclude each other
    #: Changes a run's numbers: the fingerprint names it where it differs from its default.
    numeric: bool = False
    #: Recorded in config.json's ``options`` (TrainOptions' fields only).
    record: bool = True
    #: A sweep hands the command's value to every trial (TrainOptions' fields only); the others the
    #: sweep sets per trial (the trial's folder, its name, quiet).
    sweep: bool = True
    #: The flag, where it is not the name's (``--no-cache``).
    flag: str | None = None
    #: The run takes it (a field of :class:`TrainOptions` or a subclass); False: the command's alone.
    run: bool = True

    def flag_of(self, name: str) -> str:
        return self.flag or "--" + name.replace("_", "-")


def option(default: Any, **spec: Any) -> Any:
    """A dataclass field that is a run option (``spec``: :class:`Option`'s fields)."""
    return field(default=default, metadata={"option": Option(**spec)})


def command(default: Any, **spec: Any) -> Any:
    """A run option that the command acts on before the run starts (the data, the recipe, the launch)."""
    return option(default, run=False, **spec)


def _number(name: str) -> Callable[[str], Any]:
    return lambda text: validation.parse(name, text)


def _size(flag: str, minimum: int = 0) -> Callable[[str], int]:
    return lambda text: validation.parse_size(flag, text, minimum=minimum)


def _classes(text: str) -> str:
    validation.parse_classes(text)  # checked here, parsed into the DataConfig
    return text.strip()


DATA, TRAINING, PARALLEL, FOLDER, TRACK = (
    "data",
    "training (defaults: the recipe's)",
    "data-parallel training (docs/scaling-out.md)",
    "run folder",
    "experiment trackers (the [track] extra; docs/trackers.md)",
)


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """How a run trains and reads its data, beside the recipe: what ``training.run.run`` takes."""

    cache_dir: Path | None = option(
        None, group=DATA, parse=Path, help="where assembled datasets are cached as HDF5 (default data/cache)"
    )
    no_cache: bool = option(False, group=DATA, help="assemble the dataset from the sources without the cache")
    stream: str = option(
        STREAM_MODES[0],
        group=DATA,
        choices=STREAM_MODES,
        help="read the cached images from disk a batch at a time instead of loading them: "
        "'auto' (default) above --stream-threshold, 'always', or 'never'",
    )
    stream_threshold: int = option(
        DEFAULT_STREAM_THRESHOLD,
        group=DATA,
        metavar="SIZE",
        parse=_size("--stream-threshold"),
        help="with --stream auto, stream datasets whose images exceed this (default 2G)",
    )
    build_memory: int = option(
        DEFAULT_BUILD_MEMORY,
        group=DATA,
        metavar="SIZE",
        parse=_size("--build-memory", minimum=2**20),
        help="building a cache keeps at most about this much image data in memory, whatever the dataset's size "
        "(default 512M)",
    )
    build_workers: int | None = option(
        None,
        group=DATA,
        metavar="N",
        parse=_number("build_workers"),
        help="processes that read and render while a cache is built (default: every core)",
    )
    jit_compile: bool = option(
        False,
        group=TRAINING,
        label="Compile",
        hint="compile the training step with torch.compile (a minute, then faster)",
        form_rank=200,
        help="compile the training step with torch.compile: the first epoch compiles (minutes on 2 CPU cores), "
        "later ones run faster; worth it for long runs",
    )
    precision: str = option(
        validation.PRECISIONS[0],
        group=TRAINING,
        choices=validation.PRECISION_CHOICES,
        numeric=True,
        label="Precision",
        hint=f"{', '.join(validation.PRECISION_CHOICES)} (default {validation.PRECISIONS[0]})",
        form_rank=120,
        help="Keras' dtype policy: 'float32' (default) or 'mixed_bfloat16' (bfloat16 arithmetic on float32 "
        "weights: faster on GPUs and CPUs with bf16 instructions, slower on others), or 'auto' (bfloat16 "
        "where the GPU or CPU has bfloat16 arithmetic, float32 elsewhere; the choice is printed and recorded)",
    )
    shuffle: str = option(
        SHUFFLES[0],
        group=TRAINING,
        choices=SHUFFLES,
        numeric=True,
        label="Shuffle",
        hint=f"{' or '.join(SHUFFLES)} (default {SHUFFLES[0]}; chunks: for slow disks)",
        form_rank=130,
        help="training order: 'exact' (default) a permutation of every drawing, or 'chunks' for slow disks: "
        f"chunks of {CHUNK_ROWS:,} cached rows permuted, then rows within windows of {BUFFER_CHUNKS:,} chunks "
        "(a different order)",
    )
    class_weight: str = option(
        validation.CLASS_WEIGHTS[0],
        group=TRAINING,
        choices=validation.CLASS_WEIGHTS,
        numeric=True,
        label="Class weight",
        hint="none or balanced: weigh each class by total / (classes x its count)",
        form_rank=140,
        help="'balanced': weigh each class's drawings in the loss by total / (classes x its count) "
        "(scikit-learn's compute_class_weight on the training split, Keras' class_weight); recorded in config.json",
    )
    logit_adjust: float = option(
        0.0,
        group=TRAINING,
        metavar="TAU",
        parse=_number("logit_adjust"),
        numeric=True,
        label="Logit adjust",
        hint="tau of the logit-adjusted cross-entropy (1: Menon et al. 2021; empty: off)",
        form_rank=160,
        help="train with the logit-adjusted cross-entropy (Menon et al. 2021): cross-entropy of "
        "logits + TAU * log(class share of the training split); predictions use the plain logits. "
        "1 is the paper's choice, 0 (default) is off",
    )
    focal_alpha: float | str = option(
        validation.FOCAL_ALPHA_DEFAULT,
        group=TRAINING,
        metavar="ALPHA|balanced",
        parse=validation.parse_focal_alpha,
        numeric=True,
        label="Focal alpha",
        hint="focal losses: a number in (0, 1] (default 0.25) or balanced (one per class)",
        form_rank=180,
        help="the focal losses' weight: one number in (0, 1] (default 0.25, the log's and Keras'), or 'balanced': "
        "class c's drawings weigh n / (classes x n_c) (scikit-learn's compute_class_weight on the training split)",
    )
    focal_gamma: float = option(
        validation.FOCAL_GAMMA_DEFAULT,
        group=TRAINING,
        metavar="GAMMA",
        parse=_number("focal_gamma"),
        numeric=True,
        label="Focal gamma",
        hint="focal losses: the focusing exponent, 0-10 (default 2)",
        form_rank=190,
        help="the focal losses' focusing exponent, in [0, 10] (default 2, the log's and Keras'; 0: no focusing)",
    )
    sampler: str = option(
        validation.SAMPLERS[0],
        group=TRAINING,
        choices=validation.SAMPLERS,
        numeric=True,
        label="Sampler",
        hint="uniform or balanced: each epoch draws every class equally often (exact shuffle only)",
        form_rank=150,
        help="'balanced': each epoch draws as many drawings as the training split, with replacement, every class "
        "equally likely (seeded per epoch); 'uniform' (default): each drawing once. Not with --shuffle chunks",
    )
    ema: bool = option(
        False,
        group=TRAINING,
        numeric=True,
        label="EMA",
        hint="validate and keep the moving average of the weights (the optimiser's use_ema)",
        form_rank=205,
        help="keep an exponential moving average of the weights (the optimiser's use_ema, Keras' "
        "SwapEMAWeights): validation, early stopping, best.keras and the evaluation use the average",
    )
    ema_momentum: float = option(
        validation.EMA_MOMENTUM_DEFAULT,
        group=TRAINING,
        metavar="M",
        parse=_number("ema_momentum"),
        numeric=True,
        label="EMA momentum",
        hint="with EMA: average = M * average + (1 - M) * weights, in (0, 1] (default 0.99)",
        form_rank=196,
        help="--ema's momentum, in (0, 1]: average = M * average + (1 - M) * weights after every step "
        f"(default {validation.EMA_MOMENTUM_DEFAULT:g}, Keras')",
    )
    mixup: float = option(
        0.0,
        group=TRAINING,
        metavar="ALPHA",
        parse=_number("mixup"),
        numeric=True,
        label="MixUp",
        hint="alpha of MixUp's Beta(alpha, alpha), e.g. 0.2 (empty: off)",
        form_rank=197,
        help="MixUp (Zhang et al. 2018) of training batches: each image mixed with another's, lam * x_i + "
        "(1 - lam) * x_j, labels alike, lam ~ Beta(ALPHA, ALPHA) per batch (0.2 to 0.4 is common; 0, the default, is off)",
    )
    cutmix: float = option(
        0.0,
        group=TRAINING,
        metavar="ALPHA",
        parse=_number("cutmix"),
        numeric=True,
        label="CutMix",
        hint="alpha of CutMix's Beta(alpha, alpha), e.g. 1 (empty: off)",
        form_rank=198,
        help="CutMix (Yun et al. 2019) of training batches: a box of another image pasted in, labels in the "
        "pixels' shares, lam ~ Beta(ALPHA, ALPHA) per batch (1 is the paper's; 0, the default, is off); "
        "with --mixup each mixed batch is one or the other",
    )
    mix_prob: float = option(
        1.0,
        group=TRAINING,
        metavar="P",
        parse=_number("mix_prob"),
        numeric=True,
        label="Mix share",
        hint="with MixUp or CutMix: the share of batches mixed, in (0, 1] (default 1)",
        form_rank=199,
        help="the share of training batches --mixup or --cutmix mixes, in (0, 1] (default 1)",
    )
    init_seed: int | None = option(
        None,
        group=TRAINING,
        metavar="S",
        parse=_number("init_seed"),
        numeric=True,
        help="seed the initialisation, augmentation, training order and mixing with S while --seed still "
        "draws the data (classes, sampling, split): runs that differ only here share their test split, "
        "as an ensemble's members must (default: --seed)",
    )
    precise_bn: bool = option(
        False,
        group=TRAINING,
        numeric=True,
        label="Precise BN",
        hint="after training, recompute BatchNorm's statistics for the best model on clean training drawings",
        form_rank=206,
        help="after training, recompute every BatchNorm layer's statistics for the best model: the average over "
        f"{PRECISE_BN_BATCHES} forward passes on training drawings without augmentation, weights unchanged (for --ema's averaged "
        "weights above all, whose statistics belong to the raw ones); eval.json records the validation "
        "accuracy before and after",
    )
    sync_bn: bool = option(
        False,
        group=PARALLEL,
        help="BatchNorm normalises with the statistics of the whole global batch, reduced across the processes "
        "(torch's SyncBatchNorm); default: each process's own share, as PyTorch's DDP",
    )
    dist_backend: str = option(
        DIST_BACKENDS[0],
        group=PARALLEL,
        choices=DIST_BACKENDS,
        help="torch.distributed's backend: 'auto' (default) gloo on CPU, nccl on CUDA",
    )
    dist_timeout: float = option(
        DEFAULT_DIST_TIMEOUT,
        group=PARALLEL,
        metavar="SECONDS",
        parse=_number("dist_timeout"),
        help=f"how long the ranks wait for a dead or hung one before the run ends (default {DEFAULT_DIST_TIMEOUT})",
    )
    threads: int | None = option(
        None,
        group=PARALLEL,
        metavar="N",
        parse=_number("threads"),
        help="torch threads per process (default: this machine's cores shared out over its processes)",
    )
    runs_dir: Path = option(
        Path("runs"), group=FOLDER, parse=Path, sweep=False, help="where run folders are made (default runs/)"
    )
    name: str | None = option(
        None,
        group=FOLDER,
        parse=validation.check_run_name,
        sweep=False,
        help="the run folder's prefix (default: the recipe's name)",
    )
    events: str | None = option(
        None,
        group=FOLDER,
        metavar="FILE|-",
        sweep=False,
        record=False,
        help="also write the run's JSON-lines events to FILE, or to stdout with '-' (human output then goes to stderr)",
    )
    fresh: bool = option(
        False,
        group=FOLDER,
        sweep=False,
        record=False,
        label="Resume",
        hint="start fresh, never resume an unfinished run",
        form_rank=210,
        help="start a new run even if an unfinished one with the same settings could resume",
    )
    quiet: bool = option(False, group=DATA, sweep=False, record=False, help="print only the essentials")

    def __post_init__(self) -> None:
        # The same checks as the parser's, for options made in code (a sweep's trials, the tests).
        validation.check_run_name(self.name)
        validation.check_class_weight(self.class_weight)
        validation.check("logit_adjust", self.logit_adjust)
        validation.check_focal_alpha(self.focal_alpha)
        validation.check("focal_gamma", self.focal_gamma)
        validation.check_sampler(self.sampler, self.shuffle)
        validation.check_averaging_and_mixing(
            ema=self.ema, ema_momentum=self.ema_momentum, mixup=self.mixup, cutmix=self.cutmix, mix_prob=self.mix_prob
        )
        if self.precision != validation.PRECISION_AUTO:  # a run resolves auto first thing
            validation.check_precision(self.precision)

    def values(self, *, only: Callable[[Option], bool] = lambda o: True) -> dict[str, Any]:
        """The options the run takes, by name, as given."""
        return {f.name: getattr(self, f.name) for f, spec in option_fields(type(self)) if spec.run and only(spec)}

    def for_trials(self) -> dict[str, Any]:
        """The options a sweep hands every trial, with the command's values."""
        return self.values(only=lambda o: o.sweep)

    def record(self) -> dict[str, Any]:
        """config.json's ``options``: every recorded option, JSON-ready."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.values(only=lambda o: o.record).items()}

    def numeric_changes(self) -> dict[str, Any]:
        return numeric_changes(self.values())

    def cache_options(self) -> dict[str, Any]:
        """How the dataset's cache is opened or built: ``data.cache.load_or_build``'s keyword arguments."""
        return {name: getattr(self, name) for name in CACHE_OPTIONS}


@dataclass(frozen=True, kw_only=True)
class RunSettings(TrainOptions):
    """The run command's options beyond the run's own: the data, the recipe's overrides, the launch."""

    data: str | None = command(
        None,
        group=DATA,
        label="Data",
        hint="default: data/quickdraw if it has files, else synthetic",
        form_rank=10,
        help="a file or folder of Quick, Draw! .npy / .ndjson / .npz files, or 'synthetic' "
        "(default: data/quickdraw if it holds files, else the built-in synthetic set)",
    )
    classes: str | None = command(
        None,
        group=DATA,
        parse=_classes,
        label="Classes",
        hint="all, a number drawn with the seed, or names,comma,separated",
        form_rank=20,
        help="'all' (default), a number of classes drawn with the seed (the original used 200), "
        "or comma-separated class names",
    )
    fraction: float | None = command(
        None,
        group=DATA,
        metavar="F",
        parse=_number("fraction"),
        exclusive="amount",
        label="Fraction",
        hint="keep this share of each class, 0-1 (e.g. 0.01)",
        form_rank=30,
        help="keep this fraction of each class, drawn with the seed (the original kept 0.01)",
    )
    max_per_class: int | None = command(
        None,
        group=DATA,
        metavar="N",
        parse=_number("max_per_class"),
        exclusive="amount",
        label="Max per class",
        hint="keep at most this many per class (30: a quick try)",
        form_rank=40,
        help="keep at most this many drawings per class, drawn with the seed",
    )
    seed: int = command(
        0,
        group=DATA,
        metavar="S",
        parse=_number("seed"),
        label="Seed",
        hint="one seed for data, initialisation and shuffling",
        form_rank=90,
        help="one seed for class choice, sampling, split, initialisation and shuffling (default 0; --init-seed "
        "seeds the training apart)",
    )
    epochs: int | None = command(
        None,
        group=TRAINING,
        metavar="N",
        parse=_number("epochs"),
        label="Epochs",
        hint="at most this many epochs (recipe: 100)",
        form_rank=50,
        help="at most this many epochs (recipes: 100)",
    )
    patience: int | None = command(
        None,
        group=TRAINING,
        metavar="N",
        parse=_number("patience"),
        label="Patience",
        hint="epochs without a better val_acc before stopping",
        form_rank=60,
        help="early stopping: epochs without a better val_accuracy (recipes: 7)",
    )
    batch_size: int | None = command(
        None,
        group=TRAINING,
        metavar="N",
        parse=_number("batch_size"),
        label="Batch size",
        hint="images per step",
        form_rank=70,
        help="images per step (recipes: 64, as the original)",
    )
    image_size: int | None = command(
        None,
        group=TRAINING,
        metavar="N",
        parse=_number("image_size"),
        help="input side in pixels (recipe default: the model's native size)",
    )
    weights: str | None = command(
        None,
        group=TRAINING,
        label="Weights",
        hint="imagenet, none, or a state-dict file",
        form_rank=100,
        help="pretrained recipes: 'imagenet' (torchvision's cache), 'none' (random) or a state-dict file",
    )
    loss: str | None = command(
        None,
        group=TRAINING,
        choices=validation.LOSSES,
        label="Loss",
        hint=f"{', '.join(validation.LOSSES)} (default: the recipe's)",
        form_rank=170,
        help="train with this loss instead of the recipe's: 'cross_entropy', 'focal' (the log's sigmoid focal "
        "loss, summed) or 'softmax_focal' (Keras' CategoricalFocalCrossentropy, averaged); recorded as the recipe's",
    )
    ts_cnn_head: str | None = command(
        None,
        group=TRAINING,
        choices=("flatten", "global_pool"),
        help="ts_cnn only: the log's flattened 4 x classes logits (default, a defect kept for fidelity) or the "
        "corrected global pooling head",
    )
    set: tuple[str, ...] = command(
        (),
        group=TRAINING,
        metavar="NAME=VALUE",
        repeat=True,
        label="Set",
        hint="recipe parameters, comma-separated: learning_rate=0.003, weight_decay=0.01",
        form_rank=195,
        help="set one of the recipe's parameters, e.g. --set learning_rate=0.003 (repeatable; "
        "`kerasketch sweep RECIPE --list-params` lists them); saved in config.json",
    )
    nproc: int = command(
        1,
        group=PARALLEL,
        metavar="N",
        parse=_number("nproc"),
        label="Processes",
        hint="processes training one model, sharing each batch (1: one process; torch or jax backend)",
        form_rank=80,
        help="train one model with N processes on this machine (torch.distributed, or keras.distribution on jax; "
        "--batch-size stays the global batch). Under torchrun, leave it out: torchrun's ranks are used. With "
        "--address: N Ray Train workers; with kerasketch sweep: each trial N Ray Train workers",
    )
    address: str | None = command(
        None,
        group=PARALLEL,
        metavar="HOST:PORT|ray://HOST:PORT|auto",
        help="run the --nproc processes as a Ray Train job (TorchTrainer) on this Ray cluster (`ray start "
        "--head` made it; 'auto': the one this machine is part of); --runs-dir must be a folder every node shares",
    )
    scale_lr: str = command(
        "none",
        group=PARALLEL,
        choices=("none", "linear"),
        help="'linear': multiply the learning rate by --batch-size / the recipe's batch (Goyal et al. 2017), "
        "for a global batch grown with the processes; 'none' (default): the learning rate is never rescaled",
    )
    track: tuple[str, ...] = command(
        (),
        group=TRACK,
        choices=TRACKERS,
        repeat=True,
        label="Trackers",
        hint="also send the run to: mlflow, tensorboard, wandb (comma-separated)",
        form_rank=110,
        help="also send the run to this tracker as it trains (repeatable); its folder stays the source of truth",
    )
    track_dir: Path | None = command(
        None,
        group=TRACK,
        metavar="DIR",
        parse=Path,
        help="TensorBoard's event files (DIR/tensorboard/RUN) and W&B's local files (default: RUNS_DIR/tracking)",
    )
    track_uri: str | None = command(
        None,
        group=TRACK,
        metavar="URI",
        help="MLflow's tracking server or store (default: MLFLOW_TRACKING_URI, else MLflow's own default)",
    )


def option_fields(cls: type) -> Iterator[tuple[Any, Option]]:
    """(field, Option) of each run option of the dataclass ``cls``, in declaration order."""
    for f in fields(cls):
        spec = f.metadata.get("option")
        if spec is not None:
            yield f, spec


def is_switch(f: Any) -> bool:
    """Whether the field is a flag without a value (a bool; annotations are text under ``from __future__``)."""
    return f.type in (bool, "bool")


def default_of(f: Any) -> Any:
    return f.default if f.default is not MISSING else None


def averaging_and_mixing(record: Mapping[str, Any], recipe: Mapping[str, Any] | None = None) -> str:
    """``--ema``, ``--precise-bn`` and ``--mixup`` / ``--cutmix`` as config.json's ``options`` record them, in
    words ("" for none; the run's line and the dashboard's config tab). ``recipe`` is config.json's recipe,
    whose ``precise_bn`` turns the recomputed statistics on as the option does."""

    def number(key: str) -> float | None:
        value = record.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    parts = []
    if record.get("ema") is True:
        momentum = number("ema_momentum")
        parts.append("EMA of the weights" + (f", momentum {momentum:g}" if momentum is not None else ""))
    if record.get("precise_bn") is True or (recipe or {}).get("precise_bn") is True:
        parts.append("BatchNorm statistics recomputed after training")
    mixes = [f"{name} alpha {number(key):g}" for name, key in (("MixUp", "mixup"), ("CutMix", "cutmix")) if number(key)]
    if mixes:
        prob = number("mix_prob")
        parts.append(" or ".join(mixes) + (f" on {prob:g} of the batches" if prob not in (None, 1.0) else ""))
    return "; ".join(parts)


#: The options that change a run's numbers, at the values every run had before they existed. A run's
#: fingerprint, a sweep's identity and a sweep's rerun command name them only where they differ, so
#: that older runs and sweeps keep their fingerprints.
NUMERIC_DEFAULTS: dict[str, Any] = {f.name: f.default for f, o in option_fields(TrainOptions) if o.numeric}


def numeric_changes(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that change a run's numbers from :data:`NUMERIC_DEFAULTS`."""
    return {k: values[k] for k, default in NUMERIC_DEFAULTS.items() if values.get(k, default) != default}


# The command line.


def add_options(
    parser: argparse.ArgumentParser,
    settings: type = RunSettings,
    *,
    groups: tuple[str, ...] | None = None,
    leave_out: tuple[str, ...] = (),
) -> None:
    """Each option of ``settings`` (in ``groups``, not in ``leave_out``) as an argument of ``parser``.

    Values arrive parsed and checked (an :class:`validation.OptionError` names the option and its
    limits); a repeatable option collects a tuple.
    """
    made: dict[str, Any] = {}
    exclusive: dict[str, Any] = {}
    for f, spec in option_fields(settings):
        if f.name in leave_out or (groups is not None and spec.group not in groups):
            continue
        if spec.group not in made:
            made[spec.group] = parser.add_argument_group(spec.group)
        target = made[spec.group]
        if spec.exclusive:
            if spec.exclusive not in exclusive:
                exclusive[spec.exclusive] = target.add_mutually_exclusive_group()
            target = exclusive[spec.exclusive]
        flag = spec.flag_of(f.name)
        if is_switch(f):
            target.add_argument(flag, dest=f.name, action="store_true", help=spec.help)
            continue
        kwargs: dict[str, Any] = {"dest": f.name, "help": spec.help, "metavar": spec.metavar}
        if spec.choices is not None:
            kwargs["choices"] = spec.choices
        if spec.parse is not None:
            kwargs["type"] = spec.parse
        if spec.repeat:
            kwargs.update(action="append", default=None)
        else:
            kwargs["default"] = default_of(f)
        target.add_argument(flag, **kwargs)


def settings_from_args(args: argparse.Namespace, settings: type = RunSettings) -> Any:
    """The parsed command line as ``settings`` (options the parser did not ask for keep their defaults)."""
    given: dict[str, Any] = {}
    for f, spec in option_fields(settings):
        if not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        given[f.name] = tuple(value or ()) if spec.repeat else value
    return settings(**given)


# The dashboard's launch form.


def form_fields(settings: type = RunSettings) -> list[tuple[str, str, str]]:
    """(name, label, placeholder) of the form's text fields, in the form's order."""
    return [(f.name, o.label or f.name, o.hint) for f, o in _form(settings) if not is_switch(f)]


def form_switches(settings: type = RunSettings) -> list[tuple[str, str, str]]:
    """(name, label, what it does) of the form's switches: the options without a value."""
    return [(f.name, o.label or f.name, o.hint) for f, o in _form(settings) if is_switch(f)]


def _form(settings: type) -> list[tuple[Any, Option]]:
    chosen = [(f, o) for f, o in option_fields(settings) if o.label is not None]
    return sorted(chosen, key=lambda pair: pair[1].form_rank)


def spec_of(name: str, settings: type = RunSettings) -> tuple[Any, Option]:
    for f, spec in option_fields(settings):
        if f.name == name:
            return f, spec
    raise KeyError(name)


def parse_text(name: str, text: str, settings: type = RunSettings) -> Any:
    """A form field's text as the option's value, checked as the command line checks it (empty: None)."""
    f, spec = spec_of(name, settings)
    text = text.strip()
    if not text:
        return None
    if spec.repeat:
        items = tuple(item.strip() for item in text.replace(" ", ",").split(",") if item.strip())
        if spec.choices is not None:
            for item in items:
                _choose(f.name, spec, item)
        return items
    if spec.choices is not None:
        return _choose(f.name, spec, text)
    return spec.parse(text) if spec.parse is not None else text


def _choose(name: str, spec: Option, text: str) -> str:
    choices = spec.choices or ()
    if text not in choices:
        brief = " or ".join(choices) if len(choices) == 2 else f"one of {', '.join(choices)}"
        raise validation.OptionError(spec.flag_of(name), brief, repr(text))
    return text


def argv(values: Mapping[str, Any], settings: type = RunSettings) -> list[str]:
    """The command-line options for ``values`` (an option at its default or unset is left out)."""
    out: list[str] = []
    for f, spec in option_fields(settings):
        value = values.get(f.name)
        if value is None or value == "" or value == () or value is False or value == default_of(f):
            continue
        flag = spec.flag_of(f.name)
        if value is True:
            out.append(flag)
        elif spec.repeat:
            out += [part for item in value for part in (flag, str(item))]
        else:
            out += [flag, str(value)]
    return out
