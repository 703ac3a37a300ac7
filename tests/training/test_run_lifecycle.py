"""A run's life: reproducible, resumable after a kill, cancellable, and clear about bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from killed_child import python_argv

from kerasketch.cli.run import main
from kerasketch.recipes.like_vgg_adamw import RECIPE
from kerasketch.runs import folders
from kerasketch.runs.eventlog import read
from kerasketch.training.callbacks import RunEvents

SMALL = ["--max-per-class", "40", "--classes", "6"]  # the synthetic set, 6 classes x 40


def _history(run: Path) -> list[str]:
    return (run / "history.csv").read_text().splitlines()


def _launch(runs_dir: Path, *extra: str, killed_at_epoch: int | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *python_argv("kerasketch.recipes.like_vgg_adamw", killed_at_epoch),
            *SMALL,
            "--epochs",
            "4",
            "--runs-dir",
            str(runs_dir),
            "--quiet",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_epoch(runs_dir: Path, epoch: int, proc: subprocess.Popen, timeout: float = 240) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for run in runs_dir.glob("*/"):
            if any(e["event"] == "epoch" and e["epoch"] >= epoch for e in read(run / "events.jsonl")):
                return run
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError(f"no epoch {epoch} within {timeout} s")


@pytest.mark.slow
@pytest.mark.backends
def test_a_killed_run_resumes_where_it_stopped_and_ends_as_if_never_killed(tmp_path, quickdraw):
    # Real drawing files: 6 classes of 40.
    data = tmp_path / "data"
    data.mkdir()
    for path in sorted((quickdraw / "bitmap").glob("*.npy"))[:6]:
        np.save(data / path.name, np.load(path, mmap_mode="r")[:40])
    on_files = ["--data", str(data)]
    # The reference: the same command, never interrupted.
    assert main(RECIPE, [*SMALL, *on_files, "--epochs", "4", "--runs-dir", str(tmp_path / "ref"), "--quiet"]) == 0
    reference = _history(next((tmp_path / "ref").iterdir()))

    proc = _launch(tmp_path / "runs", *on_files, killed_at_epoch=3)  # SIGKILL: no chance to write anything more
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    (run,) = (tmp_path / "runs").iterdir()
    assert [e["epoch"] for e in read(run / "events.jsonl") if e["event"] == "epoch"] == [1, 2]
    assert (run / "backup").is_dir() and folders.load(run).status == "interrupted"

    # Meanwhile the files were copied again or restored: the same drawings with new times. The dataset
    # cache, which goes by the files' times, is rebuilt; the run is found by its drawings' hash.
    later = time.time_ns() + 3_600 * 10**9
    for path in data.iterdir():
        os.utime(path, ns=(later, later))
    resumed = _launch(tmp_path / "runs", *on_files)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, (out + err)[-2000:] + (run / "run.log").read_text()[-3000:]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run.name], "resumed in the same folder"
    # Same batches, same weights, same optimiser state: the same numbers.
    assert _history(run) == reference
    info = folders.load(run)
    assert info.status == "finished" and info.epochs_done == 4 and not (run / "backup").exists()


@pytest.mark.slow
def test_sigterm_cancels_and_records_it(tmp_path):
    # Far more epochs than it will run, so that the run cannot end before the signal lands.
    proc = _launch(tmp_path, "--events", "-", "--epochs", "500", "--patience", "500")
    run = _wait_for_epoch(tmp_path, 1, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "cancelled" in err and "Traceback" not in err
    info = folders.load(run)
    assert info.status == "cancelled"
    streamed = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert streamed[-1]["event"] == "end" and streamed[-1]["reason"] == "cancelled"
    assert streamed[0]["event"] == "status", "events reach the stream before the run folder exists"


# A host that calls the recipe in-process, stops it with SIGTERM once an epoch has ended,
# and must outlive the stop deadline once the run has unwound.
_HOST = """
import os, signal, sys, threading, time
from pathlib import Path
from kerasketch.runs.eventlog import read
from kerasketch.recipes.like_vgg_adamw import RECIPE
from kerasketch.cli.run import main
from kerasketch.training import stop

