"""Linux `netstat` tables: net-tools (`netstat -tulnpe` and friends) and BusyBox `netstat`."""

from __future__ import annotations

from fleetcheck.frozen import frozen, replace
from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import (
    ParseError,
    Token,
    any_address,
    check_host,
    family_for,
    is_ip,
    is_wildcard_peer,
    lines,
    parse_port,
    peer_family,
    process_of,
    split_scope,
    tokens,
    unshown_dual,
)
from fleetcheck.parsers.nettools_words import (
    STATE_HEADS,
    STATES,
    TIMER_PREFIXES,
    TIMER_WORDS,
)

_PROTOS = {"tcp": "tcp", "tcp6": "tcp", "udp": "udp", "udp6": "udp",
           "udpl": None, "udpl6": None, "raw": None, "raw6": None, "sctp": None, "sctp6": None}
# -o adds a Timer column after PID/Program name: 'off (0.00/0/0)' (its words, and the
# states', in every language net-tools speaks: nettools_words).
# Both tools print at most this many characters of 'pid/program': a process name that
# holds a newline goes on, on the next line, for no more than what is left of them.
_PROGRAM_WIDTH = 19
# Without -W both tools pad addr:port to 23 characters; net-tools also cuts the
# address so that addr:port fits in them.
_COLUMN = 23


@frozen
class _Columns:
    """Which optional columns the header announced."""

    user: bool  # -e: User and Inode
    program: bool  # -p: PID/Program name
    timer: bool  # -o: Timer


@frozen
class _Row:
    """One row of net-tools' netstat table, split into its columns."""

    proto: str
    local: str
    foreign: str
    state: str
    user: str | None
    program: str | None  # the PID/Program name field as printed


def parse(text: str) -> list[Listener]:
    """Listeners in net-tools `netstat` output (-t/-u/-l/-a/-n/-p/-e/-o/-W in any mix)."""
    return _parse(text, busybox=False)


def parse_busybox(text: str) -> list[Listener]:
    """Listeners in BusyBox `netstat` output (`netstat -tuln`, with -p where built in)."""
    return _parse(text, busybox=True)


def _parse(text: str, *, busybox: bool) -> list[Listener]:
    tool = "busybox netstat" if busybox else "netstat"
    section: str | None = None  # None before any title, "inet", or "other" (unix, ...)
    columns: _Columns | None = None  # None: no header seen (e.g. output piped to grep)
    saw_table = False
    rows: list[tuple[int, str, _Row]] = []
    in_note = False
    named = False  # the last thing read was a row's program name, which may go on
    numbered = list(enumerate(lines(text), 1))
    for at, (no, line) in enumerate(numbered):
        stripped = line.strip()
        if named and stripped and rows:
            continued = _continued(rows[-1][2], line, columns)
            if continued is not None:  # a name with a newline: the rest of it
                rows[-1] = (rows[-1][0], f"{rows[-1][1]}\n{line}", continued)
                continue
        named = named and not stripped  # a name may also hold an empty line
        if in_note or stripped.startswith("("):
            # A note (stderr, when captured with 2>&1), possibly over two lines:
            # '(Not all processes could be identified, ...\n ... to see it all.)'
            in_note = not stripped.endswith(")")
            continue
        if not stripped or stripped.startswith("netstat: "):
            continue
        if stripped.startswith("Active "):
            section = "inet" if stripped.startswith("Active Internet") else "other"
            columns, saw_table = None, saw_table or section == "inet"
            if section == "inet" and stripped.endswith("(w/o servers)"):
                # Without -l or -a both tools list connections only: such a table
                # cannot show a listener, so it must not read as 'nothing listens'.
                flags = "-tuln" if busybox else "-tulpn"
                raise ParseError(f"lists connections only ('w/o servers'): {tool} was run "
                                 f"without -l or -a; capture with netstat {flags}", no, line)
            continue
        if section == "other":
            continue
        if stripped.startswith("Proto "):
            if "Local Address" in stripped:  # English, or German (Benutzer for User)
                columns = _Columns("Inode" in stripped,
                                   "PID/Program" in stripped, "Timer" in stripped)
                section, saw_table = "inet", True
            elif _localized(stripped):
                # A translated header (LANGUAGE=de, fr, ...): its words say nothing sure
                # about the columns, so each row's shape does; rows of another family
                # (unix) under a translated title are passed over.
                columns, section, saw_table = None, "translated", True
            else:  # another family's table without a title
                section = "other"
            continue
        try:
            row = _split(line, columns)
        except (ValueError, IndexError) as exc:
            if section == "translated" and _other_family(stripped):
                continue
            if _is_title(numbered, at):  # a translated title: its table's header follows
                section, columns = None, None
                continue
            raise ParseError(f"not a {tool} socket line ({exc})", no, line) from None
        rows.append((no, line, row))
        named = row.program is not None
    if not saw_table and not rows:
        raise ParseError(f"no {tool} Internet connections table")
    # -W prints whole addresses; one wider than the column proves it was given.
    wide = any(len(r.local) > _COLUMN or len(r.foreign) > _COLUMN for _, _, r in rows)
    out = []
    for no, line, row in rows:
        try:
            listener = _listener(row, busybox=busybox, wide=wide)
        except ValueError as exc:
            raise ParseError(f"bad {tool} socket line ({exc})", no, line) from None
        if listener is not None:
            out.append(listener)
    return out


