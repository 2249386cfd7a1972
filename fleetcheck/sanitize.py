"""The one sanitiser for text from hosts and inventories before it reaches a terminal.

A host (a process name, sudo's or a tool's stderr, an SSH banner, an error) or an
inventory (a host name) may carry bytes a terminal acts on: escape sequences that
recolour, clear or rewrite the screen, set the clipboard (OSC 52) or plant links
(OSC 8), a carriage return or backspace that overwrites what was printed, C1 controls
(single-byte CSI/OSC), and bidi controls that reorder what a reader sees. Every
such character is shown as a visible escape (`\\x1b`, `\\u202e`) instead.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# C0 controls but tab and newline, DEL, C1 controls; the bidi marks, embeddings,
# overrides and isolates; the Unicode line and paragraph separators.
_CONTROLS = ("\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
             "\u202a-\u202e\u2066-\u2069")
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_LINE = re.compile(f"[{_CONTROLS}\n]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control shown as an escape ('\\x1b'), tabs as spaces; newlines kept."""
    if "\t" in text:
        text = text.replace("\t", "    ")
    return _UNSAFE.sub(_escape, text)


def one_line(text: str) -> str:
    """`printable`, and newlines escaped too: remote text cannot start a line of its own."""
    if "\t" in text:
        text = text.replace("\t", "    ")
    return _UNSAFE_LINE.sub(_escape, text)


def map_strings(value: T, fn: Callable[[str], str]) -> T:
    """A copy of `value` (strings, tuples, lists, dicts, dataclasses, nested) with `fn` applied
    to every string in it; enum members stay themselves."""
    out: Any
    if isinstance(value, enum.Enum):
        out = value
    elif isinstance(value, str):
        out = fn(value)
    elif isinstance(value, tuple | list):
        out = type(value)(map_strings(v, fn) for v in value)
    elif isinstance(value, dict):
        out = {map_strings(k, fn): map_strings(v, fn) for k, v in value.items()}
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: map_strings(getattr(value, f.name), fn)
                   for f in dataclasses.fields(value) if f.init}
        out = dataclasses.replace(value, **changes)
    else:
        out = value
    return out  # type: ignore[no-any-return]


def scrub(value: T) -> T:
    """A copy of `value` (a run, or any part of one) with every string made `printable`."""
    return map_strings(value, lambda s: printable(s) if _UNSAFE.search(s) or "\t" in s else s)


def for_terminal(text: str, is_terminal: bool) -> str:
    """A data format (JSON, CSV, XML, a host list) as written: byte-exact to files and pipes,
    `printable` on a terminal."""
    return printable(text) if is_terminal else text
