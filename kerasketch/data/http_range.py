"""A small HTTP client for ranged GETs of one URL, with retries of what the network got wrong.

It knows HTTP, not Quick, Draw!: the caller decides what a body must hold.
Three kinds of failure, as exceptions the caller words for its user:

* :class:`Transient`: connection errors, timeouts, short bodies and HTTP
  408/425/429/5xx, worth retrying (:func:`retrying` does);
* :class:`HttpStatus`: any other error status (403/404/410 mean no such file);
* :class:`BadResponse`: headers that contradict themselves or the request.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
MISSING_HTTP = frozenset({403, 404, 410})
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class Transient(Exception):
    """A failure of the network rather than of the data: worth retrying."""


class HttpStatus(Exception):
    """An error status that retrying will not change."""

    def __init__(self, code: int, reason: str):
        super().__init__(f"HTTP {code} {reason}")
        self.code = code
        self.reason = reason


class BadResponse(Exception):
    """A response whose headers contradict themselves or the request."""


class RetriesExhausted(Exception):
    """Every attempt failed transiently; ``last`` is the final failure."""

    def __init__(self, last: Transient, attempts: int):
        super().__init__(f"{last} ({attempts} attempt{'s' if attempts > 1 else ''})")
        self.last = last
        self.attempts = attempts


def retrying(action: Callable[[], T], retries: int, backoff_s: float) -> T:
    """``action()``, tried again up to ``retries`` times after a :class:`Transient`,
    waiting ``backoff_s`` before the first retry and twice as long before each next one."""
    attempts = retries + 1
    last: Transient | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        try:
            return action()
        except Transient as err:
            last = err
    assert last is not None
    raise RetriesExhausted(last, attempts)


@dataclass
class RangedClient:
    """GETs of ``url``, counting the body bytes received in ``received``."""

    url: str
    timeout: float
    user_agent: str
    received: int = 0

    def get(self, first: int | None = None, last: int | None = None) -> http.client.HTTPResponse:
        """A GET of the whole file, or of ``bytes=first-last`` (open-ended when ``last`` is None)."""
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity"}
        if first is not None:
            headers["Range"] = f"bytes={first}-{'' if last is None else last}"
        request = urllib.request.Request(self.url, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as err:
            err.close()
            if err.code in TRANSIENT_HTTP:
                raise Transient(f"HTTP {err.code} {err.reason}") from None
            raise HttpStatus(err.code, str(err.reason)) from None
        except (OSError, http.client.HTTPException) as err:  # URLError, refused, reset, timed out
            raise Transient(str(getattr(err, "reason", None) or err) or type(err).__name__) from None

    def read(self, response: http.client.HTTPResponse, size: int) -> bytes:
        try:
            data = response.read(size)
        except (OSError, http.client.HTTPException) as err:
            raise Transient(f"the connection failed while reading ({err or type(err).__name__})") from None
        self.received += len(data)
        return data


def content_range(response: http.client.HTTPResponse) -> tuple[int, int, int | None]:
    """(first, last, total or None) of a 206, checked against its Content-Length."""
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if match is None or int(match[2]) < int(match[1]):
        raise BadResponse(f"answered 206 with Content-Range {response.headers.get('Content-Range')!r}")
    first, last = int(match[1]), int(match[2])
    total = None if match[3] == "*" else int(match[3])
    length = content_length(response)
    if length is not None and length != last - first + 1:
        raise BadResponse(f"sent Content-Length {length} for the range {first}-{last}")
    return first, last, total


def content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise BadResponse(f"sent Content-Length {value!r}")
    return int(value)
