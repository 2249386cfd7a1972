"""JSON as `json.dumps(value, indent=2, ensure_ascii=False)` writes it, several times faster;
or with each record on one line (`rows=True`, the run report).

With an indent the standard library encodes in pure Python, through a chain of generators;
the JSON and OSCAL reports of a large run are megabytes of it. This writes the same text
(a test compares them on every run shape) with one recursive function appending to a list
and the C string encoder.

With `rows`, the structure stays indented but a *row* is written on one line, as
`json.dumps(row, ensure_ascii=False)` writes it (`, ` and `: ` between its parts): a
non-empty array or object holding no array or object (e.g. a host's `groups`, the summary's
`by_severity`), and an object that is an item of an array and holds no array, at any depth,
that is empty or has an object in it (each listener, finding, command record, waiver,
changes row). An object holding such an array (a host, even one without listeners; a policy
definition) stays indented, and so does an array made as it is written (`Lazy`), which may
hold anything.
"""

from __future__ import annotations

import json.encoder
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_STRING = json.encoder.encode_basestring  # the C encoder where there is one (ensure_ascii off)


def _refuse(value: Any) -> Any:
    """What the encoder calls for a value JSON has no form for: TypeError, as json raises."""
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# A row on one line: the standard library's C encoder (it runs only without an indent),
# made once rather than on every call as `json.dumps` does; its Python one where it has none.
_C_ROW: Any = getattr(json.encoder, "c_make_encoder", None)
_ROW_PARTS: Any = (None if _C_ROW is None else
                   _C_ROW(None, _refuse, _STRING, None, ": ", ", ", False, False, True))
_PY_ROW = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def _row(value: Any) -> str:
    """`value` (a list, tuple or dict) on one line, as `json.dumps` writes it."""
    return "".join(_ROW_PARTS(value, 0)) if _ROW_PARTS is not None else _PY_ROW(value)


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


class Row:
    """An object already written on one line, as `json.dumps` writes it: an item of an array
    written with `rows` (elsewhere it is refused, as json refuses what it cannot write).
    For a document of thousands of small records, making each text directly is cheaper."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Block:
    """An object already written whole, as `dumps(item, rows=True)` writes it at no indent
    (on several lines: its arrays of records stay indented): an item of an array written
    with `rows`, whose lines the writer indents to where it stands. For the OSCAL document's
    thousands of observations, writing each as one text is cheaper than walking it."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


string = _STRING  # a str as JSON text


# Parts are joined into a block this often: millions of small strings would cost more
# memory than the text they make. Rows are large parts: they count by their length too, so
# a block (what a streamed writer holds before handing it on) stays about this many
# characters.
_BLOCK = 65536


class _Out(list[str]):
    """The parts written so far, and the blocks already joined."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] = []
        self.rows = 0  # characters of the rows among the parts

    def row(self, text: str) -> None:
        """Add a row's text."""
        self.append(text)
        self.rows += len(text)

    def settle(self) -> None:
        """Join the parts into a block when there are many."""
        if len(self) > _BLOCK or self.rows > _BLOCK:
            self.blocks.append("".join(self))
            self.clear()
            self.rows = 0


_CONTAINERS = (dict, list, tuple, Lazy, Row, Block)
_SCALARS = frozenset((str, int, float, bool, type(None)))  # most values: no isinstance needed
_ARRAYS = frozenset((list, tuple))


def _holds_records(value: Any) -> bool:
    """True when an array in `value` (a container, itself included) holds an object, may
    (`Lazy`) or is empty (where records would be: a host without listeners is a host)."""
    if type(value) in _ARRAYS and _SCALARS.issuperset(map(type, value)):  # decided in C
        return not value
    if isinstance(value, dict):
        return any(type(v) not in _SCALARS and isinstance(v, _CONTAINERS) and _holds_records(v)
                   for v in value.values())
    if isinstance(value, Row):
        return False
    if isinstance(value, Lazy | Block) or not value:
        return True
    return any(isinstance(v, dict | Row | Block)
               or (isinstance(v, _CONTAINERS) and _holds_records(v)) for v in value)


def _is_row(value: Any, item: bool) -> bool:
    """True when a non-empty list, tuple or dict is written on one line (the module's rule);
    `item`: it is an item of an array."""
    values = value.values() if isinstance(value, dict) else value
    if _SCALARS.issuperset(map(type, values)):  # the common case, decided in C
        return True
    for v in values:
        if type(v) not in _SCALARS and isinstance(v, _CONTAINERS):
            return item and not _holds_records(value)
    return True


# The text of each plain scalar type (a subclass, e.g. an enum, goes through `_write`).
_SCALAR_TEXT: dict[type, Callable[[Any], str]] = {
    str: _STRING, int: int.__repr__, float: _float, type(None): lambda _: "null",
    bool: lambda b: "true" if b else "false"}
SCALAR_TEXT = _SCALAR_TEXT  # a plain scalar's text by its type: KeyError for any other type
_KEYS: dict[str, str] = {}  # a str key's text with its ': ', for the keys seen most
_KEYS_KEPT = 4096


def _key_text(key: Any) -> str:
    """`key` as written before its value: the JSON string and ': '."""
    found = _KEYS.get(key) if type(key) is str else None
    if found is None:
        found = _STRING(_key(key)) + ": "
        if type(key) is str and len(_KEYS) < _KEYS_KEPT:
            _KEYS[key] = found
    return found


