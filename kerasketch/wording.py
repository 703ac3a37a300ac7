"""Counts in words, the same wherever the command line, the dashboard or a report says them."""

from __future__ import annotations


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """``1 class``, ``2 classes``, ``1,000 drawings``: the count and the word, agreeing."""
    return f"{n:,} {word if n == 1 else plural_form or word + 's'}"


def classes(n: int) -> str:
    return plural(n, "class", "classes")


def largest_and_smallest(largest: tuple[str, int], smallest: tuple[str, int], classes_count: int) -> str:
    """Which class is largest and which smallest, or that they are all the same size."""
    if largest[1] == smallest[1]:
        if classes_count == 1:
            return f"one class, {largest[0]!r}, of {plural(largest[1], 'drawing')}"
        return f"every class has {plural(largest[1], 'drawing')}"
    return f"largest {largest[0]!r} ({largest[1]:,}), smallest {smallest[0]!r} ({smallest[1]:,})"