stop.STOP_DEADLINE = 5.0  # generous: unwinding on a busy machine takes seconds
runs = Path(sys.argv[1])

def stop_after_first_epoch():
    while not any(e["event"] == "epoch" for p in runs.glob("*/events.jsonl") for e in read(p)):
        time.sleep(0.1)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=stop_after_first_epoch, daemon=True).start()
code = main(RECIPE, [*sys.argv[2:], "--epochs", "4", "--runs-dir", str(runs), "--quiet"])
time.sleep(stop.STOP_DEADLINE + 2)  # past the deadline counted from the SIGTERM
print("host alive after the run returned", code)
"""


@pytest.mark.slow
def test_a_stopped_run_leaves_no_watchdog_behind_in_its_host(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _HOST, str(tmp_path), *SMALL], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    assert "host alive after the run returned 130" in proc.stdout
    assert folders.load(next(tmp_path.iterdir())).status == "cancelled"


class _StopInADestructor:
    """Sends SIGTERM from ``__del__``: where a raising handler's exception would be "Exception ignored" and lost."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handler runs here, inside __del__


@pytest.mark.slow
def test_a_stop_that_lands_in_a_destructor_stops_the_run_without_a_traceback(tmp_path, monkeypatch):
    # Seen in CI: a SIGTERM landing in a weakref callback printed Python's "Exception ignored" traceback
    # (and, before the request was recorded, vanished, so the run trained on to its end).
    original = RunEvents.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0:
            _StopInADestructor()  # dropped at once: its __del__ runs here

    unraisable = []  # what Python would print as "Exception ignored in ..."
    monkeypatch.setattr(RunEvents, "on_epoch_end", on_epoch_end)
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(u.exc_type))
    assert main(RECIPE, [*SMALL, "--epochs", "4", "--runs-dir", str(tmp_path), "--quiet"]) == 130
    assert unraisable == []
    info = folders.load(next(tmp_path.iterdir()))
    assert info.status == "cancelled" and info.epochs_done == 1


@pytest.mark.slow
@pytest.mark.backends
def test_same_seed_same_run_other_seed_other_run(tmp_path):
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        assert (
            main(RECIPE, [*SMALL, "--epochs", "1", "--seed", seed, "--runs-dir", str(tmp_path / name), "--quiet"]) == 0
        )
    a, b, c = (_history(next((tmp_path / n).iterdir())) for n in "abc")
    assert a == b and a != c


