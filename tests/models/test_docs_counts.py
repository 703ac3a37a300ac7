"""The parameter counts the docs print are the models' own: every Markdown table with a
``trainable`` column, in README.md and docs/, is checked against ``param_counts``.

The models' counters (``kerasketch.models``) are the one source; a table that
disagrees, or a model no table shows, fails here with the figures to write.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kerasketch.models import MODELS, TAKES_OPTIONS, param_counts
from kerasketch.recipes import registry

ROOT = Path(__file__).resolve().parents[2]
CLASSES = re.compile(r"(\d+) classes")
NUMBER = re.compile(r"\d[\d,]*")


def markdown_files(root: Path) -> list[Path]:
    return [p for p in [root / "README.md", *sorted((root / "docs").rglob("*.md"))] if p.is_file()]


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def tables(text: str):
    """(nearest heading above, header cells, body rows) of each Markdown table."""
    heading, block = "", []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if len(block) > 2:
            yield heading, cells(block[0]), [cells(row) for row in block[2:]]
        block = []
        if line.startswith("#"):
            heading = line


def counts_of(name: str, num_classes: int) -> tuple[int, int] | None:
    """(trainable, total) of a recipe's or model's model at the recipe's size, None if ``name`` is neither."""
    if name in registry.NAMES:
        recipe = registry.get(name)
        options = dict(recipe.model_options) if recipe.model in TAKES_OPTIONS else {}
        return param_counts(recipe.model, num_classes, recipe.image_size, **options)
    if name in MODELS:
        return param_counts(name, num_classes)
    return None


def documented_counts(root: Path = ROOT):
    """(where, row name, printed figures, the model's figures) of every count in the docs under ``root``."""
    for path in markdown_files(root):
        for heading, header, rows in tables(path.read_text(encoding="utf-8")):
            if not any("trainable" in h.lower() for h in header):
                continue
            stated = CLASSES.search(" ".join(header)) or CLASSES.search(heading)
            assert stated, f"{path.name}: a parameter table ({header}) that does not say for how many classes"
            columns = [
                (i, h)
                for i, h in enumerate(header)
                if re.search("trainable|total", h, re.I) and "pytorch" not in h.lower()
            ]
            for row in rows:
                names = [re.sub(r"[`*]|\(ours\)", "", c).strip() for c in row]
                expected = next((c for c in (counts_of(n, int(stated[1])) for n in names) if c is not None), None)
                if expected is None:
                    continue
                name = next(n for n in names if n in registry.NAMES or n in MODELS)
                for i, h in columns:
                    figures = [int(n.replace(",", "")) for n in NUMBER.findall(row[i])]
                    if "trainable" in h.lower() and "total" in h.lower():
                        want, got = list(expected), figures[:2]
                    elif "trainable" in h.lower():
                        want, got = [expected[0]], figures[:1]
                    else:
                        want, got = [expected[1]], figures[:1]
                    yield f"{path.relative_to(root)}: {name}, column '{h}'", name, got, want


def mistakes(found) -> list[str]:
    return [
        f"{where}: {got} should read {', '.join(f'{n:,}' for n in want)}"
        for where, _, got, want in found
        if got != want
    ]


def test_every_count_in_the_docs_is_the_models_own():
    found = list(documented_counts())
    assert not mistakes(found), "\n".join(mistakes(found))
    shown = {registry.get(n).model if n in registry.NAMES else n for _, n, _, _ in found}
    assert shown == set(MODELS), f"no parameter table in README.md or docs/ shows {sorted(set(MODELS) - shown)}"


@pytest.mark.parametrize(
    "row, message",
    [
        (
            "| `like_vgg` | 1,319,977 / 1,320,360 |",
            "like_vgg, column 'trainable / total params (200 classes)': [1319977, 1320360] should read 1,319,976, 1,320,360",
        ),
        (
            "| `baseline` | 119,764 / 119,765 |",
            "baseline, column 'trainable / total params (200 classes)': [119764, 119765] should read 119,764, 119,764",
        ),
    ],
)
def test_a_wrong_figure_is_named_with_the_right_one(tmp_path, row, message):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(
        f"| recipe | trainable / total params (200 classes) |\n| --- | ---: |\n{row}\n"
    )
    assert mistakes(documented_counts(tmp_path)) == [f"docs/page.md: {message}"]
