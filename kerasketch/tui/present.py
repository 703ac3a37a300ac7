"""What the screens show of a run, as text and chart series: one place, shared by every screen.

Everything here takes a run's state (and what :mod:`kerasketch.runs.folders`
read from its folder) and returns Rich renderables or chart series; nothing
here reads a file or knows a screen.
"""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text

from kerasketch.options import averaging_and_mixing
from kerasketch.runs import folders
from kerasketch.runs.documents import Evaluation, RunConfig, distributed_record
from kerasketch.runs.events import Epoch, Status
from kerasketch.wording import plural

from . import fmt
from .runstate import RunState
from .widgets.line_chart import Series

TRAIN, VAL = "#4ea8de", "#f4a261"  # blue and orange: told apart with most colour vision
#: Statuses whose run shows the error panel.
FAILED = frozenset({Status.FAILED, Status.KILLED, Status.INTERRUPTED, Status.UNREADABLE})


def accuracy_series(state: RunState) -> list[Series]:
    return [Series("train", TRAIN, state.series("accuracy")), Series("val", VAL, state.series("val_accuracy"))]


def loss_series(state: RunState) -> list[Series]:
    return [Series("train", TRAIN, state.series("loss")), Series("val", VAL, state.series("val_loss"))]


def last_value(state: RunState, metric: str) -> float | None:
    """The metric at the run's last epoch (beside its best in the tables)."""
    values = state.series(metric)
    return values[-1] if values else None


def lowest_value(state: RunState, metric: str) -> float | None:
    """The metric's lowest value over the epochs (a loss's best)."""
    return min((v for v in state.series(metric) if v is not None), default=None)


def empty_chart(state: RunState) -> str:
    return "waiting for the first epoch…" if state.active else "no epoch was recorded"


def log_lines(state: RunState, lines: int = 200) -> list[str]:
    """The run's log: its folder's run.log, else what its child printed on stderr."""
    if state.run_dir is not None:
        found = folders.read_log(state.run_dir, lines)
        if found:
            return found
    return list(state.output_tail[-lines:])


def imbalance_words(rho: Any) -> str:
    """The log's open question, answered in words from the rank correlation."""
    if not isinstance(rho, (int, float)):
        return "class sizes are equal (or accuracies are): imbalance cannot be judged from this run"
    strength = (
        "no clear" if abs(rho) < 0.2 else "a weak" if abs(rho) < 0.4 else "a moderate" if abs(rho) < 0.6 else "a strong"
    )
    direction = "larger classes are recognised better" if rho > 0 else "smaller classes are recognised better"
    return f"Spearman {rho:+.2f}: {strength} link between class size and accuracy" + (
        "" if strength == "no clear" else f" ({direction})"
    )


def imbalance_short(rho: Any, imbalance: dict[str, Any] | None = None) -> str:
    if not isinstance(rho, (int, float)):
        return "size vs accuracy: n/a (equal sizes or accuracies)"
    strength = "none" if abs(rho) < 0.2 else "weak" if abs(rho) < 0.4 else "moderate" if abs(rho) < 0.6 else "strong"
    return f"size vs accuracy: Spearman {rho:+.2f} ({strength}){interval(imbalance or {})}"


def interval(imbalance: dict[str, Any]) -> str:
    """`` 95% CI [lo, hi]`` of the bootstrap around Spearman's rho, or nothing for an eval.json without one."""
    low, high = imbalance.get("spearman_ci95_low"), imbalance.get("spearman_ci95_high")
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)):
        return ""
    return f", 95% CI [{low:+.2f}, {high:+.2f}]"


