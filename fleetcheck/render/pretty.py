"""JSON as `json.dumps(value, indent=2, ensure_ascii=False)` writes it, several times faster.

With an indent the standard library encodes in pure Python, through a chain of generators;
the JSON and OSCAL reports of a large run are megabytes of it. This writes the same text
(a test compares them on every run shape) with one recursive function appending to a list
and the C string encoder.
"""

from __future__ import annotations

import json.encoder
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_STRING = json.encoder.encode_basestring  # the C encoder where there is one (ensure_ascii off)
_INF = float("inf")


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    """A dict key as json.dumps turns it into a string; TypeError as it raises."""
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        return _float(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


class Lazy:
    """A JSON array whose items are made only when it is written (`iterdumps`: one at a
    time, so a large document need never be whole in memory)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Iterable[Any]]) -> None:
        self.make = make


# Parts are joined into a block this often: millions of small strings would cost more
# memory than the text they make.
_BLOCK = 65536


class _Out(list[str]):
    """The parts written so far, and the blocks already joined."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] = []

    def settle(self) -> None:
        """Join the parts into a block when there are many."""
        if len(self) > _BLOCK:
            self.blocks.append("".join(self))
            self.clear()


def _write(value: Any, out: _Out, indent: str) -> None:
    if isinstance(value, str):
        out.append(_STRING(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = indent + "  "
        head = "{\n" + inner
        for k, v in value.items():
            out.append(head)
            out.append(_STRING(_key(k)))
            out.append(": ")
            _write(v, out, inner)
            head = ",\n" + inner
            out.settle()
        out.append("\n" + indent + "}")
    elif isinstance(value, list | tuple | Lazy):
        if isinstance(value, Lazy):
            value = list(value.make())
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        head = "[\n" + inner
        for v in value:
            out.append(head)
            _write(v, out, inner)
            head = ",\n" + inner
            out.settle()
        out.append("\n" + indent + "]")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`, the same text."""
    out = _Out()
    _write(value, out, "")
    return "".join([*out.blocks, "".join(out)])


def iterdumps(value: Any, depth: int = 4) -> Iterator[str]:
    """`dumps(value)` in pieces (joined, the same text): a writer never holds the whole.

    Containers down to `depth` levels are walked here, item by item; below that `_write`
    fills blocks, handed on as they are joined.
    """
    out = _Out()
    yield from _iter(value, out, "", depth)
    yield from out.blocks
    yield "".join(out)


def _iter(value: Any, out: _Out, indent: str, depth: int) -> Iterator[str]:
    if isinstance(value, Lazy):  # item by item at any depth: its items are made as written
        yield from _iter_items(((None, v) for v in value.make()), "[]", out, indent, depth)
    elif depth <= 0 or not isinstance(value, dict | list | tuple) or not value:
        _write(value, out, indent)
    elif isinstance(value, dict):
        yield from _iter_items(iter(value.items()), "{}", out, indent, depth)
    else:
        yield from _iter_items(((None, v) for v in value), "[]", out, indent, depth)


def _iter_items(items: Iterator[tuple[Any, Any]], brackets: str, out: _Out, indent: str,
                depth: int) -> Iterator[str]:
    """An object's (key, value) or an array's (None, value) items, each block as joined."""
    inner = indent + "  "
    head = brackets[0] + "\n" + inner
    for k, v in items:
        out.append(head)
        if brackets == "{}":
            out.append(_STRING(_key(k)))
            out.append(": ")
        yield from _iter(v, out, inner, depth - 1)
        head = ",\n" + inner
        out.settle()
        if out.blocks:
            yield from out.blocks
            out.blocks.clear()
    out.append(brackets if head[0] == brackets[0] else "\n" + indent + brackets[1])
