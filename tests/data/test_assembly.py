"""The seeded protocol: same settings, same dataset; stratified splits; clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from kerasketch.data import assembly, cache
from kerasketch.data.assembly import DataConfig, choose_classes, sample_indices, split_indices
from kerasketch.errors import ConfigError, DataError


def test_same_seed_same_dataset_other_seed_other_dataset(quickdraw_sample):
    quickdraw = quickdraw_sample.root
    fraction = quickdraw_sample.fraction_for(None, at_least=10)  # 2% of ../shared, 20% of the fixture
    cfg = DataConfig(data=str(quickdraw / "bitmap"), classes=5, fraction=fraction, seed=3)
    a, b = assembly.build(cfg), assembly.build(cfg)
    assert a.class_names == b.class_names
    for split in ("train", "val", "test"):
        assert np.array_equal(getattr(a, f"x_{split}"), getattr(b, f"x_{split}"))
        assert np.array_equal(getattr(a, f"y_{split}"), getattr(b, f"y_{split}"))
    c = assembly.build(DataConfig(data=str(quickdraw / "bitmap"), classes=5, fraction=fraction, seed=4))
    assert c.class_names != a.class_names or not np.array_equal(c.x_train, a.x_train)


def test_class_choice_is_seeded_and_sorted():
    names = [f"c{i:03d}" for i in range(345)]
    first = choose_classes(names, 200, seed=1)
    assert first == choose_classes(names, 200, seed=1) == sorted(first)
    assert first != choose_classes(names, 200, seed=2)
    assert choose_classes(names, None, 0) == names


def test_a_class_sample_does_not_depend_on_the_other_classes():
    assert np.array_equal(sample_indices("cat", 5000, 0.01, None, 7), sample_indices("cat", 5000, 0.01, None, 7))
    assert len(sample_indices("cat", 5000, 0.01, None, 7)) == 50
    assert len(sample_indices("cat", 5000, None, 30, 7)) == 30
    assert len(sample_indices("cat", 20, None, 30, 7)) == 20


def test_split_is_stratified_80_10_10(quickdraw_sample):
    fraction = quickdraw_sample.fraction_for(None, at_least=25)  # 5% of ../shared, half the fixture
    ds = assembly.build(DataConfig(data=str(quickdraw_sample.root / "bitmap"), fraction=fraction, seed=0))
    per_class = np.bincount(np.concatenate((ds.y_train, ds.y_val, ds.y_test)))
    for y, share in ((ds.y_train, 0.8), (ds.y_val, 0.1), (ds.y_test, 0.1)):
        counts = np.bincount(y, minlength=ds.num_classes)
        assert np.all(np.abs(counts - share * per_class) <= 2), "each class keeps its share in every split"
    summary = ds.summary()
    assert summary["num_classes"] == quickdraw_sample.counts["bitmap"][0]
    assert summary["largest_class"][0] == quickdraw_sample.largest_bitmap_class
    assert summary["imbalance"] == pytest.approx(per_class.max() / per_class.min(), rel=1e-3)


def test_named_classes_and_image_size_from_strokes(quickdraw):
    ds = assembly.build(
        DataConfig(data=str(quickdraw / "simplified"), classes=("dog", "cat", "The Mona Lisa"), image_size=32)
    )
    assert ds.class_names == ["The Mona Lisa", "cat", "dog"]
    assert ds.x_train.shape[1:] == (32, 32) and ds.summary()["total"] == 75


def test_bitmaps_are_resized_to_the_model_size(quickdraw):
    ds = assembly.build(
        DataConfig(data=str(quickdraw / "bitmap"), classes=("cat", "dog"), max_per_class=50, image_size=32)
    )
    assert ds.x_train.shape[1:] == (32, 32) and ds.x_train.dtype == np.uint8
    assert ds.x_train.max() > 200


def test_impossible_requests_are_clear(quickdraw_sample):
    quickdraw, (classes, _) = quickdraw_sample.root, quickdraw_sample.counts["bitmap"]
    with pytest.raises(ConfigError, match=f"asked for 300 classes but the data holds {classes}"):
        assembly.build(DataConfig(data=str(quickdraw / "bitmap"), classes=300))
    with pytest.raises(DataError, match=r"unknown class 'kat' \(did you mean 'cat'"):
        assembly.build(DataConfig(data=str(quickdraw / "bitmap"), classes=("kat", "dog")))
    with pytest.raises(ConfigError, match="--fraction must be in"):
        DataConfig(fraction=0.0)
    with pytest.raises(ConfigError, match="stratified"):
        assembly.build(DataConfig(data=str(quickdraw / "simplified"), max_per_class=1))


def test_cache_reopens_the_same_dataset_and_notices_changes(quickdraw, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for cls in ("cat", "dog", "bee"):
        np.save(src / f"{cls}.npy", np.load(quickdraw / "bitmap" / f"{cls}.npy", mmap_mode="r")[:300])
    cfg = DataConfig(data=str(src), fraction=0.5, seed=1)
    built = cache.load_or_build(cfg, tmp_path / "cache")
    again = cache.load_or_build(cfg, tmp_path / "cache")
    assert not built.from_cache and again.from_cache and again.cache_path == built.cache_path
    assert np.array_equal(built.x_val, again.x_val) and np.array_equal(built.y_test, again.y_test)
    assert again.class_names == built.class_names
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [built.cache_path.name], "no temporary files left"
    # Another setting, or a changed source file, is another cache entry.
    assert cache.cache_key(DataConfig(data=str(src), fraction=0.5, seed=2)) != cache.cache_key(cfg)
    np.save(src / "bee.npy", np.load(quickdraw / "bitmap" / "bee.npy", mmap_mode="r")[:100])
    assert not cache.load_or_build(cfg, tmp_path / "cache").from_cache


def test_an_unreadable_cache_is_rebuilt(quickdraw, tmp_path, capsys):
    cfg = DataConfig(data=str(quickdraw / "simplified"), classes=("cat", "dog"), seed=0)
    built = cache.load_or_build(cfg, tmp_path)
    built.cache_path.write_bytes(b"not hdf5")
    rebuilt = cache.load_or_build(cfg, tmp_path)
    assert "unreadable" in capsys.readouterr().err
    assert np.array_equal(rebuilt.x_train, built.x_train)


def test_a_split_that_cannot_be_stratified_names_the_classes_not_their_labels() -> None:
    labels = np.array([0] * 10 + [1])
    with pytest.raises(ConfigError) as caught:
        split_indices(labels, (0.8, 0.1, 0.1), 0, ["cat", "The Mona Lisa"])
    message = str(caught.value)
    assert "'The Mona Lisa' (1)" in message and "[1]" not in message


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_the_array_split_draws_exactly_scikit_learns(seed) -> None:
    """Datasets keep their splits: stratified_split equals train_test_split, draw for draw."""
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    for classes, n, test_size in ((2, 40, 0.2), (7, 1001, 0.1), (37, 5000, 0.5), (12, 3000, 0.35)):
        labels = rng.integers(0, classes, n)
        labels[:classes] = np.arange(classes)  # every class at least twice
        labels[classes : 2 * classes] = np.arange(classes)
        ours = assembly.stratified_split(labels, test_size, seed)
        theirs = train_test_split(np.arange(n), test_size=test_size, stratify=labels, random_state=seed)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs)), (classes, n, test_size)


def test_one_cache_for_the_same_data_however_its_path_is_spelled(quickdraw, tmp_path, monkeypatch):
    from kerasketch.sweep.tune import _absolute_data  # what a sweep hands its trials

    src = tmp_path / "src"
    src.mkdir()
    for cls in ("cat", "dog"):
        np.save(src / f"{cls}.npy", np.load(quickdraw / "bitmap" / f"{cls}.npy", mmap_mode="r")[:60])
    (tmp_path / "link").symlink_to(src, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    spellings = ["src", "./src/", str(src), "link", str(tmp_path / "link"), "../" + tmp_path.name + "/src"]
    configs = [DataConfig(data=s, max_per_class=40) for s in spellings]
    keys = {cache.cache_key(c) for c in configs} | {cache.cache_key(_absolute_data(configs[0]))}
    assert len(keys) == 1, keys
    for config in configs:
        cache.load_or_build(config, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("dataset-*.h5"))) == 1
    # The files' identity still counts: a changed file is another cache.
    np.save(src / "dog.npy", np.load(quickdraw / "bitmap" / "dog.npy", mmap_mode="r")[:50])
    assert cache.cache_key(configs[0]) not in keys
