"""Counted words as every message and report writes them."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 host', '2 hosts', '3 policies' (with `many`)."""
    return f"{n} {word if n == 1 else many or word + 's'}"
