"""The sketch pad in a real terminal: tmux, with the mouse sent as the terminal's own escape sequences.

Starts ``kerasketch-tui --pad RUN_DIR`` in a detached tmux session of 100x30
on a tmux server of its own (its socket in a temporary folder, no
configuration file, killed at the end), checks that the pad laid itself out at that size, waits
for the model to load and for mouse reporting to be on, then draws a circle
the way a terminal reports a mouse in SGR mode (what Textual asks for): a
press ``ESC [<0;X;YM``, drags ``ESC [<32;X;YM`` around the circle, a release
``ESC [<0;X;Ym``, all typed into the pane with ``tmux send-keys -l``. It
prints the captured pane and the class on the first row of the top 5, and
exits 0 when that class is ``--expect`` (default circle), 1 when it is not,
2 when the pad never got that far (the pane it last showed is printed).

    python bench/pad_in_tmux.py RUN_DIR [--expect circle] [--timeout 300]

tests/tui/test_pad_pilot.py runs it on a run trained on the synthetic set.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 100, 30
SESSION = "pad"
#: The paper at 100x30: 52 x 26 cells from column 8, row 3 (1-based, as the escape sequences count).
CENTRE, RADII = (34, 16), (20, 10)
#: The first row of the top 5: a name, then a bar and a percentage, inside the side panel.
TOP_ROW = re.compile(r"││ (\S[^│]*?)\s+[█▏▎▍▌▋▊▉ ]*\s+\d+\.\d%\s*│")
#: Left out of the server's environment, which the pane inherits. COLUMNS and LINES override the pty's
#: size in Textual (shutil.get_terminal_size); GNU readline writes COLUMNS=80 LINES=24 into the
#: environment of a process without a terminal that imports it, as pytest does at start, so the pad
#: drew itself at 80x24 in the 100x30 pane and the circle missed the paper. TMUX names another server.
NOT_PASSED = ("COLUMNS", "LINES", "TMUX", "TMUX_PANE")


class Failed(Exception):
    """The pad never got as far as an answer; the message holds the pane as it last was."""


class Tmux:
    """A tmux server of our own: the user's server, its options and its environment stay out of the check."""

    def __init__(self, socket: Path):
        self.argv = ["tmux", "-S", str(socket), "-f", os.devnull]
        self.env = {k: v for k, v in os.environ.items() if k not in NOT_PASSED}

    def __call__(self, *args: str) -> str:
        return subprocess.run([*self.argv, *args], env=self.env, check=True, capture_output=True, text=True).stdout

    def pane(self, history: bool = False) -> str:
        """The screen; with ``history``, the lines scrolled off it too (a traceback can be longer)."""
        return self("capture-pane", "-p", *(["-S", "-"] if history else []), "-t", SESSION)

    def show(self, fmt: str) -> str:
        return self("display-message", "-p", "-t", SESSION, fmt).strip()

    def kill(self) -> None:
        subprocess.run([*self.argv, "kill-server"], env=self.env, capture_output=True)


def wait_for(tmux: Tmux, what: str, predicate: Callable[[str], bool], deadline: float) -> str:
    """Poll the pane until ``predicate`` holds for its text; Failed, with the pane, past ``deadline`` or a dead pane."""
    while True:
        text = tmux.pane()
        if predicate(text):
            return text
        dead = tmux.show("#{pane_dead}") == "1"
        if dead or time.monotonic() > deadline:
            state = tmux.show(
                "window #{window_width}x#{window_height}, mouse sgr #{mouse_sgr_flag} any #{mouse_any_flag}"
            )
            why = "the pad's process ended" if dead else "timed out"
            text = tmux.pane(history=True) if dead else text
            raise Failed(f"{why} waiting for {what} ({state}); the pane shows:\n{text}")
        time.sleep(0.5)


def laid_out(text: str) -> tuple[int, int]:
    """The size the pad drew itself at: the width of the paper's top border row, the rows down to the footer."""
    border = next((line for line in text.splitlines() if "╭─ draw" in line), "")
    rows = max((i + 1 for i, line in enumerate(text.splitlines()) if line.strip()), default=0)
    return len(border.rstrip()), rows


def mouse_on(tmux: Tmux) -> bool:
    """Whether the app asked for SGR reports of every motion, which the drags below are."""
    return tmux.show("#{mouse_sgr_flag}#{mouse_any_flag}") == "11"


def circle(n: int = 48) -> list[tuple[int, int]]:
    (cx, cy), (rx, ry) = CENTRE, RADII
    return [
        (round(cx + rx * math.cos(2 * math.pi * i / n)), round(cy + ry * math.sin(2 * math.pi * i / n)))
        for i in range(n + 1)
    ]


def draw(tmux: Tmux, points: list[tuple[int, int]]) -> None:
    """One stroke, as SGR mouse reports: press, drags with the left button held, release."""
    (x, y), rest = points[0], points[1:]
    keys = [f"\x1b[<0;{x};{y}M"] + [f"\x1b[<32;{x};{y}M" for x, y in rest] + [f"\x1b[<0;{rest[-1][0]};{rest[-1][1]}m"]
    for key in keys:
        tmux("send-keys", "-t", SESSION, "-l", key)


def top_class(text: str) -> str | None:
    match = TOP_ROW.search(text)
    return match.group(1).strip() if match else None


def check(run_dir: Path, expect: str, timeout: float) -> int:
    # tmux leaves its socket behind when its server ends: the folder goes with it.
    with tempfile.TemporaryDirectory(prefix="kerasketch-pad-") as folder:
        return _check(Tmux(Path(folder) / "tmux"), run_dir, expect, timeout)


def _check(tmux: Tmux, run_dir: Path, expect: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    env = f"KERAS_BACKEND={shlex.quote(os.environ.get('KERAS_BACKEND') or 'torch')} PYTHONPATH={shlex.quote(str(ROOT))}"
    command = f"{env} {shlex.quote(sys.executable)} -m kerasketch.tui --pad {shlex.quote(str(run_dir))}"
    # remain-on-exit keeps a crashed pad's traceback on screen for the message; set in the same
    # command as the session, before the pad can have ended.
    new = ["new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT), command]
    try:
        tmux(*new, ";", "set-option", "-w", "-t", SESSION, "remain-on-exit", "on")
        # The footer is the last row drawn: the frame is whole, its size can be read.
        text = wait_for(tmux, "the pad", lambda t: "╭─ draw" in t and "esc Back" in t, deadline)
        columns, rows = laid_out(text)
        if (columns, rows) != (WIDTH, HEIGHT):
            raise Failed(
                f"the pad laid itself out at {columns}x{rows} in a {tmux.show('#{pane_width}x#{pane_height}')} "
                f"pane, not {WIDTH}x{HEIGHT} (COLUMNS or LINES in its environment?); the pane shows:\n{text}"
            )
        wait_for(tmux, "the model to load", lambda t: "five likeliest" in t, deadline)
        wait_for(tmux, "mouse reporting", lambda t: mouse_on(tmux), deadline)
        draw(tmux, circle())
        text = wait_for(tmux, "the top 5", lambda t: top_class(t) is not None and "ready" in t, deadline)
        braille = sum(0x2800 < ord(ch) <= 0x28FF for ch in text)
        print(text)
        found = top_class(text)
        print(f"braille_cells={braille} top_class={found}")
        return 0 if found == expect and braille > 60 else 1
    except Failed as err:
        print(err)
        return 2
    finally:
        tmux.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--expect", default="circle")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds the whole check may take (default 300)")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed", file=sys.stderr)
        return 2
    return check(args.run_dir.resolve(), args.expect, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
