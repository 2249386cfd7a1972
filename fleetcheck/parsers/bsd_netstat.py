"""BSD-family `netstat -a` output: macOS, FreeBSD, OpenBSD, NetBSD, AIX and HP-UX
(and `netstat -L`'s listen queues, read by bsd_listen).

All of them print 'host.port' addresses in fixed-width columns, optionally led by
kernel-address columns (-A) and followed by extra columns (macOS -v: pid, or
process:pid). Without -W the tools cut an address to the column width (22, or 18
with -A) and a host part to 16 characters (12 with -A and names); such listeners
are marked `truncated`, since what is left cannot be trusted to match a rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fleetcheck.frozen import frozen
from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers import bsd_listen
from fleetcheck.parsers.common import (
    ParseError,
    Token,
    UnknownServiceName,
    is_wildcard_peer,
    lines,
    tokens,
)
from fleetcheck.parsers.inet import PROTO_WORD, proto_family, resolve_host, split_dotted

_TITLE = re.compile(r"^(Active |Registered |Current listen queue)")
_INET_TITLE = re.compile(r"^Active Internet6? connections")
# Any protocol word netstat prints in an Internet section (icm4, raw6, sctp...).
_ANY_PROTO = re.compile(r"^(tcp|udp|icm|icmp|raw|ip|sctp|div|divert|rip|igmp|pim|ipx|esp)\w*$")
_HEX = re.compile(r"(0x)?[0-9a-fA-F]+")
# A macOS process name is at most 32 characters: a row is continued on the next lines
# (a name holding a newline) by no more than such a name and the columns after it.
_CONTINUATION = 256
_STATELESS = ("the table has no (state) column (as with -x or -T), so no TCP listener can be "
              "told; list with netstat -an")


@frozen
class Row:
    """One listener and the kernel address netstat -A printed before it (AIX rmsock needs it)."""

    listener: Listener
    socket: str | None


@dataclass
class _Layout:
    """What a table's header says about the rows under it."""

    lead: int | None = None  # kernel-address columns before Proto (-A)
    width: int | None = None  # address column width from the header
    extras: list[str] = field(default_factory=list)  # column names after (state)
    stateless: bool = False  # a header without (state): -x prints counters instead


@dataclass
class _Raw:
    """One table row as read: its line number, text and tokens."""

    no: int
    line: str
    toks: list[Token]
    lead: int
    layout: _Layout
    continued: int = 0  # characters joined from later lines

    @property
    def words(self) -> list[str]:
        """The row's words."""
        return [t.text for t in self.toks]


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound, unconnected UDP sockets from BSD-style netstat output."""
    return [row.listener for row in parse_rows(text)]


def caveats(text: str) -> list[str]:
    """What the capture cannot show: without -a these netstats leave listening TCP sockets
    out of their tables (their title then lacks 'including servers'), though UDP ones stay."""
    for line in lines(text):
        if _INET_TITLE.match(line) and "including servers" not in line:
            return ["the table is titled without '(including servers)': netstat ran without "
                    "-a, which leaves listening TCP sockets out (capture with netstat -an)"]
    return []


def parse_rows(text: str) -> list[Row]:
    """Like `parse`, keeping each row's -A kernel address (None without -A)."""
    if bsd_listen.is_listen_queue(text):  # netstat -L: the listen queues, TCP only
        return [Row(listener, socket) for listener, socket in bsd_listen.parse(text)]
    raws = _scan(text)
    width_of = [r.layout.width or (18 if r.lead else 22) for r in raws]
    wide = any(len(w) > width for r, width in zip(raws, width_of, strict=True)
               for w in r.words[r.lead + 3:r.lead + 5]) or any(w > 22 for w in width_of)
    addresses = [w for r in raws for w in r.words[r.lead + 3:r.lead + 5]]
    names = any(_has_port_name(w) for w in addresses)
    limit = 12 if names and any(r.lead for r in raws) else 16
    # A host part longer than the cut proves this netstat does not cut hosts (HP-UX, -W).
    host_cut = not any(len(w.rpartition(".")[0]) > limit for w in addresses)
    out: list[Row] = []
    for raw, width in zip(raws, width_of, strict=True):
        try:
            row = _row(raw, width, wide, limit if host_cut else None)
        except (ValueError, IndexError) as exc:
            raise ParseError(f"not a netstat socket line ({exc})", raw.no, raw.line) from None
        if row is not None:
            out.append(row)
    return out


def _scan(text: str) -> list[_Raw]:
    """The Internet-section rows with the column layout in force for each; ParseError if none.

    A row of `netstat -v` whose process:pid a name broke with a newline goes on on the next
    line (or lines): such a line is joined to it when the row's owner is not complete yet,
    or when the line is no socket row of its own (see `_continues`).
    """
    layout = _Layout()
    in_inet: bool | None = None  # None: no title seen yet (e.g. output filtered by grep)
    recognised = False
    raws: list[_Raw] = []
    for no, line in enumerate(lines(text), 1):
        toks = tokens(line)
        if raws and _continues(raws[-1], line, toks):
            last = raws[-1]
            joined = f"{last.line}\n{line}"
            raws[-1] = _Raw(last.no, joined, tokens(joined), last.lead, last.layout,
                            last.continued + len(line))
            continue
        words = [t.text for t in toks]
        if not words:
            continue
        if _TITLE.match(line):
            in_inet = bool(_INET_TITLE.match(line))
            recognised = recognised or in_inet
            layout = _Layout()
            continue
        if in_inet is False:
            continue  # UNIX-domain, kernel-control and other sections
        if "Proto" in words and any(w.startswith("Local") for w in words):
            layout = _header(line, words)
            recognised = True
            continue
        lead = layout.lead if layout.lead is not None else _lead(words)
        if lead is None or len(words) < lead + 5 or not _ANY_PROTO.match(words[lead]):
            if layout.stateless:  # -T: a UDP row leaves the counter columns blank
                raise ParseError(f"not a netstat socket line ({_STATELESS})", no, line)
            raise ParseError("not a BSD netstat line", no, line)
        raws.append(_Raw(no, line, toks, lead, layout))
    if not raws and not recognised:
        raise ParseError("no 'Active Internet connections' section and no socket lines")
    return raws