def _localized(header: str) -> bool:
    """Whether a 'Proto ...' header is an Internet table's in another language (its first
    columns are the queues: 'Recv-Q', 'Přích-F', '受信-Q', 'VvJrk'), not a UNIX table's."""
    words = header.split()
    return len(words) > 2 and words[1] not in ("RefCnt", "Čítač") and not is_number(words[1])


def _is_title(numbered: list[tuple[int, str]], at: int) -> bool:
    """Whether the line at `at` is a table's title: the next non-blank line is its header."""
    for i in range(at + 1, len(numbered)):  # no copy of the rest: this runs per odd line
        line = numbered[i][1]
        if line.strip():
            return line.lstrip().startswith("Proto ")
    return False


def _other_family(line: str) -> bool:
    """Whether a row belongs to another family's table (unix, ax25, ipx, ...)."""
    first = line.split(None, 1)[0]
    return first not in _PROTOS and first.isalpha()


def _continued(row: _Row, line: str, columns: _Columns | None) -> _Row | None:
    """`row` with `line` as the rest of its program name, or None if `line` is no such rest.

    It is one when it is no socket row itself and the name still fits the program column
    (the tools cut 'pid/name' to 19 characters, so a long line is never part of one).
    """
    assert row.program is not None
    try:
        _split(line, columns)
        return None  # a row of its own
    except (ValueError, IndexError):
        pass
    rest = _without_timer(line, columns).rstrip()
    program = f"{row.program}\n{rest}"
    return replace(row, program=program) if len(program) <= _PROGRAM_WIDTH else None


def _without_timer(line: str, columns: _Columns | None) -> str:
    """`line` without a trailing -o Timer column ('off (0.00/0/0)'), if it has one."""
    if columns is not None and not columns.timer:
        return line
    text = line.rstrip()
    if not text.endswith(")"):
        return line
    opening = text.rfind("(")
    if opening < 0 or ")" in text[opening + 1:-1]:
        return line
    while opening > 0 and text[opening - 1] == "(":  # Estonian's 'eikäi ((0.00/0/0)'
        opening -= 1
    before = text[:opening]
    if not before[-1:].isspace():
        return line
    words = before.split()
    if len(words) >= 2 and words[-2] == "ligado" and is_number(words[-1]):
        words.pop()  # Portuguese 'ligado 2 (...)'
    word = words[-1] if words else ""
    if not (word in TIMER_WORDS or any(word.startswith(p) and is_number(word[len(p):])
                                       for p in TIMER_PREFIXES)):
        return line
    start = before.rstrip().rfind(word)
    if start < 1 or not before[start - 1].isspace():
        return line
    return before[:start].rstrip()


