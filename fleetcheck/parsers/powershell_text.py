"""`Get-NetTCPConnection` / `Get-NetUDPEndpoint` as PowerShell prints them to a console.

Without ConvertTo-Json the objects come out as a table (the default view, or
Format-Table) or as a list (Format-List). Both are read back into one dictionary of
property name to text per object, which the JSON reader then judges as it judges a
JSON object. A table's columns are where its dashed rule under the header puts them
(values never hold the separating spaces there); a value PowerShell cut to fit its
column ends in '...' (Windows PowerShell) or '…' (PowerShell 7) and is marked as cut.
"""

from __future__ import annotations

import re

from fleetcheck.frozen import frozen
from fleetcheck.parsers.common import ParseError, lines

# PowerShell 7.2+ colours table headers and list names when writing to a terminal.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_RULE = re.compile(r"-+")
_LIST_LINE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\s*: ?(.*)")
_CUT = ("...", "\u2026")
# Properties whose values never hold a space: one that does is a row out of line.
_ONE_WORD = {"LocalAddress", "LocalPort", "RemoteAddress", "RemotePort", "State",
             "AppliedSetting", "OwningProcess", "OffloadState"}


@frozen
class TextObject:
    """One object as printed: its properties as text, and the line it starts on."""

    line_no: int
    line: str
    values: dict[str, str]
    cut: frozenset[str]  # properties PowerShell cut to fit a table column


def looks_like_text(body: str) -> bool:
    """Whether `body` holds a table header or list lines naming LocalAddress and LocalPort."""
    rows = [_ANSI.sub("", line).split() for line in lines(body)]
    if any("LocalAddress" in words and "LocalPort" in words for words in rows):
        return True
    names = {words[0] for words in rows if len(words) > 1 and words[1] == ":"}
    return {"LocalAddress", "LocalPort"} <= names


def objects(body: str) -> list[TextObject]:
    """The objects of every table and list in `body`; ParseError for a line in one that
    is neither a row nor a property, or when the text holds neither."""
    text = [_ANSI.sub("", line).rstrip() for line in lines(body)]
    out: list[TextObject] = []
    i = 0
    while i < len(text):
        words = text[i].split()
        if "LocalAddress" in words and "LocalPort" in words and i + 1 < len(text) \
                and _RULE.fullmatch(text[i + 1].replace(" ", "")) and text[i + 1].strip():
            i = _table(text, i, out)
        elif len(words) > 1 and words[1] == ":" and _LIST_LINE.match(text[i].strip()):
            i = _list(text, i, out)
        else:
            i += 1  # prompts, titles, blank lines and warnings around the objects
    if not out:
        raise ParseError("neither ConvertTo-Json output nor a table or list of "
                         "Get-NetTCPConnection/Get-NetUDPEndpoint objects with "
                         "LocalAddress and LocalPort")
    return out


def _table(text: list[str], head: int, out: list[TextObject]) -> int:
    """Read the table whose header is text[head]; the index of the line after it."""
    rule = text[head + 1]
    spans = [(m.start(), m.end()) for m in _RULE.finditer(rule)]
    names = [text[head][start:end].strip() for start, end in spans]
    if "LocalAddress" not in names or "LocalPort" not in names:
        raise ParseError("table header not aligned with its dashed rule", head + 1, text[head])
    i = head + 2
    while i < len(text) and text[i].strip():
        line = text[i]
        values: dict[str, str] = {}
        cut: set[str] = set()
        for k, (name, (start, _end)) in enumerate(zip(names, spans, strict=True)):
            stop = spans[k + 1][0] if k + 1 < len(spans) else len(line)
            value = line[start:stop].strip()
            if (0 < start <= len(line) and not line[start - 1].isspace()) or (
                    name in _ONE_WORD and len(value.split()) > 1):
                raise ParseError("table row not aligned with its header", i + 1, line)
            if value.endswith(_CUT):
                value = value.rstrip(".\u2026")
                cut.add(name)
            if value:
                values[name] = value
        out.append(TextObject(i + 1, line, values, frozenset(cut)))
        i += 1
    return i


def _list(text: list[str], start: int, out: list[TextObject]) -> int:
    """Read one Format-List block starting at text[start]; the index after it. A block of
    other objects (no LocalAddress or LocalPort) is passed over, and ends at any line
    that is no property of it."""
    values: dict[str, str] = {}
    last: str | None = None
    i = start
    while i < len(text) and text[i].strip():
        line = text[i]
        m = _LIST_LINE.fullmatch(line.strip())
        if m:
            last = m.group(1)
            values[last] = m.group(2).strip()
        elif last is not None and line[:1].isspace():
            values[last] += line.strip()  # a long value wrapped onto the next lines
        elif {"LocalAddress", "LocalPort"} & set(values):
            raise ParseError("not a 'Name : Value' line of a Format-List object", i + 1, line)
        else:
            return i
        i += 1
    if {"LocalAddress", "LocalPort"} & set(values):
        out.append(TextObject(start + 1, text[start], values, frozenset()))
    return i
