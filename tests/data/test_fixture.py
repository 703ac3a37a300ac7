"""The committed Quick, Draw! fixture: small, credited, what its README says, and real drawings."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest

from ..conftest import FIXTURE_ARCHIVE, FIXTURE_FACTS, QUICKDRAW


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixture")
    with tarfile.open(FIXTURE_ARCHIVE) as archive:
        archive.extractall(root, filter="data")
    return root


def lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_at_most_one_megabyte_with_the_credit_beside_it():
    assert FIXTURE_ARCHIVE.stat().st_size <= 1_000_000
    assert "Quick, Draw! dataset, Google, CC BY 4.0" in (FIXTURE_ARCHIVE.parent / "README.md").read_text()


def test_the_facts_the_tests_rely_on_are_the_files(unpacked):
    bitmaps = {p.stem: np.load(p, mmap_mode="r") for p in (unpacked / "bitmap").glob("*.npy")}
    assert all(a.dtype == np.uint8 and a.shape[1:] == (784,) for a in bitmaps.values())
    counts = {"bitmap": (len(bitmaps), sum(len(a) for a in bitmaps.values()))}
    for sub in ("simplified", "raw"):
        files = list((unpacked / sub).glob("*.ndjson"))
        counts[sub] = (len(files), sum(len(lines(f)) for f in files))
    assert counts == FIXTURE_FACTS["counts"]
    assert max(bitmaps, key=lambda c: len(bitmaps[c])) == FIXTURE_FACTS["largest_bitmap_class"]
    assert set(FIXTURE_FACTS["paired_classes"]) <= set(bitmaps)
    raw_keys = {json.loads(ln)["key_id"] for f in (unpacked / "raw").glob("*.ndjson") for ln in lines(f)}
    paired_keys = {
        json.loads(ln)["key_id"]
        for cls in FIXTURE_FACTS["paired_classes"]
        for ln in lines(unpacked / "simplified" / f"{cls}.ndjson")[:25]
    }
    assert len(raw_keys & paired_keys) == FIXTURE_FACTS["raw_pairs"]


def test_every_drawing_is_the_shared_samples_own(unpacked):
    if not (QUICKDRAW / "bitmap").is_dir():
        pytest.skip(f"compares with ../shared/quickdraw, not found at {QUICKDRAW}")
    for path in unpacked.rglob("*.*"):
        shared = QUICKDRAW / path.relative_to(unpacked)
        if path.suffix == ".npy":
            mine = np.load(path)
            assert np.array_equal(mine, np.load(shared, mmap_mode="r")[: len(mine)]), path
        else:
            mine_lines = lines(path)
            assert mine_lines == lines(shared)[: len(mine_lines)], path
