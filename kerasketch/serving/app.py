"""The HTTP service of ``kerasketch serve``: a FastAPI app around one loaded model.

Endpoints: ``POST /v1/predict`` (drawings as JSON, or images), ``GET /v1/model``,
``GET /v1/stats`` (requests and model calls, which shows the micro-batching),
``GET /healthz`` (the process answers), ``GET /readyz`` (the model is loaded),
``GET /`` (the drawing page), ``/docs`` and ``/openapi.json``. Every refusal is
a 4xx with ``{"error": {"code": CODE, "message": MESSAGE}}``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..inference.model import INPUT_LAYOUT, top_k
from ..inference.runtimes import Runtime, open_runtime
from .batcher import MicroBatcher
from .limits import Limits
from .payloads import FORMATS, BadRequest, Parsed, parse_images, parse_json, parse_top

#: The environment variable through which ``kerasketch serve`` hands its options to uvicorn's workers.
CONFIG_ENV = "KERASKETCH_SERVE_CONFIG"
log = logging.getLogger("kerasketch.serve")


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class BodyLimit:
    """Refuses a body past ``limit`` bytes (413), by its Content-Length or while it streams in."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            message = (
                f"the body of {length.decode(errors='replace')[:20]} bytes is over the limit of {self.limit:,} bytes"
            )
            await JSONResponse(error_body("body_too_large", message), status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BadRequest(413, "body_too_large", f"the body is over the limit of {self.limit:,} bytes")
            return message

        await self.app(scope, limited, send)


def create_app(
    load: Callable[[], Runtime],
    limits: Limits | None = None,
    *,
    max_batch: int = 32,
    max_wait_ms: float = 5.0,
    top: int = 5,
) -> ASGIApp:
    """The service for the model ``load()`` returns (called once, in a thread, as the app starts)."""
    limits = limits or Limits()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime = await run_in_threadpool(load)
        batcher = MicroBatcher(runtime.probabilities, max_batch, max_wait_ms / 1000.0)
        await batcher.start()
        state.update(runtime=runtime, batcher=batcher, sha256=await run_in_threadpool(runtime.weights_sha256))
        try:
            yield
        finally:
            await batcher.stop()

    app = FastAPI(
        title="kerasketch",
        summary="A Quick, Draw! sketch classifier: drawings or images in, likeliest classes out.",
        version="1",
        lifespan=lifespan,
    )

    @app.exception_handler(BadRequest)
    async def refused(_: Request, err: BadRequest) -> JSONResponse:
        return JSONResponse(error_body(err.code, err.message), status_code=err.status)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> JSONResponse:
        return JSONResponse(error_body(f"http_{err.status_code}", str(err.detail)), status_code=err.status_code)

    def ready() -> tuple[Runtime, MicroBatcher]:
        if "batcher" not in state:
            raise HTTPException(503, "the model is still loading")
        return state["runtime"], state["batcher"]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8"))

    @app.get("/healthz", summary="The process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The model is loaded and answering")
    async def readyz() -> JSONResponse:
        if "batcher" not in state:
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/v1/model", summary="The model served: run, recipe, classes, input, weights hash, test accuracy")
    async def model() -> dict[str, Any]:
        runtime, _ = ready()
        return {
            **runtime.info,
            "format": runtime.format,
            "file": runtime.path.name,
            "weights_sha256": state["sha256"],
            "classes": runtime.classes,
            "input": {**INPUT_LAYOUT, "shape": ["batch", 1, runtime.image_size, runtime.image_size]},
            "image_size": runtime.image_size,
            "top": top,
            "limits": limits.as_dict(),
        }

    @app.get("/v1/stats", summary="Requests, drawings and model calls so far (micro-batching joins requests)")
    async def stats() -> dict[str, Any]:
        _, batcher = ready()
        return {
            "requests": batcher.requests,
            "drawings": batcher.drawings,
            "model_calls": batcher.model_calls,
            "max_batch": batcher.max_batch,
            "max_wait_ms": batcher.max_wait * 1000.0,
        }

    @app.post(
        "/v1/predict",
        summary="The likeliest classes of one drawing or a list of them, or of uploaded images",
        openapi_extra={"requestBody": _REQUEST_BODY},
        responses={200: {"content": {"application/json": {"example": _EXAMPLE_ANSWER}}}, 413: {}, 415: {}, 422: {}},
    )
    async def predict(request: Request) -> JSONResponse:
        runtime, batcher = ready()
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if kind in ("application/json", "") or kind.endswith("+json"):
            body = await request.body()
            parsed = await run_in_threadpool(parse_json, body, runtime.image_size, limits)
        elif kind.startswith("image/"):
            body = await request.body()
            parsed = await run_in_threadpool(parse_images, [(None, body)], runtime.image_size, limits)
        elif kind == "multipart/form-data":
            parsed = await _form(request, runtime.image_size, limits)
        else:
            raise BadRequest(
                415,
                "unsupported_media_type",
                f"a body of type {kind!r} is not understood: send application/json, an image/* body, "
                "or a multipart/form-data form with image files",
            )
        probabilities = await batcher.submit(parsed.images)
        answers = top_k(probabilities, runtime.classes, parsed.top or top)
        predictions = [
            {"top": answer, **({"name": name} if name else {})} for answer, name in zip(answers, parsed.names)
        ]
        return JSONResponse({"run": runtime.info.get("run"), "format": runtime.format, "predictions": predictions})

    return BodyLimit(app, limits.max_body_bytes)


async def _form(request: Request, size: int, limits: Limits) -> Parsed:
    form = await request.form(max_files=limits.max_drawings, max_fields=16, max_part_size=limits.max_body_bytes)
    files = []
    for item in form.getlist("image"):
        if not isinstance(item, UploadFile):
            raise BadRequest(422, "no_image", 'the form field "image" must be a file')
        files.append((item.filename, await item.read()))
    parsed = await run_in_threadpool(parse_images, files, size, limits)
    top = form.get("top")
    parsed.top = parse_top(top if isinstance(top, str) else None, limits)
    return parsed


_STROKES = {
    "type": "array",
    "description": "simplified or raw: strokes [[x...], [y...]] (raw may add [t...]); stroke3: rows [dx, dy, pen_lifted]",
    "items": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
}
_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "drawing": _STROKES,
                    "drawings": {"type": "array", "items": _STROKES},
                    "format": {"type": "string", "enum": list(FORMATS), "default": "simplified"},
                    "top": {"type": "integer", "minimum": 1},
                },
            },
            "example": {"drawing": [[[10, 120, 250], [200, 10, 200]]], "format": "simplified", "top": 3},
        },
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "image": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "top": {"type": "integer"},
                },
            }
        },
    },
}
_EXAMPLE_ANSWER = {
    "run": "like_vgg_adamw-20261206-120000",
    "format": "keras",
    "predictions": [{"top": [{"class": "triangle", "probability": 0.97}, {"class": "house", "probability": 0.02}]}],
}


def use_threads(threads: int | None) -> None:
    """Torch's threads for one model call in this process (None: torch's default, one per core).

    On a small machine the event loop and request parsing need a core too: a
    model call spread over every core waits for the busiest of them.
    """
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def app_from_env() -> ASGIApp:
    """The app described by :data:`CONFIG_ENV` (what ``kerasketch serve`` starts each uvicorn worker with)."""
    config = json.loads(os.environ[CONFIG_ENV])
    use_threads(config.get("threads"))
    source = config["source"]
    return create_app(
        lambda: open_runtime(source),
        Limits(**config["limits"]),
        max_batch=config["max_batch"],
        max_wait_ms=config["max_wait_ms"],
        top=config["top"],
    )