def _write(value: Any, out: _Out, indent: str, rows: bool = False, item: bool = False) -> None:
    scalar = _SCALAR_TEXT.get(type(value))
    if scalar is not None:
        out.append(scalar(value))
    elif isinstance(value, dict):
        _write_object(value, out, indent, rows, item)
    elif isinstance(value, list | tuple | Lazy):
        _write_array(value, out, indent, rows, item)
    elif isinstance(value, Row) and rows and item:
        out.row(value.text)
    elif isinstance(value, Block) and rows and item:
        out.row(value.text.replace("\n", "\n" + indent))  # JSON text has no other newline
    elif isinstance(value, str):
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
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _write_object(value: dict[Any, Any], out: _Out, indent: str, rows: bool,
                  item: bool) -> None:
    if not value:
        out.append("{}")
    elif rows and _is_row(value, item):
        out.row(_row(value))
    else:
        _write_members(value, out, indent, rows)


def _write_members(value: dict[Any, Any], out: _Out, indent: str, rows: bool) -> None:
    """A non-empty object, one member a line."""
    inner = indent + "  "
    head = "{\n" + inner
    for k, v in value.items():
        scalar = _SCALAR_TEXT.get(type(v))
        if scalar is not None:  # a plain scalar: one part, no call
            out.append(head + (_KEYS.get(k) or _key_text(k)) + scalar(v))
        elif rows and type(v) is list and _SCALARS.issuperset(map(type, v)):
            # Empty or plain scalars (a host's groups, notes): a row, no call.
            out.append(head + (_KEYS.get(k) or _key_text(k)) + (_row(v) if v else "[]"))
        else:
            out.append(head + (_KEYS.get(k) or _key_text(k)))
            _write(v, out, inner, rows)
            out.settle()
        head = ",\n" + inner
    out.append("\n" + indent + "}")


def _write_array(value: list[Any] | tuple[Any, ...] | Lazy, out: _Out, indent: str, rows: bool,
                 item: bool) -> None:
    if isinstance(value, Lazy):
        value = list(value.make())
    elif rows and value and (item or type(value[0]) is not dict) and _is_row(value, item):
        # (An array of records that is not an item is never a row: not asked.)
        out.row(_row(value))
        return
    if not value:
        out.append("[]")
        return
    inner = indent + "  "
    head = "[\n" + inner
    for v in value:
        if rows and type(v) is dict and v:  # most items: decided here once
            if _SCALARS.issuperset(map(type, v.values())) or _is_row(v, True):  # a record
                text = _row(v)
                out.rows += len(text)
                out.append(head + text)
            else:
                out.append(head)
                _write_members(v, out, inner, rows)
        elif type(v) is Row and rows:
            out.rows += len(v.text)
            out.append(head + v.text)
        elif type(v) is Block and rows:
            text = v.text.replace("\n", "\n" + inner)
            out.rows += len(text)
            out.append(head + text)
        else:
            out.append(head)
            _write(v, out, inner, rows, True)
        if out.rows > _BLOCK or len(out) > _BLOCK:  # `settle`, without a call per item
            out.settle()
        head = ",\n" + inner
    out.append("\n" + indent + "]")


def text(value: Any, item: bool = False) -> str:
    """`value` as `dumps(..., rows=True)` writes it at no indent inside a document: an object's
    member (its value), or with `item` an item of an array."""
    out = _Out()
    _write(value, out, "", True, item)
    return "".join([*out.blocks, "".join(out)])


def dumps(value: Any, rows: bool = False) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`, the same text; with `rows`, each
    row on one line (the module's rule)."""
    out = _Out()
    _write(value, out, "", rows)
    return "".join([*out.blocks, "".join(out)])


def iterdumps(value: Any, depth: int = 4, rows: bool = False) -> Iterator[str]:
    """`dumps(value, rows)` in pieces (joined, the same text): a writer never holds the whole.

    Containers down to `depth` levels are walked here, item by item; below that `_write`
    fills blocks, handed on as they are joined.
    """
    out = _Out()
    yield from _iter(value, out, "", depth, rows, False)
    yield from out.blocks
    yield "".join(out)


def _iter(value: Any, out: _Out, indent: str, depth: int, rows: bool,
          item: bool) -> Iterator[str]:
    if isinstance(value, Lazy):  # item by item at any depth: its items are made as written
        yield from _iter_items(((None, v) for v in value.make()), "[]", out, indent, depth,
                               rows)
    elif (depth <= 0 or not isinstance(value, dict | list | tuple) or not value
          or (rows and _is_row(value, item))):
        _write(value, out, indent, rows, item)
    elif isinstance(value, dict):
        yield from _iter_items(iter(value.items()), "{}", out, indent, depth, rows)
    else:
        yield from _iter_items(((None, v) for v in value), "[]", out, indent, depth, rows)


def _iter_items(items: Iterator[tuple[Any, Any]], brackets: str, out: _Out, indent: str,
                depth: int, rows: bool) -> Iterator[str]:
    """An object's (key, value) or an array's (None, value) items, each block as joined."""
    inner = indent + "  "
    head = brackets[0] + "\n" + inner
    for k, v in items:
        out.append(head)
        if brackets == "{}":
            out.append(_STRING(_key(k)))
            out.append(": ")
        yield from _iter(v, out, inner, depth - 1, rows, brackets == "[]")
        head = ",\n" + inner
        out.settle()
        if out.blocks:
            yield from out.blocks
            out.blocks.clear()
    out.append(brackets if head[0] == brackets[0] else "\n" + indent + brackets[1])
