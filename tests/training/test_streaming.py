"""The streaming input path: the cache read a batch at a time gives the runs the in-memory path gives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from killed_child import python_argv

from kerasketch.cli.run import main
from kerasketch.data.cached_rows import CachedRows
from kerasketch.recipes.baseline import RECIPE
from kerasketch.runs import folders
from kerasketch.runs.eventlog import read
from kerasketch.training import inputs
from kerasketch.training.evaluate import scores
from kerasketch.training.inputs import Batches

SMALL = ["--max-per-class", "40", "--classes", "6", "--quiet"]  # the synthetic set, 6 classes x 40


def _run(tmp_path: Path, name: str, *extra: str) -> Path:
    runs = tmp_path / name
    argv = [*SMALL, "--epochs", "2", "--runs-dir", str(runs), "--cache-dir", str(tmp_path / "cache"), *extra]
    assert main(RECIPE, argv) == 0
    return next(runs.iterdir())


@pytest.mark.slow
@pytest.mark.backends
def test_streaming_trains_number_for_number_as_in_memory_and_config_says_which(tmp_path):
    loaded = _run(tmp_path, "memory")
    streamed = _run(tmp_path, "stream", "--stream-threshold", "1K")  # auto, and above it
    history = [(run / "history.csv").read_text() for run in (loaded, streamed)]
    assert history[0] == history[1], "the same batches in the same order, read another way"
    evals = [json.loads((run / "eval.json").read_text())["test"] for run in (loaded, streamed)]
    assert evals[0] == evals[1]
    inputs = [json.loads((run / "config.json").read_text())["input"] for run in (loaded, streamed)]
    assert inputs[0]["streaming"] is False and "within the threshold of 2,147,483,648" in inputs[0]["why"]
    assert inputs[1]["streaming"] is True and "above the threshold of 1,024" in inputs[1]["why"]
    assert inputs[1]["images_bytes"] == 240 * 28 * 28 and inputs[1]["shuffle"] == "exact"


def _launch(runs: Path, cache_dir: Path, killed_at_epoch: int | None = None) -> subprocess.Popen:
    argv = [*SMALL, "--epochs", "4", "--runs-dir", str(runs), "--cache-dir", str(cache_dir)]
    return subprocess.Popen(
        [
            *python_argv("kerasketch.recipes.baseline", killed_at_epoch),
            *argv,
            "--stream",
            "always",
            "--shuffle",
            "chunks",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.backends
def test_a_killed_streaming_run_resumes_to_the_history_it_would_have_had(tmp_path):
    argv = [*SMALL, "--epochs", "4", "--stream", "always", "--shuffle", "chunks", "--cache-dir", str(tmp_path / "c")]
    assert main(RECIPE, [*argv, "--runs-dir", str(tmp_path / "ref")]) == 0
    reference = next((tmp_path / "ref").iterdir())

    runs = tmp_path / "runs"
    proc = _launch(runs, tmp_path / "c", killed_at_epoch=3)
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    (run,) = runs.iterdir()
    assert [e["epoch"] for e in read(run / "events.jsonl") if e["event"] == "epoch"] == [1, 2]
    assert folders.load(run).status == "interrupted"
    resumed = _launch(runs, tmp_path / "c")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, (out + err)[-2000:]
    assert (run / "history.csv").read_text() == (reference / "history.csv").read_text()
    config = json.loads((run / "config.json").read_text())["input"]
    assert config["streaming"] is True and config["shuffle"] == "chunks" and config["chunk_rows"] == 64


@pytest.fixture
def cached(tmp_path) -> tuple[np.ndarray, CachedRows]:
    """1,000 distinct 4x4 images, in memory and as rows of a file."""
    images = np.random.default_rng(0).integers(0, 256, (1000, 4, 4), dtype=np.uint8)
    path = tmp_path / "rows.bin"
    path.write_bytes(b"header" + images.tobytes())
    return images, CachedRows(path, len(b"header"), 1000, 4)


def _epoch(batches: Batches) -> list[np.ndarray]:
    return [batches[i][1] for i in range(len(batches))]


def test_the_chunk_and_buffer_order_is_seeded_complete_and_local(cached):
    images, rows = cached
    labels = np.arange(1000)  # a drawing's label is its row
    make = lambda seed, epoch: Batches(  # noqa: E731
        rows, labels, 32, shuffle=True, seed=seed, start_epoch=epoch, order="chunks", chunk_rows=50, buffer_chunks=4
    )
    first = _epoch(make(1, 0))
    assert all(np.array_equal(a, b) for a, b in zip(first, _epoch(make(1, 0)))), "seeded"
    assert not all(np.array_equal(a, b) for a, b in zip(first, _epoch(make(1, 1)))), "another order each epoch"
    assert not all(np.array_equal(a, b) for a, b in zip(first, _epoch(make(2, 0)))), "another order for another seed"
    seen = np.concatenate(first)
    assert sorted(seen.tolist()) == list(range(1000)), "every drawing once an epoch"
    # Each window of 200 positions holds the rows of 4 whole chunks of 50.
    order = make(1, 0)._order
    for lo in range(0, 1000, 200):
        assert len(np.unique(order[lo : lo + 200] // 50)) == 4
    batches = make(1, 0)
    for i in range(len(batches)):  # the pixels are those of the rows the labels name
        x, y = batches[i]
        assert np.array_equal((x[:, 0] * 255).round().astype(np.uint8), images[y])


def test_exact_order_reads_the_same_batches_from_the_file_as_from_memory(cached):
    images, rows = cached
    labels = np.arange(1000)
    on_disk = Batches(rows, labels, 64, shuffle=True, seed=5, start_epoch=3)
    loaded = Batches(images, labels, 64, shuffle=True, seed=5, start_epoch=3)
    for i in range(len(loaded)):
        assert all(np.array_equal(a, b) for a, b in zip(on_disk[i], loaded[i]))
    plain = Batches(rows, labels, 300, shuffle=False)
    assert np.array_equal(np.concatenate([plain[i][1] for i in range(len(plain))]), labels)


def test_prefetch_advises_the_kernel_of_exactly_the_byte_ranges_a_read_takes(cached, monkeypatch):
    """CachedRows.prefetch names each run of rows by its bytes, and checks indices as reading does."""
    _images, rows = cached
    advised = []
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, at, n, advice: advised.append((at, n, advice)), raising=False)
    rows.prefetch(np.array([3, 4, 5, 9, 999]))
    head, row = len(b"header"), 16
    assert advised == [
        (head + 3 * row, 3 * row, os.POSIX_FADV_WILLNEED),
        (head + 9 * row, row, os.POSIX_FADV_WILLNEED),
        (head + 999 * row, row, os.POSIX_FADV_WILLNEED),
    ]
    with pytest.raises(IndexError):
        rows.prefetch(np.array([5, 3]))


def test_a_streamed_epoch_advises_each_batchs_rows_before_reading_them(cached, monkeypatch):
    """Exact order: batch j's rows are advised while batch j - PREFETCH_BATCHES.. j - 1 train; chunks: the next window."""
    images, rows = cached
    labels = np.arange(1000)  # a drawing's label is its row
    advised: list[np.ndarray] = []
    monkeypatch.setattr(rows, "prefetch", lambda index: advised.append(np.asarray(index)))
    batches = Batches(rows, labels, 32, shuffle=True, seed=3)
    for _ in range(2):  # and again in the next epoch's order
        advised.clear()
        for i in range(len(batches)):
            _x, y = batches[i]
            if i:  # batch 0 is read when asked; every later one was advised first, once
                assert np.array_equal(advised[i - 1], y)
            assert len(advised) == min(i + inputs.PREFETCH_BATCHES, len(batches) - 1)
        batches.on_epoch_end()
    assert len(advised) == len(batches) - 1

    advised.clear()
    chunked = Batches(rows, labels, 32, shuffle=True, seed=3, order="chunks", chunk_rows=50, buffer_chunks=4)
    _epoch(chunked)
    order = chunked._order
    assert [a.tolist() for a in advised] == [sorted(order[lo : lo + 200].tolist()) for lo in range(200, 1000, 200)]
    in_memory = Batches(images, labels, 32, shuffle=True, seed=3)
    assert all(
        np.array_equal(a, b) for a, b in zip(_epoch(in_memory), _epoch(Batches(rows, labels, 32, shuffle=True, seed=3)))
    )