def test_the_default_is_the_synthetic_set_and_says_so(tmp_path, capsys):
    assert main(RECIPE, [*SMALL, "--epochs", "1", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "kerasketch data download" in out and "--data" in out
    run = next(tmp_path.iterdir())
    assert json.loads((run / "config.json").read_text())["dataset"]["synthetic"] is True
    assert json.loads((run / "eval.json").read_text())["synthetic"] is True


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "/no/such/path"], "data path /no/such/path does not exist"),
        (["--classes", "300"], "asked for 300 classes"),
        (["--fraction", "0"], "--fraction must be in"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--weights", "none"], "--weights applies to the pretrained recipes"),
    ],
)
def test_bad_options_are_one_message_and_exit_2(tmp_path, argv, message):
    proc = subprocess.run(
        [sys.executable, "-m", "kerasketch.recipes.like_vgg_adamw", *argv, "--runs-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir()), "bad input leaves no run folder behind"


def test_bad_options_on_real_data(quickdraw_sample, tmp_path, capsys):
    data = str(quickdraw_sample.root / "bitmap")
    assert main(RECIPE, ["--data", data, "--classes", "300", "--runs-dir", str(tmp_path)]) == 2
    classes = quickdraw_sample.counts["bitmap"][0]
    assert f"asked for 300 classes but the data holds {classes}" in capsys.readouterr().err


@pytest.mark.backends
def test_resume_survives_a_backup_torn_by_the_kill(tmp_path):
    """A kill while the backup is written leaves the previous one, and the history is cut to it."""
    from kerasketch.training.fit import resume_point

    run = tmp_path / "run"
    backup = run / "backup"
    backup.mkdir(parents=True)
    (backup / "latest.weights.h5").write_bytes(b"torn")
    (backup / "training_metadata.json").write_text('{"epoch": 3, "batch": -1}')
    (backup / "latest.weights.h5.bkp").write_bytes(b"")
    import h5py

    with h5py.File(backup / "latest.weights.h5.bkp", "w") as f:
        f.create_dataset("w", data=[1.0])
    (backup / "training_metadata.json.bkp").write_text('{"epoch": 2, "batch": -1}')
    (run / "history.csv").write_text("epoch,val_accuracy\n0,0.5\n1,0.6\n2,0.7\n")
    assert resume_point(run) == 2
    assert (run / "history.csv").read_text() == "epoch,val_accuracy\n0,0.5\n1,0.6\n"
    with h5py.File(backup / "latest.weights.h5") as f:
        assert list(f) == ["w"]


@pytest.mark.slow
def test_jit_compile_trains_and_evaluates(tmp_path):
    from kerasketch.recipes.baseline import RECIPE as BASELINE

    assert main(BASELINE, [*SMALL, "--epochs", "2", "--jit-compile", "--runs-dir", str(tmp_path), "--quiet"]) == 0
    run = next(tmp_path.iterdir())
    assert json.loads((run / "config.json").read_text())["options"]["jit_compile"] is True
    info = folders.load(run)
    assert info.status == "finished" and info.epochs_done == 2 and info.test_accuracy is not None


def test_a_run_stopped_after_training_is_evaluated_by_the_same_command_without_training_again(tmp_path, monkeypatch):
    """Keras deletes the backup as fit ends: a stop during the evaluation leaves training's record, from which
    the same command evaluates, keeping the statistics already recomputed rather than recomputing on them."""
    from kerasketch.training import evaluate, precise_bn

    argv = [*SMALL, "--epochs", "2", "--runs-dir", str(tmp_path), "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    argv += ["--precise-bn"]
    real_evaluation = evaluate.evaluate_test_split

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # what stop.check raises once Ctrl-C or SIGTERM landed

    monkeypatch.setattr(evaluate, "evaluate_test_split", stopped)
    assert main(RECIPE, argv) == 130
    (run,) = tmp_path.glob("like_vgg_adamw-*")
    assert folders.load(run).status == "cancelled" and not (run / folders.BACKUP).exists()
    assert not (run / folders.EVAL).exists()
    record = json.loads((run / folders.TRAINED).read_text())
    assert record["reason"] == "finished" and record["precise_bn"]["drawings"] > 0
    assert "the same command evaluates it" in (run / folders.LOG).read_text()
    history, best = _history(run), (run / folders.BEST).read_bytes()

    monkeypatch.setattr(evaluate, "evaluate_test_split", real_evaluation)
    monkeypatch.setattr(precise_bn, "refresh_best", lambda *a, **k: pytest.fail("recomputed again"))
    assert main(RECIPE, argv) == 0
    assert [p.name for p in tmp_path.glob("like_vgg_adamw-*")] == [run.name], "resumed in the same folder"
    assert _history(run) == history and (run / folders.BEST).read_bytes() == best, "trained again"
    starts = [e for e in read(run / folders.EVENTS) if e["event"] == "start"]
    assert len(starts) == 1
    evaluation = json.loads((run / folders.EVAL).read_text())
    assert evaluation["precise_bn"] == record["precise_bn"] and evaluation["epochs_run"] == 2
    info = folders.load(run)
    assert info.status == "finished" and info.test_accuracy is not None
    assert "training had ended (finished after 2 epochs)" in (run / folders.LOG).read_text()
