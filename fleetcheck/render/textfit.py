"""Plain-text layout that fits a width: tables whose wide columns wrap, wrapped key/value facts."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import Any, cast

_ANSI = re.compile(r"\033\[[0-9;]*m")
_GAP = 2  # tabulate's "simple" format puts two spaces between columns
# tabulate's MIN_PADDING (a test holds them equal): tabulate itself is loaded only for a table
# that needs it (wrapping, wide characters), which most terminal summaries never have.
MIN_PADDING = 2
_MIN_FLEX = 8

RED, YELLOW, GREEN, BOLD, DIM, RESET = ("\033[31m", "\033[33m", "\033[32m", "\033[1m",
                                         "\033[2m", "\033[0m")


def paint(text: str, code: str, color: bool) -> str:
    """`text` in an ANSI colour when `color` is on (and there is text to colour)."""
    return f"{code}{text}{RESET}" if color and code and text else text


def visible_width(cell: str) -> int:
    """Columns a cell occupies on screen: its longest line without colour codes."""
    if "\033" not in cell and "\n" not in cell:
        return len(cell)
    return max((len(_ANSI.sub("", line)) for line in cell.split("\n")), default=0)


def _share(room: int, wants: list[int], lows: list[int]) -> list[int]:
    """Split `room` columns among columns that need `lows` and want `wants`: every column gets
    its low, then the narrowest get all they want and the widest share what is left."""
    caps = list(lows)
    left = room - sum(lows)
    order = sorted(range(len(wants)), key=lambda i: wants[i] - lows[i])
    for n, i in enumerate(order):
        extra = min(wants[i] - lows[i], left // (len(order) - n))
        caps[i] += max(extra, 0)
        left -= max(extra, 0)
    return caps


def table(rows: Sequence[Sequence[object]], headers: Sequence[str], width: int,
          flex: Sequence[int] = (), separated: bool = False, named: bool = True) -> str:
    """A "simple" table no wider than `width`: columns in `flex` wrap; rows become records
    ('HEADER  value' blocks) when even wrapped columns cannot fit. `separated` puts a
    copy of the header's rule after every row, so that a caller can tell rows apart.
    Without `named`, only the rows: columns as narrow as their cells, no header or rule
    (records still name their fields)."""
    cells = [["" if c is None else str(c) for c in row] for row in rows]
    if not named:
        fast = None if separated else _rows_only(cells, len(headers), width)
        if fast is not None:
            return fast
        laid = table(cells, [""] * len(headers), width, flex, separated)
        if laid.startswith("[1]\n"):  # records: say what each field is
            return records(cells, headers, width)
        return laid.split("\n", 2)[2] if laid.count("\n") >= 2 else ""
    # tabulate pads every column to at least its header plus MIN_PADDING.
    floor = [visible_width(h) + MIN_PADDING for h in headers]
    plain = _plain(cells, headers)
    if plain:  # widths are lengths, taken a column at a time
        columns = list(zip(*cells, strict=True)) if cells else [()] * len(headers)
        natural = [max(low, max(map(len, column), default=0))
                   for low, column in zip(floor, columns, strict=True)]
    else:
        natural = [max([floor[i]] + [visible_width(r[i]) for r in cells])
                   for i in range(len(headers))]
    total = sum(natural) + _GAP * (len(headers) - 1)
    maxcol: list[int | None] | None = None
    if total > width:
        fixed = total - sum(natural[i] for i in flex)
        lows = [max(floor[i], _MIN_FLEX) for i in flex]
        if not flex or fixed + sum(lows) > width:
            return records(cells, headers, width)
        caps = _share(width - fixed, [natural[i] for i in flex], lows)
        maxcol = [None] * len(headers)
        for i, cap in zip(flex, caps, strict=True):
            maxcol[i] = cap if cap < natural[i] else None
    fast = simple_table(cells, headers, maxcol, plain, separated)
    if fast is not None:
        return fast
    from tabulate import SEPARATING_LINE, tabulate

    body: list[Any] = [x for row in cells for x in (row, SEPARATING_LINE)] if separated \
        else cells
    return tabulate(body, headers=list(headers), tablefmt="simple", disable_numparse=True,
                    maxcolwidths=maxcol, break_on_hyphens=False)


def _rows_only(cells: Sequence[Sequence[str]], columns: int, width: int) -> str | None:
    """`table(named=False)` of rows of one-line printable ASCII cells that fit `width`
    without wrapping (a host's listeners, a thousand times a report): each row a line, as
    the table below would lay them out once its blank header and rule are cut. None for
    any other rows."""
    if not cells or not columns or not _plain(cells, [""] * columns):
        return None
    if sum(max(MIN_PADDING, *map(len, col)) for col in zip(*cells, strict=True)) \
            + _GAP * (columns - 1) > width:
        return None
    rows = [[c.strip() for c in row] for row in cells]
    widths = [max(MIN_PADDING, *map(len, col)) for col in zip(*rows, strict=True)]
    line = "  ".join(f"{{:<{w}}}" for w in widths).format
    return "\n".join([line(*row).rstrip() for row in rows])


_BOOLS = ("True", "False")
# The characters of a number with thousands separators ("-1,000.5"), which tabulate reads
# as a number; a list of names with counts ("h1, h2, ... (+9 more)") is left as text.
_GROUPED_NUMBER = frozenset("0123456789+-,.")


def _recast(cell: str) -> bool:
    """Whether tabulate would retype this cell of a wrapped column (it makes "False" "True",
    and reads "1,000" as a number): such tables are left to tabulate."""
    return cell in _BOOLS or ("," in cell and any(ch.isdigit() for ch in cell)
                              and _GROUPED_NUMBER.issuperset(cell))


def _plain_width(cell: str) -> int | None:
    """Columns of a one-line printable ASCII cell (colour codes aside); None for any other."""
    bare = _ANSI.sub("", cell) if "\033" in cell else cell
    return len(bare) if bare.isascii() and bare.isprintable() else None


def _plain(cells: Sequence[Sequence[str]], headers: Sequence[str]) -> bool:
    """Whether every row has a cell per header and every cell and header is one line of
    printable ASCII without colour codes (its width is its length): one pass over their text."""
    if any(len(row) != len(headers) for row in cells):
        return False
    text = "".join(headers) + "".join(["".join(row) for row in cells])
    return text.isascii() and text.isprintable()


def simple_table(cells: Sequence[Sequence[str]], headers: Sequence[str],
                 maxcol: Sequence[int | None] | None = None, plain: bool = False,
                 separated: bool = False) -> str | None:
    """tabulate's "simple" table of text cells (no number parsing), laid out directly: the
    same text, without tabulate's per-cell type inference (the text report's largest cost at
    fleet scale). None where a cell is not one line of printable ASCII (wide characters,
    multi-line cells) or would be wrapped at its column's `maxcol`: tabulate handles those.
    `plain`: the caller found every cell one line of printable ASCII (`_plain`); then cells
    wrap at `maxcol` here, and `separated` puts the header's rule after every row, as
    tabulate does."""
    for i, cap in enumerate(maxcol or ()):
        if cap is not None and any((len(row[i]) > cap and not plain) or _recast(row[i])
                                   for row in cells):
            return None
    if plain:
        return _plain_table(cells, headers, maxcol or [None] * len(headers), separated)
    if separated:
        return None
    rows = [[c.strip() for c in row] for row in cells]  # as tabulate: whitespace stripped
    widths = [len(h) + MIN_PADDING for h in headers]
    shown: list[list[int]] = []
    for row in [list(headers), *rows]:
        if len(row) != len(headers):
            return None
        seen = []
        for i, c in enumerate(row):
            w = _plain_width(c)
            if w is None:
                return None
            seen.append(w)
            widths[i] = max(widths[i], w)
        shown.append(seen)
    lines = []
    for row, seen in zip([list(headers), *rows], shown, strict=True):
        lines.append("  ".join(c + " " * (widths[i] - seen[i])
                               for i, c in enumerate(row)).rstrip())
        if len(lines) == 1:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _plain_table(cells: Sequence[Sequence[str]], headers: Sequence[str],
                 maxcol: Sequence[int | None], separated: bool) -> str | None:
    """`simple_table` of cells whose widths are their lengths: each cell's lines (wrapped
    at its column's cap as tabulate wraps), each line of the table one format call. None
    where tabulate's own rules are not followed here (a blank row among separated ones, a
    cell to wrap that starts or ends with a space)."""
    capped = [(i, cap) for i, cap in enumerate(maxcol) if cap is not None]
    if headers and not any(len(row[i]) > cap for row in cells for i, cap in capped):
        return _line_per_row(cells, headers, separated)
    wrapped = [[_wrap_cell(c, cap) for c, cap in zip(row, maxcol, strict=True)]
               for row in cells]
    if any(lines is None for row in wrapped for lines in row):
        return None
    rows = cast(list[list[list[str]]], wrapped)
    if any(len(lines) > 1 for row in rows for lines in row):  # tabulate's multi-line rows:
        rows = [[lines if lines != [""] else [] for lines in row] for row in rows]  # "" is none
    elif separated and any(all(lines == [""] for lines in row) for row in rows):
        return None
    widths = [len(h) + MIN_PADDING for h in headers]
    for row in rows:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], 0, *map(len, lines))
    line = "  ".join(f"{{:<{w}}}" for w in widths).format
    rule = "  ".join("-" * w for w in widths)
    out = [line(*headers).rstrip(), rule]
    for row in rows:
        for n in range(max(map(len, row), default=0)):
            out.append(line(*(lines[n] if n < len(lines) else "" for lines in row)).rstrip())
        if separated:
            out.append(rule)
    return "\n".join(out)


def _line_per_row(cells: Sequence[Sequence[str]], headers: Sequence[str],
                  separated: bool) -> str | None:
    """`_plain_table` where no cell wraps (the common case: a host's listeners): each row
    one line of its cells, whitespace stripped as `_wrap_cell` strips them."""
    rows = [[c.strip() for c in row] for row in cells]
    if separated and any(not any(row) for row in rows):  # a blank row: see `_plain_table`
        return None
    widths = [len(h) + MIN_PADDING for h in headers]
    for i, column in enumerate(zip(*rows, strict=True)):
        widths[i] = max(widths[i], *map(len, column))
    line = "  ".join(f"{{:<{w}}}" for w in widths).format
    rule = "  ".join("-" * w for w in widths)
    out = [line(*headers).rstrip(), rule]
    for row in rows:
        out.append(line(*row).rstrip())
        if separated:
            out.append(rule)
    return "\n".join(out)


def _wrap_cell(cell: str, cap: int | None) -> list[str] | None:
    """A cell's lines, whitespace stripped: itself, or wrapped at `cap` columns when longer
    (None when that cell starts or ends with whitespace: tabulate's wrapping keeps some)."""
    if cap is None or len(cell) <= cap:
        return [cell.strip()]
    if cell.strip() != cell:
        return None
    return textwrap.wrap(cell, width=cap, break_long_words=True, break_on_hyphens=False)


def records(rows: Sequence[Sequence[str]], headers: Sequence[str], width: int) -> str:
    """Rows too wide for a table, one block of 'HEADER  value' lines each."""
    blocks = []
    for n, row in enumerate(rows, 1):
        pairs = [(h, v) for h, v in zip(headers, row, strict=True) if v]
        blocks.append("\n".join([f"[{n}]", *facts(pairs, width)]))
    return "\n\n".join(blocks)


def facts(pairs: Sequence[tuple[str, str]], width: int, indent: str = "  ") -> list[str]:
    """'Label   value' lines, values wrapped under themselves to fit `width`."""
    if not pairs:
        return []
    label_w = max(len(k) for k, _ in pairs) + 2
    lines = []
    for key, value in pairs:
        head = f"{indent}{key.ljust(label_w)}"
        if len(head) + len(value) <= width and "\n" not in value and value.strip() == value:
            lines.append(head + (value or "-"))  # the common case, without textwrap's cost
            continue
        lines += textwrap.wrap(value or "-", width=max(width, len(head) + 20),
                               initial_indent=head, subsequent_indent=" " * len(head),
                               break_long_words=True, break_on_hyphens=False) or [head]
    return lines


def flow(pieces: Sequence[tuple[str, str]], width: int, color: bool, lead: str = "",
         sep: str = " · ") -> list[str]:
    """`lead`, then (text, colour) pieces joined by `sep`, in lines of at most `width`."""
    lines: list[str] = []
    plain = painted = lead
    for text, code in pieces:
        if plain.strip() and len(plain) + len(sep) + len(text) > width:
            lines.append(painted)
            plain = painted = ""
        joiner = sep if plain and plain != lead else ""
        plain += joiner + text
        painted += joiner + paint(text, code, color)
    return [*lines, painted] if plain else lines


def wrap(text: str, width: int, indent: str = "", subsequent: str | None = None) -> list[str]:
    """A paragraph wrapped to `width`, its first line indented by `indent`, the others by
    `subsequent` (default: `indent` too)."""
    if len(indent) + len(text) <= width and "\n" not in text and text.strip() == text and text:
        return [indent + text]
    return textwrap.wrap(text, width=width, initial_indent=indent,
                         subsequent_indent=indent if subsequent is None else subsequent,
                         break_long_words=True, break_on_hyphens=False) or [indent]
