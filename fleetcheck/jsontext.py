"""JSON as fleetcheck reads it: a \\u escape of half a UTF-16 pair, alone, is no text.

json.loads lets `"\\ud800"` through as a lone surrogate, a str no encoder can write: one
such value in a host's output or an input file would stop the run where a report or a
terminal line is written. A host's text has it replaced (as undecodable bytes are);
an input file that holds one is refused, as ansible-core refuses it; an INI value's
(from a Python escape or a bytes literal) shows as '?', as Ansible shows it.
"""

from __future__ import annotations

import json
import re
from typing import Any

SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class LoneSurrogate(ValueError):
    """Text holding half a UTF-16 pair with no other half: its escape, and its line."""

    def __init__(self, escape: str, line: int | None) -> None:
        super().__init__(f"{escape} is half of a UTF-16 pair with no other half")
        self.line = line


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
            hit = SURROGATE.search(item)
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


def checked(data: Any, text: str) -> Any:
    """`data` (parsed from JSON `text`) when none of its text holds a lone surrogate;
    LoneSurrogate naming the first one otherwise."""
    found = first_lone_surrogate(data, text)
    if found is None:
        return data
    raise LoneSurrogate(f"\\u{ord(found):04x}", escape_line(text, found))


def replaced(data: Any, by: str = REPLACEMENT) -> Any:
    """`data` with every lone surrogate in its keys and strings made `by` (a str subclass,
    such as untrusted text, keeps its kind)."""
    if isinstance(data, str):
        out = SURROGATE.sub(by, data)
        return data if out == data else type(data)(out)
    if isinstance(data, dict):
        return {replaced(k, by): replaced(v, by) for k, v in data.items()}
    if isinstance(data, list):
        return [replaced(v, by) for v in data]
    return data


def loads_text(text: str) -> Any:
    """json.loads for what a host printed: lone surrogates made U+FFFD; a number too long
    for int() a JSONDecodeError like any other text that is not JSON."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # json passes int()'s refusal of 4,300+ digits through as it is
        raise json.JSONDecodeError("a number too long to read", text, 0) from None
    return replaced(data) if _may_hold(text) else data