def evaluation_text(state: RunState, evaluation: Evaluation | str | None) -> Table | Text:
    """The evaluation tab; ``evaluation`` is eval.json, why it cannot be read, or None."""
    if isinstance(evaluation, str):
        return Text(f"eval.json cannot be shown: {evaluation}", style="red")
    if evaluation is None:
        why = "the run has not been evaluated yet" if state.active else "this run has no eval.json (it did not finish)"
        return Text(f"No evaluation: {why}.", style="dim")
    test = evaluation.get("test") or {}
    criterion = evaluation.get("criterion") or {}
    imbalance: dict[str, Any] = dict(evaluation.get("imbalance") or {})
    original = state.config.get("recipe", {}).get("original") or {}
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    t.add_row(
        "best val_acc", f"{fmt.num(criterion.get('best_val_accuracy'))} at epoch {criterion.get('best_epoch', '-')}"
    )
    precise = evaluation.get("precise_bn")
    drawings = precise.get("drawings") if isinstance(precise, dict) else None
    if isinstance(precise, dict) and isinstance(drawings, int) and drawings > 0:
        t.add_row(
            "precise BN",
            f"val_acc {fmt.num(precise.get('val_accuracy_before'))} → {fmt.num(precise.get('val_accuracy_after'))} "
            f"with BatchNorm statistics recomputed on {drawings:,} training drawings",
        )
    if original:
        t.add_row(
            "original val_acc",
            f"{fmt.num(original.get('val_acc'))} at epoch {original.get('best_epoch', '-')} ({original.get('title', '')}: {original.get('loss', '')}, {original.get('optimizer', '')})",
        )
    t.add_row("test accuracy", fmt.num(test.get("accuracy")))
    t.add_row("test top-3", fmt.num(test.get("top3_accuracy")))
    t.add_row("test macro-F1", fmt.num(test.get("macro_f1")))
    if "balanced_accuracy" in test:  # eval.json files before issue 36 have none
        t.add_row("balanced acc", f"{fmt.num(test.get('balanced_accuracy'))} (mean recall per class)")
    t.add_row("test samples", str(test.get("samples", "-")))
    t.add_row("epochs run", f"{evaluation.get('epochs_run', '-')} in {fmt.seconds(evaluation.get('train_seconds'))}")
    t.add_row(
        "class sizes",
        f"largest {imbalance.get('largest_class', '-')}, smallest {imbalance.get('smallest_class', '-')} (ratio {imbalance.get('ratio', '-')})",
    )
    t.add_row("imbalance", imbalance_words(imbalance.get("spearman_size_vs_accuracy")) + interval(imbalance))
    smallest = imbalance.get("smallest_classes")
    if smallest:
        t.add_row(
            f"smallest {len(smallest)}",
            f"recall {fmt.num(imbalance.get('smallest_recall'))} ({', '.join(smallest)})",
        )
    pairs = evaluation.get("most_confused") or []
    if pairs:
        t.add_row(
            "most confused",
            "\n".join(
                f"{p.get('true')} → {p.get('predicted')}: {p.get('count')} ({fmt.pct(p.get('share'))})"
                for p in pairs[:5]
            ),
        )
    if evaluation.get("synthetic"):
        t.add_row("data", Text("SYNTHETIC shapes: not comparable with the original", style="yellow"))
    t.add_row("", Text("c: the confusion matrix, per-class accuracy and class sizes", style="dim"))
    return t


def _value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


#: The focal losses as the config tab names them.
FOCAL_FORMS = {"focal": "sigmoid focal loss (the log's)", "softmax_focal": "softmax focal loss (Keras')"}


def imbalance_remedies(options: dict[str, Any], loss: str | None = None) -> str:
    """The class-imbalance remedies a run trained with (config.json's options, and the recipe's ``loss``
    where it is a focal loss), in words; "" for none."""
    parts = []
    if loss in FOCAL_FORMS and "focal_alpha" in options:  # runs from before --focal-alpha recorded none
        alpha = options.get("focal_alpha")
        gamma = options.get("focal_gamma")
        alpha_text = f"{alpha:g}" if isinstance(alpha, (int, float)) else str(alpha)
        gamma_text = f"{gamma:g}" if isinstance(gamma, (int, float)) else str(gamma)
        parts.append(f"{FOCAL_FORMS[loss]}, alpha {alpha_text}, gamma {gamma_text}")
    if options.get("class_weight") not in (None, "none"):
        parts.append(f"class weights {options['class_weight']}")
    tau = options.get("logit_adjust")
    if isinstance(tau, (int, float)) and tau:
        parts.append(f"logit-adjusted loss, tau {tau:g}")
    if options.get("sampler") not in (None, "uniform"):
        parts.append(f"{options['sampler']} sampling")
    return "; ".join(parts)


