"""Each epoch's system figures: measured for real, checked when read, absent from old folders without harm."""

from __future__ import annotations

import sys

import pytest

from kerasketch.cli import main
from kerasketch.runs import events
from kerasketch.training.system_metrics import SystemSampler


def test_the_sampler_measures_this_process():
    sampler = SystemSampler()
    sampler.begin()
    total = sum(i * i for i in range(2_000_000))  # some CPU time to measure
    figures = sampler.end(images=640, seconds=0.5)
    assert total > 0
    assert figures["images_per_second"] == 1280.0
    assert figures["cpu_percent"] > 0
    assert figures["rss_bytes"] > 10 * 2**20
    assert set(figures) <= set(events.SYSTEM_KEYS)


def test_epoch_events_with_and_without_system_figures_read_and_bad_ones_are_named():
    old = {"event": "epoch", "run": "r", "epoch": 1, "metrics": {"loss": 1.0}}
    assert events.parse(old).system is None
    new = {**old, "system": {"images_per_second": 50.0, "rss_bytes": 2**30}}
    assert events.parse(new).system == {"images_per_second": 50.0, "rss_bytes": 2**30}
    with pytest.raises(events.EventError, match=r"system\.cpu_percent"):
        events.parse({**old, "system": {"cpu_percent": "busy"}})
    made = events.make("epoch", "r", epoch=2, metrics={}, system={"cpu_percent": 99.5})
    assert made["system"] == {"cpu_percent": 99.5}


def test_export_names_a_missing_package_and_a_missing_folder_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # what Python reports for a module not installed
    assert main(["runs", "export", str(tmp_path), "--to", "tensorboard"]) == 2
    err = capsys.readouterr().err
    assert "tensorboardX" in err and 'pip install "kerasketch[track]"' in err and "Traceback" not in err
    monkeypatch.delitem(sys.modules, "tensorboardX")
    assert main(["runs", "export", str(tmp_path / "nope"), "--to", "tensorboard"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "1 of 1 runs not exported" in err
