"""A long-lived classifier that answers JSON lines: ``kerasketch predict RUN --serve`` (not the HTTP ``kerasketch serve``).

The dashboard never imports Keras or torch, so its sketch pad classifies
through this child process, which loads the run's model once.

Protocol (UTF-8, one JSON object per line each way; stdout carries nothing else):

1. On start the child loads the model and writes
   ``{"event": "ready", "run": NAME, "classes": [...], "image_size": S, "top": K}``,
   or, if the run cannot be used, ``{"event": "error", "error": MESSAGE, "hint": HINT}``
   and exits with status 2.
2. Each request is a line ``{"id": ANY, "strokes": [[[x0, x1, ...], [y0, y1, ...]], ...], "top": K}``:
   a drawing as simplified strokes (coordinates 0-255, aligned to the
   top-left, as the simplified ndjson files hold them). With ``"raw": true``
   the strokes are in any coordinates (a pad's pixels) and are normalised
   the way the dataset normalised raw drawings first. ``id`` (echoed back)
   and ``top`` (default: the ``--top`` the child was started with) are optional.
3. Each answer is one line:
   ``{"id": ANY, "top": [{"class": NAME, "probability": P}, ...],
   "image": [[v, ...], ...]}`` where ``image`` is the exact model input,
   S rows of S grey levels 0-255 (strokes bright on black), for a preview.
   A request that cannot be classified gets ``{"id": ANY, "error": MESSAGE}``
   and the child goes on.
4. End of input (the parent closes stdin) ends the child with status 0.
"""

from __future__ import annotations

import json
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import IO, Any

from ..errors import KerasketchError
from .model import TrainedModel, load_trained, top_k

#: The most points one request may carry: a pad drawing has hundreds, this is abuse.
MAX_POINTS = 100_000


def answer(trained: TrainedModel, request: Any, default_top: int) -> dict[str, Any]:
    """The reply to one decoded request line."""
    if not isinstance(request, dict):
        return {"id": None, "error": "a request is a JSON object with 'strokes'"}
    rid = request.get("id")
    try:
        image = _render(request, trained.image_size)
        k = request.get("top", default_top)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"'top' must be a whole number from 1, got {k!r}")
    except (ValueError, TypeError) as err:
        return {"id": rid, "error": str(err)}
    top = top_k(trained.probabilities(image[None]), trained.classes, k)[0]
    return {"id": rid, "top": top, "image": image.tolist()}


def _render(request: dict[str, Any], size: int):
    from ..data.rasterize import rasterize
    from ..data.strokes import from_xy_lists, simplify_raw

    strokes = request.get("strokes")
    if not isinstance(strokes, list):
        raise ValueError("'strokes' must be a list of [[x...], [y...]] strokes")
    if sum(len(s[0]) for s in strokes if isinstance(s, list) and s and isinstance(s[0], list)) > MAX_POINTS:
        raise ValueError(f"a drawing of more than {MAX_POINTS:,} points is not a sketch")
    drawing = from_xy_lists(strokes)  # ValueError for an empty or malformed drawing
    if request.get("raw"):
        drawing = simplify_raw(drawing)
    return rasterize([drawing], size)[0]


def serve(run: str | Path, default_top: int = 3, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Answer requests from ``stdin`` until it ends (see the module docstring)."""
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout

    def send(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj, separators=(",", ":")) + "\n")
        out.flush()

    # Anything a library prints must not reach the protocol's stream.
    with redirect_stdout(sys.stderr):
        try:
            trained = load_trained(run)
        except KerasketchError as err:
            send({"event": "error", "error": err.message, "hint": err.hint})
            return err.exit_code
        send(
            {
                "event": "ready",
                "run": trained.run_dir.name,
                "classes": trained.classes,
                "image_size": trained.image_size,
                "top": default_top,
            }
        )
        for line in stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except ValueError as err:
                send({"id": None, "error": f"not a JSON line: {err}"})
                continue
            send(answer(trained, request, default_top))
    return 0
