"""A report of runs: every run read and checked first, then each run's folder of files, then the index.

``OUT/<run>/``: ``curves``, ``confusion``, ``class_accuracy`` and ``mistakes``
(the most confused pairs' test drawings) as PNG and SVG (all but the first once
the run is evaluated), ``epochs.csv`` and
``index.html``. ``OUT/``: ``index.html`` and, for several runs,
``val_curves`` (PNG and SVG).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from . import figures, html_page
from .epochs_csv import write_epochs_csv
from .files import prepare_folder, write_text
from .run_data import RunData, read_run


@dataclass
class Report:
    folder: Path
    runs: list[RunData]
    #: Every file written, in the order written.
    files: list[Path] = field(default_factory=list)

    @property
    def index(self) -> Path:
        return self.folder / "index.html"


def read_runs(paths: Sequence[str | Path]) -> list[RunData]:
    """Each run once, in the order given; RunError for the first one a report cannot be made from."""
    runs: list[RunData] = []
    seen: dict[Path, RunData] = {}
    for path in paths:
        run = read_run(path)
        if run.path.resolve() in seen:
            continue
        clash = next((r for r in runs if r.name == run.name), None)
        if clash is not None:
            raise ConfigError(
                f"two runs are named {run.name} ({clash.path} and {run.path}); their reports would share a folder",
                "make one report per runs folder (-o DIR for each)",
            )
        seen[run.path.resolve()] = run
        runs.append(run)
    return runs


def write_report(paths: Sequence[str | Path], out: Path) -> Report:
    """Read every run (nothing is written if one is bad), then write the report into ``out``."""
    runs = read_runs(paths)
    folder = prepare_folder(Path(out))
    report = Report(folder=folder, runs=runs)
    for run in runs:
        report.files += _write_run(run, prepare_folder(folder / run.name, "the run's report folder"))
    overlay = None
    if len(runs) > 1:
        overlay = "val_curves"
        report.files += figures.save(figures.validation_overlay(runs), folder, overlay)
    write_text(report.index, html_page.index_page(runs, overlay))
    report.files.append(report.index)
    return report


def _write_run(run: RunData, folder: Path) -> list[Path]:
    written: list[Path] = []
    stems = ["curves"]
    written += figures.save(figures.training_curves(run), folder, "curves")
    if run.confusion is not None:
        stems.append("confusion")
        written += figures.save(figures.confusion_matrix(run), folder, "confusion")
    if run.evaluation is not None and run.evaluation.get("per_class"):
        stems.append("class_accuracy")
        written += figures.save(figures.class_accuracy(run), folder, "class_accuracy")
    if run.mistakes is not None and len(run.mistakes["pairs"]):
        stems.append("mistakes")
        written += figures.save(figures.mistakes(run), folder, "mistakes")
    written.append(write_epochs_csv(run, folder / "epochs.csv"))
    data_files = ["epochs.csv"] + [f"{stem}.{ext}" for stem in stems for ext in ("png", "svg")]
    page = folder / "index.html"
    write_text(page, html_page.run_page(run, stems, data_files))
    written.append(page)
    return written
