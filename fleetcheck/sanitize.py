"""The one sanitiser for text from hosts and inventories before it reaches a terminal.

A host (a process name, sudo's or a tool's stderr, an SSH banner, an error) or an
inventory (a host name) may carry bytes a terminal acts on: escape sequences that
recolour, clear or rewrite the screen, set the clipboard (OSC 52) or plant links
(OSC 8), a carriage return or backspace that overwrites what was printed, C1 controls
(single-byte CSI/OSC), bidi controls that reorder what a reader sees, and zero-width
characters that hide in a name. Every such character is shown as a visible escape
(`\\x1b`, `\\u202e`, `\\u200b`) instead.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from fleetcheck.frozen import replace

T = TypeVar("T")

# C0 controls but tab and newline, DEL, C1 controls; the bidi marks, embeddings,
# overrides and isolates; the Unicode line and paragraph separators; the zero-width and
# invisible characters (space, joiners, word joiner, invisible operators, BOM) that make
# two names look alike ('web1' and 'web\u200b1').
_CONTROLS = ("\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029"
             "\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff")
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_LINE = re.compile(f"[{_CONTROLS}\n]")
_UNSAFE_OR_TAB = re.compile(f"[{_CONTROLS}\t]")
# The ASCII characters `printable` keeps as they are: newline and the printable ones.
_SAFE_ASCII = bytes(b for b in range(0x80) if b == 0x0A or 0x20 <= b < 0x7F)


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


# Per dataclass type, the function for the strings inside its instances.
_Fns = Mapping[type, Callable[[str], str]]
_NO_TYPES: _Fns = {}


def map_strings(value: T, fn: Callable[[str], str], by_type: _Fns | None = None) -> T:
    """`value` (strings, tuples, lists, dicts, dataclasses, nested) with `fn` applied to every
    string in it, but `by_type[K]` to the strings inside a dataclass of type K; enum members
    stay themselves. What `fn` leaves unchanged is shared, not copied (a clean run scrubbed
    for a terminal is the run itself): nothing may mutate it."""
    return cast(T, _map(value, fn, by_type or _NO_TYPES))


def _map(value: Any, fn: Callable[[str], str], by_type: _Fns) -> Any:
    kind = type(value)
    if kind is str:
        return fn(value)
    if kind in _ATOMS:
        return value
    fields = _FIELDS.get(kind)
    if fields is not None:
        if kind in by_type:
            return _map_fields(value, fields, by_type[kind], _NO_TYPES)
        return _map_fields(value, fields, fn, by_type)
    if kind is tuple or kind is list:
        return _map_items(value, kind, fn, by_type)
    if kind is dict:
        pairs = [(_map(k, fn, by_type), _map(v, fn, by_type)) for k, v in value.items()]
        changed = any(k is not k0 or v is not v0
                      for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True))
        return dict(pairs) if changed else value
    if isinstance(value, enum.Enum):
        _ATOMS.add(kind)  # members stay themselves: the next one is known at first sight
        return value
    if isinstance(value, str | tuple | list | dict):  # a subclass: rebuilt with its type
        return _map_subclass(value, fn, by_type)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        _init_fields(kind)
        return _map(value, fn, by_type)
    return value


def _map_items(value: Any, kind: type, fn: Callable[[str], str], by_type: _Fns) -> Any:
    """`_map` of a tuple or list: the value itself until an item changes (the common case
    builds nothing)."""
    for n, old in enumerate(value):
        new = fn(old) if type(old) is str else old if type(old) in _ATOMS else \
            _map(old, fn, by_type)
        if new is not old:
            return kind([*value[:n], new, *(_map(v, fn, by_type) for v in value[n + 1:])])
    return value


def _map_fields(value: Any, fields: tuple[str, ...], fn: Callable[[str], str],
                by_type: _Fns) -> Any:
    """`_map` of a dataclass: the value itself unless a field changes, else a replaced copy."""
    changes = {}
    for name in fields:
        old = getattr(value, name)
        kind = type(old)
        if kind is str:
            new = fn(old)
        elif kind in _ATOMS:
            continue
        else:
            new = _map(old, fn, by_type)
        if new is not old:
            changes[name] = new
    return replace(value, **changes) if changes else value


# Types whose values hold no string; enum types join as they are met.
_ATOMS: set[type] = {int, float, bool, type(None), bytes}


_FIELDS: dict[type, tuple[str, ...]] = {}


def _init_fields(kind: type) -> tuple[str, ...]:
    """The names of a dataclass's fields that `__init__` takes (what `replace` may set)."""
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind) if f.init)
    return found


def _map_subclass(value: Any, fn: Callable[[str], str], by_type: _Fns) -> Any:
    """`_map` for a subclass of str, tuple (a namedtuple too), list or dict (rebuilt with its
    type)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return type(value)({_map(k, fn, by_type): _map(v, fn, by_type)
                            for k, v in value.items()})
    items = (_map(v, fn, by_type) for v in value)
    return value._make(items) if hasattr(value, "_make") else type(value)(items)  # namedtuple


def scrub(value: T) -> T:
    """A copy of `value` (a run, or any part of one) with every string made `printable`."""
    return map_strings(value, _printable_if_needed)


def scrub_lines(value: T, lines_of: type | None = None) -> T:
    """`scrub`, but every string made `one_line` except those inside a `lines_of` (a tool's
    output, whose lines are its own): a name, a message or a note holding a line end starts
    no line of a report."""
    return map_strings(value, _one_line_if_needed,
                       {lines_of: _printable_if_needed} if lines_of else None)


def _printable_if_needed(text: str) -> str:
    """`printable(text)`, or `text` itself when it has nothing to escape."""
    # Most text is ASCII with nothing to escape: deleting its safe bytes in one C loop
    # tells so several times faster than the regex (a run's probe outputs are megabytes).
    if text.isascii() and not text.encode("ascii").translate(None, _SAFE_ASCII):
        return text
    return printable(text) if _UNSAFE_OR_TAB.search(text) else text


_SURROGATE = re.compile("[\ud800-\udfff]")


def writable(value: T) -> T:
    """`value` (as `map_strings` takes) with every lone surrogate made U+FFFD: what Python
    decodes an argument's or a file name's undecodable bytes to, which no UTF-8 writer can
    write, shown as a UTF-8 decoder shows such bytes."""
    return map_strings(value, _writable_text)


def _writable_text(text: str) -> str:
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub("\ufffd", text)


_SAFE_ASCII_LINE = _SAFE_ASCII.replace(b"\n", b"")
_UNSAFE_LINE_OR_TAB = re.compile(f"[{_CONTROLS}\n\t]")


def _one_line_if_needed(text: str) -> str:
    """`one_line(text)`, or `text` itself when it has nothing to escape."""
    if text.isascii() and not text.encode("ascii").translate(None, _SAFE_ASCII_LINE):
        return text
    return one_line(text) if _UNSAFE_LINE_OR_TAB.search(text) else text
