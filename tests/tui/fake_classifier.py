"""A stand-in for ``kerasketch predict RUN --serve`` that answers in milliseconds, the same every time.

It speaks the real protocol (kerasketch/inference/jsonl_child.py) and renders the
drawing with the project's rasterizer, as the real child does, but its
probabilities are fixed, so that pad tests and snapshots do not depend on a
trained model or on how long Keras takes to import. Run as
``python fake_classifier.py MODE``:

``ok``        ready, then a fixed top 5 and the real model input for each drawing
``dies``      ready, then exits with status 3 at the first drawing, a message on stderr
``no-model``  the error line the real child writes for a run without best.keras
``silent``    never ready (a model still loading); ends when its input ends
"""

from __future__ import annotations

import json
import sys

CLASSES = ["circle", "moon", "sun", "spiral", "smiley", "square", "star"]
TOP = [("circle", 0.8731), ("moon", 0.0612), ("sun", 0.0388), ("spiral", 0.0154), ("smiley", 0.0069)]


def send(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main(mode: str) -> int:
    if mode == "no-model":
        send(
            {
                "event": "error",
                "error": "runs/circle-run has no best.keras",
                "hint": "use a run that trained at least one epoch",
            }
        )
        return 2
    if mode == "silent":
        sys.stdin.read()
        return 0
    from kerasketch.data.rasterize import rasterize
    from kerasketch.data.strokes import from_xy_lists, simplify_raw

    send({"event": "ready", "run": "circle-run", "classes": CLASSES, "image_size": 28, "top": 5})
    for line in sys.stdin:
        request = json.loads(line)
        if mode == "dies":
            print("RuntimeError: the fake model fell over", file=sys.stderr)
            return 3
        drawing = from_xy_lists(request["strokes"])
        if request.get("raw"):
            drawing = simplify_raw(drawing)
        image = rasterize([drawing], 28)[0]
        top = [{"class": c, "probability": p} for c, p in TOP]
        send({"id": request.get("id"), "top": top, "image": image.tolist()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
