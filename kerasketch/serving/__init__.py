"""``kerasketch serve``: a trained model behind HTTP (FastAPI on uvicorn), with a drawing page.

Not to be confused with ``kerasketch predict RUN --serve``, the JSON-lines
child process the dashboard's sketch pad talks to (:mod:`kerasketch.inference.jsonl_child`).

``limits.py``   what one request may hold (each a ``serve`` option)
``payloads.py`` request bodies (strokes in three formats, images) to model inputs, or a 4xx naming the problem
``batcher.py``  micro-batching: concurrent requests share one model call
``app.py``      the FastAPI app: /v1/predict, /v1/model, /v1/stats, /healthz, /readyz, / and /docs
``page.html``   the drawing page served at ``/``
``server.py``   uvicorn, with one or several worker processes
"""