def _continues(last: _Raw, line: str, toks: list[Token]) -> bool:
    """Whether `line` is the rest of row `last`, whose process name held a newline.

    Only rows with a process:pid column can be continued, by `_CONTINUATION` characters
    at most; then a line continues the row when the row's owner is not complete (no
    'name:pid' before the columns after it), or when the line is not a row that parses
    (a name can mimic one; the columns after the name are the real ones).
    """
    if "process:pid" not in last.layout.extras or not line.strip() \
            or last.continued + len(line) > _CONTINUATION:
        return False
    try:
        _owner_span(last)
    except ValueError:
        return True
    lead = last.lead
    words = [t.text for t in toks]
    try:
        if len(words) < lead + 5 or not _ANY_PROTO.match(words[lead]):
            return True
        if PROTO_WORD.match(words[lead]):
            proto = proto_family(words[lead])[0]
            split_dotted(words[lead + 3], proto)
            if words[lead + 4] != "*.*":
                split_dotted(words[lead + 4], proto)
    except UnknownServiceName:
        return False  # a row of its own, of a capture without -n
    except ValueError:
        return True
    return False


def _header(line: str, words: list[str]) -> _Layout:
    """Column layout from a header: kernel-address columns, address width, extra columns."""
    local, foreign = line.find("Local Address"), line.find("Foreign Address")
    width = foreign - local - 1 if 0 <= local < foreign else None
    extras = words[words.index("(state)") + 1:] if "(state)" in words else []
    return _Layout(words.index("Proto"), width, extras, stateless="(state)" not in words)


def _lead(words: list[str]) -> int | None:
    """Without a header: how many kernel-address (hex) columns precede the protocol."""
    for i, word in enumerate(words[:4]):
        if _ANY_PROTO.match(word):
            return i
        if not _HEX.fullmatch(word):
            return None
    return None


def _has_port_name(word: str) -> bool:
    port = word.rpartition(".")[2]
    return bool(port) and port != "*" and not is_number(port)


def _row(raw: _Raw, width: int, wide: bool, host_limit: int | None) -> Row | None:
    words, lead = raw.words, raw.lead
    if not PROTO_WORD.match(words[lead]):
        return None  # icmp, raw, sctp...
    proto, family, dual = proto_family(words[lead])
    if not (is_number(words[lead + 1]) and is_number(words[lead + 2])):
        raise ValueError("queue columns are not numbers")
    local, foreign, rest = words[lead + 3], words[lead + 4], words[lead + 5:]
    if proto == "tcp" and raw.layout.stateless:  # never a silent loss of TCP listeners
        raise ValueError(_STATELESS)
    state = rest[0] if rest and not is_number(rest[0].lstrip("-")) and proto == "tcp" else ""
    connection = state != "LISTEN" if proto == "tcp" else not is_wildcard_peer(foreign)
    try:
        ep = split_dotted(local, proto)
        if foreign != "*.*":
            split_dotted(foreign, proto)  # a malformed peer column means this is not netstat
    except UnknownServiceName:
        if connection:  # no listener, whatever port the name stands for (a capture without -n)
            return None
        raise
    if connection or ep.port is None:
        return None
    address, fam, shown = resolve_host(ep.address, family, dual)
    host = local.rpartition(".")[0]
    truncated = not wide and (len(local) >= width or (
        host_limit is not None and len(host) >= host_limit))
    process, pid = _owner(raw)
    listener = Listener(
        proto=proto, family=fam, address=address, port=ep.port, process=process, pid=pid,
        iface=ep.iface, dual_stack=shown, truncated=truncated, port_name=ep.port_name,
    )
    return Row(listener, words[0] if lead else None)


def _values(raw: _Raw) -> list[Token]:
    """The tokens of the row's extra columns (after the state), as `_row` reads them."""
    lead = raw.lead
    rest = raw.toks[lead + 5:]
    tcp = raw.toks[lead].text.startswith("tcp")
    state = bool(rest) and not is_number(rest[0].text.lstrip("-")) and tcp
    return rest[1:] if state else rest


def _owner_span(raw: _Raw) -> str:
    """The text of a row's process:pid value; ValueError if it has none.

    Read from the right: the columns after it are fixed, a name may hold anything.
    """
    names, values = raw.layout.extras, _values(raw)
    start = names.index("process:pid")
    after = len(names) - start - 1
    span = values[start:len(values) - after]
    if not span:
        raise ValueError("no process:pid value")
    text = raw.line[span[0].start:span[-1].end]
    pid = text.rpartition(":")[2]
    if ":" not in text or not is_number(pid):
        raise ValueError(f"no process:pid value in {text!r}")
    return text


def _owner(raw: _Raw) -> tuple[str | None, int | None]:
    """macOS -v columns: 'pid' (older releases) or 'process:pid' (names may hold anything)."""
    names = raw.layout.extras
    if "process:pid" in names:
        text = _owner_span(raw)
        name, _, pid_text = text.rpartition(":")
        pid = int(pid_text)
        return name or None, pid or None  # pid 0: the kernel did not say
    if "pid" in names:
        values = [t.text for t in _values(raw)]
        value = values[names.index("pid")]
        if not is_number(value):
            raise ValueError(f"pid column holds {value!r}")
        return None, int(value)
    return None, None
