"""JSON as fleetcheck reads it: a \\u escape of half a UTF-16 pair, alone, is no text.

json.loads lets `"\\ud800"` through as a lone surrogate, a str no encoder can write: one
such value in a host's output or an input file would stop the run where a report or a
terminal line is written. A host's text has it replaced (as undecodable bytes are);
an input file that holds one is refused, as ansible-core refuses it.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def _may_hold(text: str) -> bool:
    """Whether `text` has a \\ud escape at all (cheap: most JSON has none)."""
    return "\\ud" in text or "\\uD" in text


def first_lone_surrogate(data: Any, text: str) -> str | None:
    """The first lone surrogate in the keys and strings of `data` (parsed from `text`)."""
    if not _may_hold(text):
        return None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            hit = _SURROGATE.search(item)
            if hit:
                return hit.group()
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def escape_line(text: str, char: str) -> int | None:
    """The 1-based line of `text` where `char`'s \\u escape first stands, if it does."""
    at = text.lower().find(f"\\u{ord(char):04x}")
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def replaced(data: Any) -> Any:
    """`data` with every lone surrogate in its keys and strings made U+FFFD."""
    if isinstance(data, str):
        return _SURROGATE.sub(REPLACEMENT, data)
    if isinstance(data, dict):
        return {replaced(k): replaced(v) for k, v in data.items()}
    if isinstance(data, list):
        return [replaced(v) for v in data]
    return data


def loads_text(text: str) -> Any:
    """json.loads for what a host printed: lone surrogates made U+FFFD."""
    data = json.loads(text)
    return replaced(data) if _may_hold(text) else data
