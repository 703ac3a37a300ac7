"""Shared fixtures: the real Quick, Draw! sample beside the project, and an isolated data root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import kerasketch  # noqa: F401  selects the torch backend before any test imports Keras

ROOT = Path(__file__).resolve().parents[1]
QUICKDRAW = Path(os.environ.get("KERASKETCH_QUICKDRAW", ROOT.parent / "shared" / "quickdraw"))

#: The 31 classes whose first 25 simplified drawings are the first 25 bitmap rows.
PAIRED_CLASSES = [
    "The Mona Lisa",
    "airplane",
    "apple",
    "banana",
    "bee",
    "bicycle",
    "bird",
    "book",
    "boomerang",
    "bowtie",
    "cat",
    "clock",
    "cloud",
    "diamond",
    "dog",
    "donut",
    "eye",
    "fish",
    "flower",
    "frog",
    "headphones",
    "horse",
    "house plant",
    "house",
    "lollipop",
    "rainbow",
    "skull",
    "smiley face",
    "tractor",
    "train",
    "tree",
]


@pytest.fixture(scope="session")
def quickdraw() -> Path:
    """``../shared/quickdraw``; tests that need real drawings skip where it is absent."""
    if not (QUICKDRAW / "bitmap").is_dir():
        pytest.skip(f"real Quick, Draw! sample not found at {QUICKDRAW} (a fresh clone has no ../shared)")
    return QUICKDRAW


@pytest.fixture(scope="session", autouse=True)
def isolated_data_root(tmp_path_factory: pytest.TempPathFactory):
    """Keep downloads and dataset caches of the tests out of the repository's data/.

    Session-wide, so tests share assembled datasets the way successive runs do."""
    root = tmp_path_factory.mktemp("data-root")
    old = os.environ.get("KERASKETCH_DATA")
    os.environ["KERASKETCH_DATA"] = str(root)
    yield root
    if old is None:
        os.environ.pop("KERASKETCH_DATA", None)
    else:
        os.environ["KERASKETCH_DATA"] = old
