"""Whether a run's process still runs: its pid and its start time name it, whatever its command line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kerasketch.runs import events, folders
from kerasketch.runs.jsonfile import write_json_atomically
from kerasketch.runs.processes import pid_alive, process_started, this_process

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc (Linux)")


@pytest.fixture
def sleeper():
    """A live process whose command line does not say kerasketch (like a Ray worker running a trial)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_process_with_its_recorded_start_time_is_alive_whatever_its_command_line(sleeper):
    started = process_started(sleeper.pid)
    assert started is not None
    assert pid_alive(sleeper.pid, started)
    assert not pid_alive(sleeper.pid)  # without the start time it must say kerasketch


def test_a_pid_with_another_start_time_is_a_reused_pid(sleeper):
    started = process_started(sleeper.pid)
    assert started is not None
    assert not pid_alive(sleeper.pid, started - 1)


def test_an_ended_process_is_not_alive(sleeper):
    started = process_started(sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    assert process_started(sleeper.pid) is None
    assert not pid_alive(sleeper.pid, started)


def test_a_killed_unreaped_process_is_not_alive(sleeper):
    started = process_started(sleeper.pid)
    sleeper.kill()
    # Not waited for: a zombie keeps its /proc entry (and its start time) until it is reaped.
    os.waitid(os.P_PID, sleeper.pid, os.WEXITED | os.WNOWAIT)
    assert not pid_alive(sleeper.pid, started)


def test_a_run_folder_of_a_live_trial_process_reads_as_running(tmp_path, sleeper):
    run_dir = tmp_path / "trial-1"
    run_dir.mkdir()
    write_json_atomically(run_dir / folders.CONFIG, {"recipe": {"name": "baseline", "epochs": 3}})
    start = events.make(
        "start", "trial-1", run_dir=str(run_dir), pid=sleeper.pid, pid_started=process_started(sleeper.pid)
    )
    (run_dir / folders.EVENTS).write_text(events.encode(start) + "\n")
    assert folders.load(run_dir).status == events.Status.RUNNING
    sleeper.kill()
    sleeper.wait()
    assert folders.load(run_dir).status == events.Status.INTERRUPTED


def test_this_process_is_recorded_with_its_start_time():
    me = this_process()
    assert me["pid"] == os.getpid() and me["pid_started"] == process_started(os.getpid())
    assert pid_alive(me["pid"], me["pid_started"])
