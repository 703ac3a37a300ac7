"""The 345 official Quick, Draw! class names, as shipped in ``categories.txt``.

Names are case-sensitive and some contain spaces (``The Mona Lisa``); they are
exactly the file names used by the public bucket, minus the extension.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def _names() -> tuple[str, ...]:
    text = resources.files("kerasketch.data").joinpath("categories.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def official_classes() -> list[str]:
    """The official class names in the shipped file's order.

    A fresh list each call, so a caller may edit it without changing the next.
    """
    return list(_names())