def config_text(state: RunState) -> Table | Text:
    config = state.config
    if not config:
        return Text("No config yet (the run writes it once its data is ready).", style="dim")
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    recipe: dict[str, Any] = dict(config.get("recipe", {}))
    data = config.get("data") or {}
    t.add_row("run folder", str(state.run_dir or "-"))
    t.add_row("backend", state.backend or "not recorded")
    t.add_row("processes", processes_text(config, detail=True))
    for key in (
        "name",
        "model",
        "loss",
        "optimizer",
        "optimizer_settings",
        "l2",
        "batch_size",
        "epochs",
        "patience",
        "image_size",
        "weights",
        "model_options",
    ):
        if key in recipe:
            t.add_row(f"recipe.{key}", _value(recipe[key]))
    remedies = imbalance_remedies(config.get("options") or {}, recipe.get("loss"))
    if remedies:
        t.add_row("imbalance remedy", remedies)
    extras = averaging_and_mixing(config.get("options") or {}, recipe)
    if extras:
        t.add_row("averaging, mixing", extras)
    for key, value in data.items():
        t.add_row(f"data.{key}", _value(value))
    init_seed = (config.get("options") or {}).get("init_seed")
    if init_seed is not None:
        t.add_row("init seed", f"{init_seed} (initialisation and order; the data's is data.seed)")
    t.add_row("dataset", fmt.data_summary(state.dataset or config.get("dataset", {})))
    params = config.get("params") or {}
    if params:
        t.add_row("parameters", f"{params.get('trainable', 0):,} trainable of {params.get('total', 0):,}")
    for key, value in (config.get("execution") or {}).items():
        t.add_row(f"execution.{key}", _value(value))
    for key in ("fingerprint", "device", "created"):
        if key in config:
            t.add_row(key, _value(config[key]))  # type: ignore[literal-required]  # keys of RunConfig, looped
    versions = config.get("versions") or {}
    if versions:
        t.add_row("versions", ", ".join(f"{k} {v}" for k, v in versions.items()))
    return t


def split_hint(error: str) -> tuple[str, str | None]:
    """A KerasketchError's text is ``message\\n  hint: hint``: the two, apart."""
    message, sep, hint = error.partition("\n  hint: ")
    return message, (hint if sep else None)


def error_text(state: RunState) -> Text:
    text = Text()
    text.append(f"{state.status_label}: ", style="bold red")
    message, hint = split_hint(state.error or "no error message was recorded")
    text.append(message)
    if hint:
        text.append("\nhint: ", style="bold")
        text.append(hint, style="italic")
    if state.problems:
        text.append(f"\n\n{len(state.problems)} malformed event line(s) of {folders.EVENTS} skipped:\n", style="bold")
        text.append("\n".join(state.problems[:5]), style="dim")
    tail = log_lines(state, 12)
    while tail and not tail[0].strip():
        tail.pop(0)
    if tail:
        text.append("\n\nlast lines of the log:\n", style="bold")
        text.append("\n".join(tail), style="dim")
    return text


def problems_text(state: RunState) -> Text:
    """For a run that reads but had lines skipped."""
    text = Text()
    text.append(f"⚠ {len(state.problems)} malformed line(s) of {folders.EVENTS} skipped: ", style="bold yellow")
    text.append("; ".join(state.problems[:3]))
    return text


def processes_text(config: RunConfig, *, detail: bool = False) -> str:
    """How many processes trained the run and how: ``1 process``, or ``2 processes (gloo)`` and,
    with ``detail``, how the global batch was shared out (config.json's ``distributed``)."""
    record = distributed_record(config)
    size = record["world_size"]
    if size == 1:
        return "1 process"
    text = f"{size} processes ({record['backend'] or 'backend not recorded'})"
    if detail:
        if record["per_rank_batch"] is not None:
            text += f", {record['per_rank_batch']} drawings each of every batch"
            if record["global_batch"] is not None:
                text += f" of {record['global_batch']}"
        if record["threads_per_rank"] is not None:
            text += f", {plural(record['threads_per_rank'], 'thread')} each"
    return text


def system_text(epoch: Epoch | None, world_size: int = 1) -> Text | None:
    """What an epoch cost the machine, on one line; None for an epoch (or an old run) without the figures.
    Images per second count every process's images; with several, each one's share follows."""
    figures = (epoch.system or {}) if epoch is not None else {}
    if epoch is None or not figures:
        return None
    parts = []
    if "images_per_second" in figures:
        rate = f"{figures['images_per_second']:,.0f} images/s"
        if world_size > 1:
            rate += f" ({figures['images_per_second'] / world_size:,.0f} per process)"
        parts.append(rate)
    if "cpu_percent" in figures:
        parts.append(f"CPU {figures['cpu_percent']:.0f}%")
    if "rss_bytes" in figures:
        parts.append(f"memory {_size(figures['rss_bytes'])}")
    if "gpu_percent" in figures:
        parts.append(f"GPU {figures['gpu_percent']:.0f}%")
    if "gpu_memory_bytes" in figures:
        parts.append(f"GPU memory {_size(figures['gpu_memory_bytes'])}")
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"epoch {epoch.epoch}: ", style="bold")
    text.append(" · ".join(parts))
    return text


def _size(count: float) -> str:
    """Bytes as the largest unit that keeps a number at least 1 (GB, MB, ...)."""
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"
