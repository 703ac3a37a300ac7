"""``kerasketch report`` and ``compare --format`` on run folders made by real (short) runs."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from kerasketch.cli import main
from kerasketch.cli import run as recipe_main
from kerasketch.recipes import registry
from kerasketch.reports import figures
from kerasketch.reports.confusion_order import confusion_order
from kerasketch.reports.files import replacing
from kerasketch.reports.run_data import read_run

#: The figures' sizes in pixels, as the report promises them.
PIXELS = {
    "curves": (1000, 400),
    "confusion": (900, 800),
    "class_accuracy": (800, 550),
    "val_curves": (1000, 400),
    "mistakes": (1000, 800),
}


def _train(runs_dir: Path, *extra: str) -> Path:
    argv = ["--data", "synthetic", "--classes", "6", "--max-per-class", "40", "--runs-dir", str(runs_dir), "--quiet"]
    assert recipe_main.main(registry.get("like_vgg_adamw"), argv + list(extra)) == 0
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """Two real runs on the synthetic set: 3 epochs with seed 0, 2 epochs with seed 1."""
    # Their own names: two runs started in the same second would otherwise share one (in different folders).
    a = _train(tmp_path_factory.mktemp("runs-a"), "--epochs", "3", "--name", "seed0")
    b = _train(tmp_path_factory.mktemp("runs-b"), "--epochs", "2", "--seed", "1", "--name", "seed1")
    return a, b


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("src", "href") and value is not None]


def assert_self_contained(page: Path, within: Path) -> list[str]:
    """Every src and href of ``page`` is a relative path to a file that exists under ``within``."""
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    assert parser.links, f"{page} shows nothing"
    for link in parser.links:
        parts = urlsplit(link)
        assert not parts.scheme and not parts.netloc, f"{page} reaches outside: {link}"
        assert not link.startswith("/"), f"{page} has an absolute path: {link}"
        target = (page.parent / parts.path).resolve()
        assert target.is_relative_to(within.resolve()), f"{page} refers outside its folder: {link}"
        assert target.is_file(), f"{page} refers to a missing file: {link}"
    text = page.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text and "<script" not in text
    return parser.links


def assert_figure(folder: Path, stem: str) -> None:
    with Image.open(folder / f"{stem}.png") as image:
        image.verify()
    with Image.open(folder / f"{stem}.png") as image:
        assert image.format == "PNG" and image.size == PIXELS[stem]
    root = ET.parse(folder / f"{stem}.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def svg_text(path: Path) -> str:
    return " ".join(t.strip() for t in ET.parse(path).getroot().itertext() if t.strip())


@pytest.mark.slow
def test_report_of_a_run_has_its_figures_epochs_and_page(runs, tmp_path, capsys):
    run, _ = runs
    out = tmp_path / "report"
    assert main(["report", str(run), "-o", str(out)]) == 0
    assert str(out / "index.html") in capsys.readouterr().out
    folder = out / run.name
    for stem in ("curves", "confusion", "class_accuracy", "mistakes"):
        assert_figure(folder, stem)
    assert not (out / "val_curves.png").exists(), "one run has no overlay"
    assert (run / "mistakes.npz").is_file() and "taken for" in svg_text(folder / "mistakes.svg")

    with open(folder / "epochs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    evaluation = json.loads((run / "eval.json").read_text())
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    best = [int(r["epoch"]) for r in rows if r["best"] == "1"]
    assert best == [evaluation["criterion"]["best_epoch"]]
    assert float(rows[best[0] - 1]["val_accuracy"]) == pytest.approx(evaluation["criterion"]["best_val_accuracy"])

    links = assert_self_contained(folder / "index.html", folder)
    assert {"curves.svg", "confusion.svg", "class_accuracy.svg", "mistakes.svg", "epochs.csv"} <= set(links)
    page = (folder / "index.html").read_text()
    assert f"{evaluation['test']['accuracy']:.4f}" in page and "&quot;like_vgg_adamw&quot;" in page  # config shown
    assert_self_contained(out / "index.html", out)
    assert not list(out.rglob(".*.tmp")), "no temporary file is left"

    curves = svg_text(folder / "curves.svg")
    assert f"best epoch ({best[0]})" in curves
    assert "Spearman ρ undefined" in svg_text(folder / "class_accuracy.svg"), "equal classes have no rank correlation"


@pytest.mark.slow
def test_report_of_two_runs_overlays_their_validation_curves(runs, tmp_path):
    a, b = runs
    out = tmp_path / "report"
    assert main(["report", str(a), str(b), str(a), "-o", str(out)]) == 0
    assert_figure(out, "val_curves")
    assert {p.name for p in out.iterdir() if p.is_dir()} == {a.name, b.name}
    links = assert_self_contained(out / "index.html", out)
    assert {f"{a.name}/index.html", f"{b.name}/index.html", "val_curves.svg"} <= set(links)
    legend = svg_text(out / "val_curves.svg")
    assert a.name in legend and b.name in legend


@pytest.mark.slow
def test_the_class_size_figure_prints_spearmans_rho(quickdraw_sample, tmp_path):
    # candle and guitar have far fewer drawings than the others: a sample by fraction keeps the imbalance
    # (about 10 drawings of the smallest class: 2% of ../shared, 20% of the fixture).
    classes = ["candle", "guitar", "cat", "dog", "rainbow"]
    fraction = quickdraw_sample.fraction_for(classes, at_least=10)
    runs_dir = tmp_path / "runs"
    argv = [
        "--data",
        str(quickdraw_sample.root / "bitmap"),
        "--classes",
        ",".join(classes),
        "--fraction",
        str(fraction),
    ]
    argv += ["--epochs", "1", "--runs-dir", str(runs_dir), "--quiet"]
    assert recipe_main.main(registry.get("like_vgg_adamw"), argv) == 0
    (run,) = list(runs_dir.iterdir())
    rho = json.loads((run / "eval.json").read_text())["imbalance"]["spearman_size_vs_accuracy"]
    assert rho is not None
    assert main(["report", str(run), "-o", str(tmp_path / "report")]) == 0
    assert f"Spearman ρ = {rho:.2f}" in svg_text(tmp_path / "report" / run.name / "class_accuracy.svg")


@pytest.mark.slow
def test_a_run_without_evaluation_gets_its_curves(runs, tmp_path):
    run = shutil.copytree(runs[0], tmp_path / runs[0].name)
    (run / "eval.json").unlink()
    (run / "confusion.csv").unlink()
    assert main(["report", str(run), "-o", str(tmp_path / "report")]) == 0
    folder = tmp_path / "report" / run.name
    assert_figure(folder, "curves")
    assert not (folder / "confusion.png").exists() and not (folder / "class_accuracy.png").exists()
    assert "No evaluation yet" in (folder / "index.html").read_text()
    assert_self_contained(folder / "index.html", folder)


@pytest.mark.slow
def test_bad_input_gets_one_message_and_writes_nothing(runs, tmp_path, capsys):
    out = tmp_path / "report"

    def fails(*paths: Path | str, message: str, output: Path = out) -> None:
        assert main(["report", *map(str, paths), "-o", str(output)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert not out.exists(), "nothing is written when an input is bad"

    (tmp_path / "notarun").mkdir()
    fails(tmp_path / "notarun", message="is not a kerasketch run folder")
    fails(tmp_path / "missing", message="does not exist")

    no_epochs = shutil.copytree(runs[0], tmp_path / "no-epochs")
    kept = [line for line in (no_epochs / "events.jsonl").read_text().splitlines() if '"event":"epoch"' not in line]
    (no_epochs / "events.jsonl").write_text("\n".join(kept) + "\n")
    fails(runs[0], no_epochs, message="has no finished epoch")

    bad_eval = shutil.copytree(runs[0], tmp_path / "bad-eval")
    (bad_eval / "eval.json").write_text('{"test": {"accuracy": 0.9')
    fails(bad_eval, message="eval.json is unreadable")

    a_file = tmp_path / "a-file"
    a_file.write_text("mine\n")
    assert main(["report", str(runs[0]), "-o", str(a_file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert a_file.read_text() == "mine\n"


def test_a_failed_write_leaves_the_previous_file(tmp_path):
    target = tmp_path / "curves.png"
    target.write_bytes(b"previous")
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"previous" and list(tmp_path.iterdir()) == [target]


def test_confusion_order_puts_confused_classes_together():
    # 200 classes in 40 groups of 5 confused with each other, scattered across the alphabetical order.
    rng = np.random.default_rng(0)
    group = rng.permutation(np.repeat(np.arange(40), 5))
    matrix = np.where(group[:, None] == group[None, :], 10, 0) + np.diag(np.full(200, 100))
    order = confusion_order(matrix)
    assert sorted(order) == list(range(200))
    runs_of_groups = [group[order][i : i + 5] for i in range(0, 200, 5)]
    assert all(len(set(g)) == 1 for g in runs_of_groups), "each group is contiguous in the order"


@pytest.mark.slow
def test_a_200_class_confusion_names_every_5th_class(runs, tmp_path):
    run = read_run(runs[0])
    names = [f"class {i:03d}" for i in range(200)]
    matrix = (np.eye(200, dtype=int) * 20 + np.roll(np.eye(200, dtype=int), 1, axis=1) * 3).tolist()
    big = dataclasses.replace(run, confusion=(names, matrix))
    figures.save(figures.confusion_matrix(big), tmp_path, "confusion")
    assert_figure(tmp_path, "confusion")
    text = svg_text(tmp_path / "confusion.svg")
    assert "every 5th class labelled" in text and "200 classes" in text
    assert sum(name in text for name in names) == 40


@pytest.mark.slow
def test_compare_formats_parse(runs, tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    shutil.copytree(runs[0], runs_dir / runs[0].name)
    evaluation = json.loads((runs[0] / "eval.json").read_text())

    assert main(["compare", str(runs_dir), "--include-synthetic"]) == 0
    markdown = capsys.readouterr().out
    assert (
        "| 8 | like_vgg_adamw | CEL | AdamW | 0.6267 |" in markdown
        and "6 classes, 240 drawings (synthetic)" in markdown
    )

    assert main(["compare", str(runs_dir), "--include-synthetic", "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [r["recipe"] for r in rows] == list(registry.NAMES)
    ours = rows[registry.NAMES.index("like_vgg_adamw")]
    assert float(ours["best_val_acc"]) == pytest.approx(evaluation["criterion"]["best_val_accuracy"])
    assert ours["run"] == runs[0].name and ours["caps"] == "--epochs 3, --max-per-class 40"
    assert rows[0]["best_val_acc"] == "" and float(rows[0]["original_val_acc"]) == 0.4788

    assert main(["compare", str(runs_dir), "--include-synthetic", "--format", "json"]) == 0
    objects = json.loads(capsys.readouterr().out)
    assert [o["recipe"] for o in objects] == list(registry.NAMES)
    ours = objects[registry.NAMES.index("like_vgg_adamw")]
    assert ours["test_acc"] == pytest.approx(evaluation["test"]["accuracy"]) and ours["synthetic"] is True
    assert objects[0]["best_val_acc"] is None

    assert main(["compare", str(runs_dir), "--format", "xml"]) == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_the_index_groups_runs_by_data_best_first():
    import tempfile

    from run_folders import classes, write_run

    from kerasketch.reports import html_page
    from kerasketch.runs import folders
    from kerasketch.training import datakey

    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder)
        paths = [
            write_run(runs, "a-small", classes=classes(3), best=0.9),
            write_run(runs, "b-big", classes=classes(37), best=0.5),
            write_run(runs, "c-big", recipe="baseline", classes=classes(37), best=0.6),
            write_run(runs, "d-one", classes={"cat": 30}, best=1.0),
        ]
        page = html_page.index_page([read_run(p) for p in paths], None)
        big, small, one = (datakey.of_config(folders.read_config(paths[i])) for i in (1, 0, 3))
    assert "3 different data" in page
    headings = [page.index(f"<h3>Data {k.label} [{k.key}]</h3>") for k in (big, small, one)]
    assert headings == sorted(headings)  # the data with more runs first
    big_table = page[headings[0] : headings[1]]
    assert big_table.index("c-big") < big_table.index("b-big")  # best first within one data
    assert "1 class, 30 drawings" in page and "1 classes" not in page


def _per_class_run(sizes: list[int]):
    from kerasketch.reports.run_data import RunData

    rng = np.random.default_rng(0)
    rows = [
        {"class": f"class {i:02d}", "train_count": n, "test_support": 50, "accuracy": float(rng.uniform(0.4, 1.0))}
        for i, n in enumerate(sizes)
    ]
    evaluation = {"per_class": rows, "imbalance": {"ratio": max(sizes) / min(sizes)}}
    return RunData("r", Path("r"), "finished", {}, [], None, evaluation, None)


def test_class_accuracy_of_balanced_classes_is_a_sorted_bar_per_class():
    sizes = [397 + i % 4 for i in range(37)]  # as a real 37-class run at --max-per-class 500 splits
    fig = figures.class_accuracy(_per_class_run(sizes))
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 37 and all(label.startswith("class ") for label in labels)
    heights = [p.get_height() for p in ax.patches]
    assert heights == sorted(heights) and len(heights) == 37
    assert "37 balanced classes (397 to 400 training drawings each)" in ax.get_title()


def test_class_accuracy_of_unequal_classes_keeps_the_size_axis_in_whole_drawings():
    fig = figures.class_accuracy(_per_class_run([10 + i % 3 for i in range(20)]))
    (ax,) = fig.axes
    assert ax.get_xlabel() == "training drawings of the class"
    ticks = ax.get_xticks()
    assert len(ticks) and all(float(t).is_integer() for t in ticks)


def test_the_mistakes_of_the_most_confused_pairs_are_recorded_and_drawn(tmp_path):
    from kerasketch.reports.run_data import RunData
    from kerasketch.runs import confusion
    from kerasketch.training import mistakes
    from kerasketch.training.evaluate import scores

    rng = np.random.default_rng(0)
    names = ["cat", "dog", "fish", "bee"]
    y = np.repeat(np.arange(4), 30)
    logits = rng.normal(size=(120, 4)).astype(np.float32)
    logits[np.arange(120), y] += 3.0
    logits[:12, 1] += 6.0  # a dozen cats taken for dogs, the most confused pair
    images = rng.integers(0, 255, (120, 28, 28), dtype=np.uint8)
    result = scores(logits, y, 4)
    confused = confusion.most_confused(names, result["confusion"].tolist())
    assert confused[0][:3] == ("cat", "dog", 12)
    mistakes.write(tmp_path, images, y, result, names, confused)
    saved = mistakes.read(tmp_path)
    assert saved is not None and [str(n) for n in saved["class_names"]] == names
    first = saved["pair"] == 0
    assert first.sum() == mistakes.PER_PAIR and (saved["true"][first] == 0).all()
    assert (saved["predicted"][first] == 1).all()
    confidence = saved["confidence"][first]
    assert list(confidence) == sorted(confidence, reverse=True) and (confidence > 0.5).all()
    picked = np.flatnonzero((y == 0) & (result["predicted"] == 1))
    assert all(any(np.array_equal(img, images[i]) for i in picked) for img in saved["images"][first])
    assert not list(tmp_path.glob(".*"))  # no temporary file left

    run = RunData("r", tmp_path, "finished", {}, [], None, {}, None, mistakes=saved)
    fig = figures.mistakes(run)
    figures.save(fig, tmp_path, "mistakes")
    assert_figure(tmp_path, "mistakes")
    text = svg_text(tmp_path / "mistakes.svg")
    assert "cat taken for dog (12 in the test split)" in text and f"{confidence[0]:.2f}" in text


def test_the_run_page_shows_the_per_class_evidence_and_an_older_eval_json_still_renders():
    from kerasketch.reports import html_page
    from kerasketch.reports.run_data import RunData
    from kerasketch.training.evaluate import evaluation_report, scores

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 8, 300)
    predicted = np.where(rng.random(300) < 0.7, labels, rng.integers(0, 8, 300))
    logits = np.eye(8, dtype=np.float32)[predicted]
    names = [f"class{i}" for i in range(8)]
    sizes = np.array([800, 700, 600, 500, 400, 300, 200, 100])
    report = evaluation_report(
        scores(logits, labels, 8), names, sizes, best_val_accuracy=0.7, best_epoch=1, epochs_run=1, train_seconds=1.0
    )
    page = html_page.run_page(RunData("r", Path("r"), "finished", {}, [], None, report, None), [], [])
    imbalance = report["imbalance"]
    assert f"{report['test']['balanced_accuracy']:.4f}" in page
    low, high = imbalance["spearman_ci95_low"], imbalance["spearman_ci95_high"]
    assert f"{imbalance['spearman_size_vs_recall']:.2f} [{low:.2f}, {high:.2f}]" in page
    assert f"{imbalance['smallest_recall']:.4f} (class7, class6, class5, class4, class3)" in page
    assert "<th>precision</th>" in page and f"{report['per_class'][0]['f1']:.4f}" in page
    old = {
        **report,
        "per_class": [
            {k: r[k] for k in ("class", "train_count", "test_support", "accuracy")} for r in report["per_class"]
        ],
    }
    old["imbalance"] = {"ratio": 8.0, "spearman_size_vs_accuracy": 0.5}
    old_page = html_page.run_page(RunData("r", Path("r"), "finished", {}, [], None, old, None), [], [])
    assert "<th>precision</th>" not in old_page and "recall of the smallest classes</td><td>-" in old_page
