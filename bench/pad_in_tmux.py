"""The sketch pad in a real terminal: tmux, with the mouse sent as the terminal's own escape sequences.

Starts ``kerasketch-tui --pad RUN_DIR`` in a detached tmux session of 100x30,
waits for the model to load, then draws a circle the way a terminal reports a
mouse in SGR mode (what Textual asks for): a press ``ESC [<0;X;YM``, drags
``ESC [<32;X;YM`` around the circle, a release ``ESC [<0;X;Ym``, all typed
into the pane with ``tmux send-keys -l``. It prints the captured pane and
the class on the first row of the top 5, and exits 0 when that class is
``--expect`` (default circle), 1 when it is not, 2 when the pad never got
that far.

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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 100, 30
#: The paper at 100x30: 52 x 26 cells from column 8, row 3 (1-based, as the escape sequences count).
CENTRE, RADII = (34, 16), (20, 10)
#: The first row of the top 5: a name, then a bar and a percentage, inside the side panel.
TOP_ROW = re.compile(r"││ (\S[^│]*?)\s+[█▏▎▍▌▋▊▉ ]*\s+\d+\.\d%\s*│")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def pane(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, what: str, predicate, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = pane(session)
        if predicate(text):
            return text
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}; the pane shows:\n{text}")
        time.sleep(0.5)


def circle(n: int = 48) -> list[tuple[int, int]]:
    (cx, cy), (rx, ry) = CENTRE, RADII
    return [
        (round(cx + rx * math.cos(2 * math.pi * i / n)), round(cy + ry * math.sin(2 * math.pi * i / n)))
        for i in range(n + 1)
    ]


def draw(session: str, points: list[tuple[int, int]]) -> None:
    """One stroke, as SGR mouse reports: press, drags with the left button held, release."""
    (x, y), rest = points[0], points[1:]
    keys = [f"\x1b[<0;{x};{y}M"] + [f"\x1b[<32;{x};{y}M" for x, y in rest] + [f"\x1b[<0;{rest[-1][0]};{rest[-1][1]}m"]
    for key in keys:
        tmux("send-keys", "-t", session, "-l", key)


def top_class(text: str) -> str | None:
    match = TOP_ROW.search(text)
    return match.group(1).strip() if match else None


def check(run_dir: Path, expect: str, timeout: float, session: str) -> int:
    env = f"KERAS_BACKEND={shlex.quote(os.environ.get('KERAS_BACKEND') or 'torch')} PYTHONPATH={shlex.quote(str(ROOT))}"
    command = f"{env} {shlex.quote(sys.executable)} -m kerasketch.tui --pad {shlex.quote(str(run_dir))}"
    tmux("new-session", "-d", "-s", session, "-x", str(WIDTH), "-y", str(HEIGHT), command)
    # A tmux server started elsewhere may size a detached session by its default-size (80x24): insist.
    tmux("set-option", "-t", session, "window-size", "manual")
    tmux("resize-window", "-t", session, "-x", str(WIDTH), "-y", str(HEIGHT))
    try:
        wait_for(session, "the model to load", lambda t: "five likeliest" in t, timeout)
        draw(session, circle())
        text = wait_for(session, "the top 5", lambda t: top_class(t) is not None and "ready" in t, timeout)
        braille = sum(0x2800 < ord(ch) <= 0x28FF for ch in text)
        print(text)
        found = top_class(text)
        print(f"braille_cells={braille} top_class={found}")
        return 0 if found == expect and braille > 60 else 1
    except TimeoutError as err:
        print(err)
        return 2
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--expect", default="circle")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--session", default=f"kerasketch-pad-{os.getpid()}")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed", file=sys.stderr)
        return 2
    return check(args.run_dir.resolve(), args.expect, args.timeout, args.session)


if __name__ == "__main__":
    sys.exit(main())
