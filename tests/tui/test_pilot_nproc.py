"""Runs of several processes launched from the dashboard (issue 32 item 3).

The child the dashboard starts is then torch's elastic launcher, and rank 0, a
process of its own, writes the events to the stdout it inherited. ``x`` sends
the launcher SIGTERM, which it passes on to the ranks; ``x`` again SIGKILLs
it, which it cannot pass on, and each rank has a session of its own: the
dashboard then kills the ranks itself.
"""

from __future__ import annotations

import contextlib
import stat
import sys
import textwrap

import psutil
import pytest
from textual.widgets import Input, Static

from kerasketch.runs import eventlog, folders
from kerasketch.tui.app import KerasketchApp
from kerasketch.tui.launch import LaunchRequest
from kerasketch.tui.screens.launch_form import LaunchScreen
from kerasketch.tui.screens.run_detail import RunScreen


@pytest.mark.slow
@pytest.mark.torch_only("torch.distributed process groups")
def test_a_two_process_run_from_the_form_reports_live_and_x_cancels_every_rank(runs_dir, helpers, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)  # the children's backend: torch

    async def scenario() -> None:
        app = KerasketchApp(runs_dir=runs_dir, data="synthetic", watch_interval=0)
        async with app.run_test(size=(140, 40)) as pilot:
            app.open_launch("baseline")
            await helpers.wait_for(
                pilot, lambda: isinstance(app.screen, LaunchScreen) and bool(app.screen.query("#f-nproc")), 30, "form"
            )
            form = app.screen
            form.query_one("#f-nproc", Input).value = "2"
            form.query_one("#f-epochs", Input).value = "200"
            form.query_one("#f-patience", Input).value = "500"
            form.query_one("#f-max_per_class", Input).value = "40"
            await pilot.pause()
            await pilot.press("ctrl+s")
            await helpers.wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 30, "the run screen")
            screen = app.screen
            state = app.store.get(screen.key)
            child = app.runner.children[screen.key]
            assert child.argv[child.argv.index("--nproc") :][:2] == ["--nproc", "2"]

            # Rank 0's events reach the dashboard through the launcher's stdout.
            await helpers.wait_for(pilot, lambda: len(state.epochs) >= 1, 300, "the first epoch event")
            ranks = psutil.Process(child.process.pid).children(recursive=True)
            assert state.pid in {p.pid for p in ranks} and state.pid != child.process.pid  # rank 0 speaks
            assert state.world_size == 2
            title = screen.query_one("#run-title", Static)
            await helpers.wait_for(pilot, lambda: "2 processes (gloo)" in helpers.text_of(title), 30, "the title")

            await pilot.press("x")
            await helpers.wait_for(pilot, lambda: not state.active, 90, "the run to stop")
            assert state.status == "cancelled", (state.status, state.error, state.output_tail)
            await helpers.wait_for(pilot, lambda: child.process.poll() is not None, 60, "the launcher to exit")
            assert child.process.returncode == 130  # the launcher's own word for a stop
            last = eventlog.read(state.run_dir / folders.EVENTS)[-1]
            assert last["event"] == "end" and last["reason"] == "cancelled"
            assert folders.load(state.run_dir).status == "cancelled"
            _, left = psutil.wait_procs(ranks, timeout=30)
            assert not left, left

    helpers.run_async(scenario())


#: A stand-in for torch's launcher: a "rank" in a session of its own prints events; neither heeds SIGTERM.
LAUNCHER = textwrap.dedent('''\
    #!{python}
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    rank = """
    import json, os, signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(json.dumps({{"event": "status", "time": "2026-11-01T00:00:00Z", "run": "baseline", "message": "training",
                      "pid": os.getpid()}}), flush=True)
    while True:
        time.sleep(0.1)
    """
    subprocess.Popen([sys.executable, "-c", rank], start_new_session=True)
    while True:
        time.sleep(0.1)
''')


def test_x_twice_kills_the_ranks_the_launcher_cannot_pass_a_sigkill_to(runs_dir, tmp_path, helpers):
    fake = tmp_path / "fake-python"
    fake.write_text(LAUNCHER.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)

    async def scenario() -> None:
        app = KerasketchApp(runs_dir=runs_dir, python=str(fake), watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            state = app.launch(LaunchRequest("baseline", nproc=2))
            app.open_run(state.key)
            await helpers.wait_for(pilot, lambda: state.pid is not None, 30, "the rank to report")
            child = app.runner.children[state.key]
            launcher = psutil.Process(child.process.pid)
            (rank,) = launcher.children(recursive=True)
            try:
                assert rank.pid == state.pid
                await pilot.press("x")  # SIGTERM: heeded by neither here
                await pilot.press("x")  # SIGKILL: the launcher, and the rank it cannot pass it on to
                await helpers.wait_for(pilot, lambda: not state.active, 30, "the run to end")
                assert state.status == "killed"
                _, left = psutil.wait_procs([rank], timeout=10)
                assert not left, "the rank was left running"
            finally:
                for process in (rank, launcher):  # whatever the outcome, nothing of this test stays
                    with contextlib.suppress(psutil.Error):
                        process.kill()

    helpers.run_async(scenario())
