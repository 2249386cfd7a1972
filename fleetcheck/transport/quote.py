"""Shell quoting: the one place where values become text for a remote POSIX shell."""

from __future__ import annotations

import shlex
from collections.abc import Iterable


def sh_quote(value: str) -> str:
    """Quote one value so that a POSIX shell reads it back as exactly one word."""
    return shlex.quote(value)


def sh_join(argv: Iterable[str]) -> str:
    """Join arguments into one command line in which every argument is one quoted word."""
    return " ".join(sh_quote(a) for a in argv)
