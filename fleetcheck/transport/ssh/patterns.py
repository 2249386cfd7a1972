"""OpenSSH host patterns (known_hosts, ssh_config Host): `*`, `?` and `!` negation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

Pattern = tuple[bool, "re.Pattern[str]"]  # (negated, compiled glob)


def compile_patterns(patterns: Iterable[str], *, fold_case: bool = True) -> tuple[Pattern, ...]:
    """OpenSSH patterns: only `*` and `?` are special; a leading `!` negates. Lower-cased
    with `fold_case` (the caller lower-cases the name too), else compared as written."""
    out = []
    for p in patterns:
        if not p:
            continue
        negated = p.startswith("!")
        body = p[1:] if negated else p
        body = body.lower() if fold_case else body
        rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in body)
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
