"""Host entries as inventories write them: `host:port`, `[v6]:port` and `[a:b:step]` ranges.

The grammar follows ansible-core's address parser: a port is split off, the rest
must read as an IPv4 address, an IPv6 address or a host name (each may hold
ranges); an entry that reads as none of them is kept whole as a host name.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Sequence
from functools import cache

from fleetcheck.bounded import MAX_HOSTS

_NUM_RANGE = r"\[[0-9]+:[0-9]+(?::[0-9]+)?\]"
_HEX_RANGE = r"\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\]"
_ALNUM_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"

_V4_PART = rf"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{_NUM_RANGE})"
_V6_PART = rf"(?:[0-9a-f]{{1,4}}|{_HEX_RANGE})"
_DOTTED = rf"(?:{_V6_PART}\.){{3}}{_V6_PART}"

_IPV4 = re.compile(rf"^(?:{_V4_PART}\.){{3}}{_V4_PART}$", re.I)
_V6_FORMS = [
    rf"(?:{_V6_PART}:){{7}}{_V6_PART}",  # eight groups
    rf"(?:{_V6_PART}:){{1,6}}:",  # trailing ::
    *(rf"(?:{_V6_PART}:){{{k}}}(?::{_V6_PART}){{1,{7 - k}}}" for k in range(1, 7)),  # a::b
    rf":(?::{_V6_PART}){{1,6}}",  # leading ::
    rf"{_V6_PART}?::",  # '::' or 'x::'
    rf"(?:0:){{6}}{_DOTTED}",  # IPv4 embedded
    rf"::(?:ffff:)?{_DOTTED}",
    rf"(?:0:){{5}}ffff:{_DOTTED}",
]


@cache
def _ipv6() -> re.Pattern[str]:
    """The IPv6 address pattern, compiled when first needed: it is the costliest of these
    (some milliseconds of every start) and names without a ':' never need it."""
    return re.compile("^(?:" + "|".join(_V6_FORMS) + ")$", re.I)


_LABEL = rf"(?:\w|{_ALNUM_RANGE})(?:[\w-]|{_ALNUM_RANGE})*(?<![_-])"


@cache
def _hostname() -> re.Pattern[str]:
    """The host name pattern, compiled when first needed (an inventory of addresses never
    needs it)."""
    return re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.I | re.UNICODE)


_BRACKETED_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_TRAILING_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")


class RangeError(ValueError):
    """A `[begin:end:step]` range that cannot be expanded."""


def parse_address(text: str, *, allow_ranges: bool) -> tuple[str, int | None]:
    """(host, port) of `text`; ValueError when it is not an address or host name."""
    port: int | None = None
    m = _BRACKETED_PORT.match(text)
    if m:
        text, port = m.group(1), int(m.group(2))
    m = _TRAILING_PORT.match(text)
    if m:
        text, port = m.group(1), int(m.group(2))
    # Every IPv6 form holds a ':' (the port is off by now).
    if not (_IPV4.match(text) or (":" in text and _ipv6().match(text))
            or _hostname().match(text)):
        raise ValueError(f"not a host name or address: {text}")
    if not allow_ranges and "[" in text:
        raise ValueError(f"ranges are not allowed here: {text}")
    return text, port


def split_entry(entry: str) -> tuple[str, int | None]:
    """(pattern, port) of an inventory host entry; unparseable entries are kept whole."""
    try:
        return parse_address(entry, allow_ranges=True)
    except ValueError:
        return entry, None


def expand(pattern: str) -> list[str]:
    """Every host name a pattern with `[begin:end(:step)]` ranges stands for, in order.

    A range that yields nothing (`web[5:1]`) gives [] as in Ansible (callers warn); one
    yielding more than MAX_HOSTS names is a RangeError before any name is made.
    """
    count = _count(pattern)
    if count > MAX_HOSTS:
        raise RangeError(f"host range {pattern!r} yields {count:,} hosts, more than the limit "
                         f"of {MAX_HOSTS:,}")
    return _expand(pattern)


def _split(pattern: str) -> tuple[str, str, str, Sequence[str | int], int]:
    """(head, tail, range text, the range's items, zero-padding width) of the first range."""
    # The first '[' and the first ']' delimit the range (ansible-core's reading, kept as is).
    parts = pattern.replace("[", "|", 1).replace("]", "|", 1).split("|")
    if len(parts) != 3:
        raise RangeError(f"unbalanced brackets in host range {pattern!r}")
    head, body, tail = parts
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise RangeError(f"host range {pattern!r} must be [begin:end] or [begin:end:step]")
    begin, end = bounds[0] or "0", bounds[1]
    step = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise RangeError(f"host range {pattern!r} has no end")
    width = 0
    if begin[0] == "0" and len(begin) > 1:
        if len(begin) != len(end):
            raise RangeError(f"host range {pattern!r}: zero-padded begin and end must have "
                             "the same width")
        width = len(begin)
    return head, tail, body, _range_items(pattern, begin, end, step), width


def _count(pattern: str) -> int:
    """How many names a pattern expands to, without making them (the first range times the rest)."""
    total = 1
    while "[" in pattern:
        _head, tail, _body, items, _width = _split(pattern)
        total *= len(items)
        if not total:
            return 0
        pattern = tail
    return total


def _expand(pattern: str) -> list[str]:
    """The names of a pattern already counted."""
    if "[" not in pattern:
        return [pattern]
    head, tail, _body, items, width = _split(pattern)
    out: list[str] = []
    for item in items:
        name = f"{head}{str(item).zfill(width) if width else item}{tail}"
        out.extend(_expand(name) if "[" in name else (name,))
    return out


def _range_items(pattern: str, begin: str, end: str, step: str) -> Sequence[str | int]:
    """The values a range's bounds and step stand for (a lazy range for numbers)."""
    try:
        stride = int(step)
    except ValueError:
        stride = 0
    if stride == 0:
        raise RangeError(f"host range {pattern!r}: the step must be a non-zero whole number")
    letters = string.ascii_letters
    try:
        first, last = letters.index(begin), letters.index(end)
        if first > last:
            raise RangeError(f"host range {pattern!r}: begin must not be after end")
        return list(letters[first:last + 1:stride])
    except RangeError:
        raise
    except ValueError:
        pass
    try:
        return range(int(begin), int(end) + 1, stride)
    except ValueError:
        raise RangeError(f"host range {pattern!r} must run between two numbers or two "
                         "letters") from None


def is_host_list(source: str) -> bool:
    """True for an `-i` source that is a `host1,host2,` list, not a path (as ansible-core
    tells them: a comma, and no such file)."""
    return "," in source and not os.path.exists(source)