def _split(line: str, columns: _Columns | None) -> _Row:
    """Cut one row into its columns; ValueError if it is not a netstat socket row."""
    line = _without_timer(line, columns)
    toks = tokens(line)
    if len(toks) < 5:
        raise ValueError("too few columns")
    proto, recv_q, send_q, local, foreign = (t.text for t in toks[:5])
    if proto not in _PROTOS:
        raise ValueError(f"unknown Proto {proto!r}")
    if not (is_number(recv_q) and is_number(send_q)):
        raise ValueError("queue columns are not numbers")
    rest = toks[5:]
    state = ""
    if len(rest) > 1 and rest[0].text in STATE_HEADS \
            and f"{rest[0].text} {rest[1].text}" in STATES:  # a state of two words
        state, rest = STATES[f"{rest[0].text} {rest[1].text}"], rest[2:]
    elif rest and (rest[0].text in STATES or (proto.startswith("raw")
                                              and is_number(rest[0].text))):
        text = rest.pop(0).text
        state = STATES.get(text, text)
    elif _PROTOS[proto] == "tcp":  # every TCP row has a state: an unknown one is no row
        raise ValueError(f"unknown TCP state {rest[0].text!r}" if rest else "no TCP state")
    user = None
    if _has_user(rest, columns):
        if len(rest) < 2 or not is_number(rest[1].text):
            raise ValueError("no User and Inode columns")
        user, rest = rest[0].text, rest[2:]
    program = line[rest[0].start:].rstrip() if rest else None
    if program is not None and columns is not None and not columns.program:
        raise ValueError(f"unexpected column {rest[0].text!r}")
    return _Row(proto, local, foreign, state, user, program)


def _has_user(rest: list[Token], columns: _Columns | None) -> bool:
    """Whether the row has -e's User and Inode columns (from the header, else by shape)."""
    if columns is not None:
        return columns.user
    # No header: 'user inode pid/prog' vs 'pid/prog'; a PID/Program field has a '/' or is '-'.
    return (len(rest) >= 2 and is_number(rest[1].text) and "/" not in rest[0].text
            and rest[0].text != "-")


def _listener(row: _Row, *, busybox: bool, wide: bool) -> Listener | None:
    proto = _PROTOS[row.proto]
    if proto == "tcp":
        listening = row.state == "LISTEN"
    elif proto == "udp":
        # Bound and not connected: no peer, and no state (net-tools, BusyBox) or the
        # socket's kernel state CLOSE (Android's toolbox netstat names UDP states too).
        listening = row.state in ("", "CLOSE") and is_wildcard_peer(row.foreign)
    else:
        return None
    if not listening:
        return None
    addr_text, sep, port_text = row.local.rpartition(":")
    if not sep or not addr_text:
        raise ValueError(f"no address:port in {row.local!r}")
    port, port_name = parse_port(port_text, proto)
    if not port:  # '*': not bound to a port
        return None
    address, iface = split_scope(addr_text)
    try:
        check_host(addr_text, cut=len(row.local) == _COLUMN and not wide)
    except ValueError:
        # toybox netstat (Android 6 and later) without -n prints, for an address it cannot
        # name, the previous row's 'host:port' with this row's port after it.
        raise ValueError(f"local address {row.local!r} holds no address and no host name "
                         "(capture with netstat -n)") from None
    # A host name (no -n) shows no family: net-tools says it in the protocol (tcp6);
    # BusyBox prints 'tcp' for both, but its peer column is ':::*' for IPv6.
    hint = 6 if row.proto.endswith("6") else peer_family(row.foreign, 4)
    family = family_for(address, hint)
    if address == "*":  # older net-tools print '*' for the any-address when not -n
        address = any_address(family)
    if busybox:
        # BusyBox 1.x pads but never cuts; only very old builds cut, and what they
        # left is then no complete address.
        truncated = len(row.local) == _COLUMN and ":" in address and not is_ip(address)
    else:
        # net-tools cuts the address so that addr:port fits 23 characters; exactly 23
        # may be a cut address, and a cut address must never match an allow rule.
        truncated = len(row.local) == _COLUMN and not wide
    pid, process = process_of(row.program) if row.program is not None else (None, None)
    return Listener(proto=proto, family=family, address=address, port=port, process=process,
                    pid=pid, user=row.user, iface=iface, truncated=truncated,
                    port_name=port_name, dual_stack=unshown_dual(family, address))
