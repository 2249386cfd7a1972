"""Counted words as every message and report writes them."""

from __future__ import annotations

from collections.abc import Iterable


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 host', '2 hosts', '3 policies' (with `many`)."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice nearest to `word` (difflib's ratio 0.6 or more), None when none is near."""
    import difflib  # only a misspelling needs it: not loaded at every start

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' when a close choice exists, else ''."""
    close = closest(word, choices)
    return f" (did you mean {close!r}?)" if close else ""
