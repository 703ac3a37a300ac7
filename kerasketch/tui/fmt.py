"""Numbers, times and statuses as the dashboard writes them (one place, one style)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kerasketch.runs.events import Status
from kerasketch.wording import classes

#: Status -> (symbol, words, style). The words are always shown: colour is never the only signal.
STATUS_LOOK: dict[Status, tuple[str, str, str]] = {
    Status.STARTING: ("…", "starting", "dim"),
    Status.PREPARING: ("…", "preparing", "cyan"),
    Status.RUNNING: ("●", "running", "bold green"),
    Status.STOPPING: ("◌", "stopping", "yellow"),
    Status.FINISHED: ("✓", "finished", "green"),
    Status.EARLY_STOPPED: ("✓", "early stop", "green"),
    Status.CANCELLED: ("■", "cancelled", "yellow"),
    Status.FAILED: ("✗", "FAILED", "bold red"),
    Status.KILLED: ("✗", "killed", "bold red"),
    Status.INTERRUPTED: ("!", "interrupted", "magenta"),
    Status.UNREADABLE: ("?", "unreadable", "red"),
}


def status_label(status: Status) -> str:
    symbol, words, _ = STATUS_LOOK[status]
    return f"{symbol} {words}"


def status_style(status: Status) -> str:
    return STATUS_LOOK[status][2]


BAR_EIGHTHS = " ▏▎▍▌▋▊▉█"


def num(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and value == value else "-"


def pct(value: Any) -> str:
    return f"{value * 100:.0f}%" if isinstance(value, (int, float)) else "-"


def lr(value: Any) -> str:
    return f"{value:.1e}" if isinstance(value, (int, float)) else "-"


def seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def started(time: str | None) -> str:
    """``2026-11-28T18:43:21Z`` -> ``11-28 18:43`` (UTC, as the run folders name it)."""
    if not time or len(time) < 16:
        return "-"
    return f"{time[5:10]} {time[11:16]}"


def bar(share: float | None, width: int) -> str:
    """A progress bar of block characters, eighths included."""
    if share is None or width <= 0:
        return " " * max(width, 0)
    share = min(max(share, 0.0), 1.0)
    eighths = round(share * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (BAR_EIGHTHS[part] if part else "")
    return text + "░" * (width - len(text))


def data_summary(dataset: Mapping[str, Any]) -> str:
    if not dataset:
        return "data: not known"
    splits = dataset.get("splits") or {}
    sizes = (
        f"{classes(n) if isinstance(n := dataset.get('num_classes'), int) else '? classes'} · "
        f"train {splits.get('train', '?')} / val {splits.get('val', '?')} / test {splits.get('test', '?')}"
    )
    # Synthetic data must never go unnoticed; a real source's long name can be cut.
    if dataset.get("synthetic"):
        return f"SYNTHETIC shapes · {sizes}"
    return f"{sizes} · {dataset.get('source', '?')}"
