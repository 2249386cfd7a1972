"""OpenSSH host patterns (known_hosts, ssh_config Host): `*`, `?` and `!` negation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

Pattern = tuple[bool, "re.Pattern[str]"]  # (negated, compiled glob)


def compile_patterns(patterns: Iterable[str]) -> tuple[Pattern, ...]:
    """OpenSSH patterns: only `*` and `?` are special; a leading `!` negates. Case-insensitive."""
    out = []
    for p in patterns:
        if not p:
            continue
        negated = p.startswith("!")
        body = p[1:] if negated else p
        rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in body.lower())
        out.append((negated, re.compile(rx, re.DOTALL)))
    return tuple(out)


def pattern_list_matches(patterns: Sequence[Pattern], name: str) -> bool:
    """OpenSSH match_pattern_list: some positive pattern matches and no negated one does."""
    matched = False
    for negated, rx in patterns:
        if rx.fullmatch(name):
            if negated:
                return False
            matched = True
    return matched