def test_the_exact_order_is_numpys_permutation_held_in_half_the_memory():
    """Runs made before the int32 order resume to the same batches: the order is permutation(n)'s."""
    labels = np.arange(5000, dtype=np.int32)
    batches = Batches(np.zeros((5000, 2, 2), np.uint8), labels, 64, shuffle=True, seed=7, start_epoch=2)
    assert batches._order.dtype == np.int32
    assert np.array_equal(batches._order, np.random.default_rng([7, 2]).permutation(5000))
    batches.on_epoch_end()
    assert np.array_equal(batches._order, np.random.default_rng([7, 3]).permutation(5000))
    _x, y = batches[0]
    assert y.dtype == np.int64 and np.array_equal(y, np.sort(batches._order[:64]))
    assert batches.labels is labels, "the labels are not copied"


def test_scores_counted_block_by_block_equal_scikit_learns():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 6, 500)
    labels[labels == 4] = 3  # a class absent from the labels
    logits = rng.normal(size=(500, 24))  # TS_CNN-like: logits beyond the 6 classes
    logits[np.arange(500), labels] += 2.0
    result = scores(logits, labels, 6)
    pred = logits.argmax(axis=1)
    present = np.unique(labels)
    assert result["macro_f1"] == pytest.approx(f1_score(labels, pred, labels=present, average="macro", zero_division=0))
    assert result["accuracy"] == pytest.approx((pred == labels).mean())
    assert result["predictions_outside_classes"] == int((pred >= 6).sum()) > 0
