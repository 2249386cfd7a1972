"""iproute2 `ss` output: old and modern, with or without header, Netid and State columns."""

from __future__ import annotations

import re

from fleetcheck.frozen import frozen
from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import (
    ParseError,
    Token,
    family_of,
    is_ip,
    is_wildcard_peer,
    lines,
    peer_family,
    split_endpoint,
    split_scope,
    tokens,
)

_STATES = frozenset({
    "LISTEN", "UNCONN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
    "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK", "CLOSING", "CLOSED", "UNKNOWN", "BOUND",
    "NEW-SYN-RECV",
})
# A Netid is a short lower-case word (tcp, udp, u_str, p_raw, icmp6, v_str, mptcp...);
# any such word is accepted so that a netid added by a newer ss is skipped, not fatal.
# The states ss shows for a UDP socket (and for raw ones): bound, or connected.
_UDP_STATES = frozenset({"UNCONN", "ESTAB", "UNKNOWN"})
_NETID = re.compile(r"[a-z][a-z0-9_]{1,11}")
_HEADER_WORDS = ("Netid", "State", "Recv-Q")
_USERS = "users:("
_COLUMNS = 6  # Netid, State, Recv-Q, Send-Q, local and peer: what a row is cut into


# What ss writes to stderr while it lists, captured with 2>&1 (sosreport keeps stderr):
# -e's cgroup path on a host without cgroup v2, and a netlink error for a socket family
# the kernel lacks (ss reads TCP and UDP from /proc when their netlink dump fails).
_MESSAGE = re.compile(r"Failed to find cgroup2 mount|Failed to open cgroup2 by ID"
                      r"|RTNETLINK answers: [\w ]+")


def is_message(line: str) -> bool:
    """Whether `line` is one of ss's own messages, not a row."""
    return _MESSAGE.fullmatch(line.strip()) is not None


@frozen
class _Row:
    """One socket row of ss's table, split into its columns."""

    netid: str | None
    state: str
    local: str
    peer: str
    extra: str  # everything after the peer column: users:(...), ino:, v6only:, ...


@frozen
class _Users:
    """The users:(...) field of a row: its holders, where it ends, and what went wrong."""

    holders: tuple[tuple[str, int], ...]  # (process name, pid), in the order printed
    end: int  # index just after the field in the row's extra text (0: there is none)
    problem: str | None = None  # why the holders could not be read (then none are named)


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound, unconnected UDP sockets from `ss` output.

    `ss -e` also prints uid: and ino:; they are not kept, so that the listeners have
    the shape of the corpus sidecars (uid and inode are emitted only by the /proc
    parser, where they are the only owner evidence there is). v6only: is used.
    """
    return _parse(text, uids=False)


def parse_with_uids(text: str) -> list[Listener]:
    """As `parse`, with each socket's owning uid where `ss -e` shows it.

    ss prints `uid:N` only for a non-zero uid, so an -e row (one with `ino:`) without
    it belongs to uid 0. The uid is shown whatever the caller's privilege, unlike the
    process, which is how a collector without root still learns who owns a socket.
    """
    return _parse(text, uids=True)


def _parse(text: str, *, uids: bool) -> list[Listener]:
    """The listeners of `text`, with uids if asked."""
    has_netid: bool | None = None
    saw_header = False
    rows: list[tuple[int, list[str], bool]] = []  # line number, physical lines, has Netid
    inside = False  # the last row's users:(...) goes on past a newline in a process name
    for no, line in enumerate(lines(text), 1):
        if inside:  # a continuation of a name, whatever it looks like
            rows[-1][1].append(line)
            inside = _still_open(line, inside=True)
            continue
        first = line.split(None, 1)[:1]
        if not first or is_message(line):
            continue
        if line[:1].isspace() and rows and not _is_row(line, rows[-1][2]):
            # -i/-m: details of the row above on an indented line of their own (a tab, or
            # spaces where a terminal's copy turned the tab into them). An indented line
            # that is a row (a whole listing indented) is still read as one.
            continue
        if first[0] in _HEADER_WORDS:
            has_netid = first[0] == "Netid"
            saw_header = True
            continue
        if has_netid is None:  # ss -H: tell by the first word of the first row
            has_netid = first[0] not in _STATES and not is_number(first[0])
        rows.append((no, [line], has_netid))
        inside = _still_open(line, inside=False)
    if not rows and not saw_header:
        raise ParseError("no ss header and no socket lines")
    split: list[tuple[int, str, _Row]] = []
    for no, physical, netid in rows:
        line = "\n".join(physical)  # a name's newline, kept as ss printed it
        try:
            split.append((no, line, _split(tokens(line, _COLUMNS), line, netid)))
        except (ValueError, IndexError) as exc:
            raise ParseError(f"not an ss socket line ({exc})", no, line) from None
    modern = _is_modern([r for _, _, r in split])
    tcp_table = _tcp_table([r for _, _, r in split])
    out: list[Listener] = []
    for no, line, row in split:
        try:
            listener = _listener(row, modern, uids=uids, tcp_table=tcp_table)
        except ValueError as exc:
            raise ParseError(f"bad ss socket line ({exc})", no, line) from None
        if listener is not None:
            out.append(listener)
    if split and not any(_listening(row) for _, _, row in split):
        raise _blind(split)
    return out


def _listening(row: _Row) -> bool:
    """Whether a TCP or UDP row is in a listening state (LISTEN, UNCONN, or very old ss's
    empty State with a wildcard peer), bound to a port or not."""
    if row.netid not in (None, "tcp", "udp"):
        return False
    return row.state in ("LISTEN", "UNCONN") or (row.state == "" and is_wildcard_peer(row.peer))


def _blind(split: list[tuple[int, str, _Row]]) -> ParseError:
    """The error for rows none of which could be a listener: such an output was captured
    without -l, or with only other socket kinds (-x), and cannot show what listens, so it
    must not read as 'nothing listens'."""
    no, line, _ = split[0]
    others = sorted({r.netid for _, _, r in split if r.netid not in (None, "tcp", "udp")})
    if len(others) == len({r.netid for _, _, r in split}):
        return ParseError(f"lists no TCP or UDP socket (only {', '.join(map(str, others))}): "
                          "it cannot show listeners; capture with ss -tulpn", no, line)
    states = sorted({r.state or "no state" for _, _, r in split
                     if r.netid in (None, "tcp", "udp")})
    return ParseError(f"lists only connections ({', '.join(states)}), no listening socket: "
                      "ss was run without -l (or -a on a host listening on nothing); "
                      "capture with ss -tulpn", no, line)


# Each holder in users:(...) is `("name",pid=1,fd=3)` (very old ss: `("name",1,3)`). ss
# prints the name raw (spaces, quotes, commas, tabs, newlines, any byte) but reads it
# from /proc/PID/stat up to the first ')', so no name holds a ')': a holder ends at
# the first ')' after its `("`, and its pid and fd are the last two fields before it.
# All of it is read by forward scans (str.find), never a backtracking regex, so a row
# costs time linear in its length whatever a name or a hostile host prints.
_OPEN = -1


def _holders(text: str, start: int) -> tuple[int, list[tuple[int, int]]]:
    """Holders from `start` (just inside `users:(`): (end, [(name start, close), ...]).

    `end` is the index after the field's closing ')', `_OPEN` when `text` stops inside
    a holder, or below -1 when the field is malformed.
    """
    spans: list[tuple[int, int]] = []
    j = start
    while text.startswith('("', j):
        close = text.find(")", j + 2)
        if close < 0:
            return _OPEN, spans
        spans.append((j + 2, close))
        j = close + 1
        if not text.startswith(",", j):
            break
        j += 1
    return (j + 1 if text.startswith(")", j) else -2), spans


def _still_open(line: str, *, inside: bool) -> bool:
    """Whether a row's users:(...) is still open at the end of `line`; `inside`: the line
    continues a holder whose name went past a newline."""
    if inside:
        close = line.find(")")
        if close < 0:
            return True
        if not line.startswith(",(", close + 1):
            return False
        start = close + 2
    else:
        found = line.find(_USERS)
        if found < 0:
            return False
        start = found + len(_USERS)
    return _holders(line, start)[0] == _OPEN


def _users(extra: str) -> _Users:
    """The holders in a row's users:(...) field (after the peer column)."""
    found = extra.find(_USERS)
    if found < 0:
        return _Users((), 0)
    end, spans = _holders(extra, found + len(_USERS))
    if end < 0:
        return _Users((), 0, "its users:(...) field is not complete")
    holders: list[tuple[str, int]] = []
    for begin, close in spans:
        quoted, _, numbers = extra[begin:close].rpartition('",')
        fields = _without_contexts(numbers).split(",")
        if len(fields) == 3 and fields[1].startswith("tid="):
            # -T names each thread of the process: ("name",pid=1,tid=2,fd=3)
            if not is_number(fields[1][4:]):
                return _Users((), end, f"holder {extra[begin - 2:close + 1]!r} cannot be read")
            fields.pop(1)
            if (quoted, fields[0]) in ((n, f"pid={p}") for n, p in holders):
                continue  # another thread of a process already named
        pid, fd = (fields if len(fields) == 2 else ["", ""])
        pid, fd = pid.removeprefix("pid="), fd.removeprefix("fd=")
        if not (is_number(pid) and is_number(fd)):
            return _Users((), end, f"holder {extra[begin - 2:close + 1]!r} cannot be read")
        holders.append((quoted, int(pid)))
    return _Users(tuple(holders), end)


def _without_contexts(numbers: str) -> str:
    """A holder's fields after its name without -Z's proc_ctx= and -z's sock_ctx=:
    'pid=1,proc_ctx=CTX,fd=3,sock_ctx=CTX' -> 'pid=1,fd=3'. An SELinux context may hold
    commas ('s0:c1,c2'), never a ')', and stands between the pid (or tid) and the fd."""
    if ",proc_ctx=" not in numbers:
        return numbers
    head, _, rest = numbers.partition(",proc_ctx=")
    rest = rest.partition(",sock_ctx=")[0]
    _, fd_sep, fd = rest.rpartition(",fd=")
    return f"{head},fd={fd}" if fd_sep else numbers


def masked(comm: str) -> str:
    """`comm` as ss of iproute2 7 prints it: up to the first ')' (every ss stops there),
    each control byte as '.', each byte that is no ASCII as '?' (a character the
    output's decoding replaced stood for one byte)."""
    return "".join("?" if c == "\ufffd" else
                   "".join("." if b < 0x20 or b == 0x7F else "?" if b > 0x7F else chr(b)
                           for b in c.encode("utf-8", "surrogateescape"))
                   for c in comm.split(")", 1)[0])


def _uid(fields: list[str]) -> int | None:
    """The owning uid an -e row shows (absent means 0) in its words after users:(...);
    None for a row without -e fields."""
    # ss prints uid: before ino:, and a cgroup path (which may hold spaces and any text)
    # after it.
    for word in fields:
        if word.startswith("ino:"):
            return 0
        if word.startswith("uid:") and is_number(word[4:]):
            return int(word[4:])
    return None


def _is_row(line: str, has_netid: bool) -> bool:
    """Whether `line` splits as a socket row (an ss details line never does)."""
    try:
        _split(tokens(line, _COLUMNS), line, has_netid)
    except (ValueError, IndexError):
        return False
    return True


def _split(toks: list[Token], line: str, has_netid: bool) -> _Row:
    """Cut one row into its columns; ValueError if it is not an ss row."""
    i = 0
    netid = None
    if has_netid:
        netid = toks[0].text
        if not _NETID.fullmatch(netid):
            raise ValueError(f"unknown Netid {netid!r}")
        i = 1
    state = ""
    if toks[i].text in _STATES:
        state = toks[i].text
        i += 1
    elif not is_number(toks[i].text):  # very old ss leaves State empty
        raise ValueError(f"unknown state {toks[i].text!r}")
    if len(toks) < i + 4:
        raise ValueError("too few columns")
    recv_q, send_q, local, peer = toks[i:i + 4]
    if not (is_number(recv_q.text) and is_number(send_q.text)):
        raise ValueError("queue columns are not numbers")
    return _Row(netid, state, local.text, peer.text, line[peer.end:])


def _host(endpoint: str) -> str:
    return endpoint.rpartition(":")[0]


def _is_modern(rows: list[_Row]) -> bool:
    """Whether a lone '*' local address means IPv6 dual-stack (modern ss) or IPv4 any (old).

    Modern ss prints IPv4 any as 0.0.0.0 (local and peer) and keeps '*' for an IPv6
    socket that also takes IPv4. Old ss prints '*' for IPv4 any (so an IPv4 socket's
    peer is '*:*', and '*:22' stands beside '[::]:22') and, oldest of all, IPv6 without
    brackets (':::22').
    """
    modern = old = 0
    stars: set[tuple[str | None, str]] = set()  # (protocol, port) of '*' and of IPv6 any
    ipv6_any: set[tuple[str | None, str]] = set()
    for row in rows:
        if row.netid not in (None, "tcp", "udp"):
            continue
        local, peer = _host(row.local), _host(row.peer)
        where = (row.netid or row.state, row.local.rpartition(":")[2])
        if local == "*":
            stars.add(where)
        elif local in ("[::]", "::"):
            ipv6_any.add(where)
        if "0.0.0.0" in (split_scope(local)[0], peer):
            modern += 1
        if (":" in local and not local.startswith("[")) or peer.startswith("::"):
            old += 1
        if re.fullmatch(r"[0-9.]+(%\S+)?", local) and row.peer == "*:*":
            old += 1
        if row.state == "" or (_USERS + "(" in row.extra and ",pid=" not in row.extra):
            old += 1  # no State column, users:(("name",1,3)): a very old ss
    # '*' and IPv6 any on one port: IPv4 any beside IPv6 any, as old ss prints sshd's two
    # sockets (in modern ss '*' takes IPv6 too, so no second IPv6 any could bind there).
    old += len(stars & ipv6_any)
    return modern >= old


def _tcp_table(rows: list[_Row]) -> bool:
    """Whether rows without Netid (one protocol's table) are TCP's: a state no UDP socket
    has (LISTEN, TIME-WAIT...) says so. ss names a TCP socket that is bound and neither
    listening nor connected UNCONN, as it does a bound UDP one: iproute2 6.9 and later,
    with -a on a kernel that reports them (6.9 too), list such sockets in `ss -tan`."""
    return any(r.netid is None and r.state in _STATES - _UDP_STATES for r in rows)


def _listener(row: _Row, modern: bool, *, uids: bool = False,
              tcp_table: bool = False) -> Listener | None:
    if row.netid is None and row.state == "":
        # ss drops both columns for one protocol in one state (`ss -u`, `ss -tn state
        # listening`): nothing left tells TCP from UDP.
        raise ValueError("no Netid and no State column, so TCP cannot be told from UDP; "
                         "capture with ss -tulpn")
    proto = row.netid or ("tcp" if tcp_table else
                          {"LISTEN": "tcp", "UNCONN": "udp"}.get(row.state))
    if proto == "tcp":
        listening = row.state == "LISTEN" or (row.state == "" and is_wildcard_peer(row.peer))
    elif proto == "udp":
        listening = row.state == "UNCONN" or (row.state == "" and is_wildcard_peer(row.peer))
    else:
        return None
    if not listening:
        return None
    ep = split_endpoint(row.local, proto)
    if not ep.port:  # '*' or 0: bound to no port
        return None
    address, family = ep.address, family_of(ep.address)
    dual: bool | None = False
    users = _users(row.extra)
    fields = row.extra[users.end:].split()
    # The last v6only: is ss's own: a cgroup path printed before it may hold the text.
    v6only = next((w[len("v6only:"):] for w in reversed(fields) if w.startswith("v6only:")),
                  None)
    # -e prints v6only: for every IPv6 socket and never for IPv4 ones, so when the row
    # carries -e fields they settle what a '*' is; otherwise the version does.
    star_ipv6 = v6only is not None if any(w.startswith("ino:") for w in fields) else modern
    if address == "*":
        address, family = ("::", 6) if star_ipv6 else ("0.0.0.0", 4)
        dual = star_ipv6 and (v6only is None or v6only == "0")
    elif address == "::" and v6only is not None:
        dual = v6only == "0"
    elif address == "::" and not modern:
        dual = None  # old ss printed every IPv6 wildcard so; modern ss prints '*' if dual
    elif not is_ip(address):  # -r: a host name; the peer ('0.0.0.0:*', '[::]:*', '*:*')
        family = peer_family(row.peer, 6 if star_ipv6 else 4)  # tells its family
    holders = users.holders
    return Listener(
        proto=proto, family=family, address=address, port=ep.port,
        process=holders[0][0] if holders else None,
        pid=holders[0][1] if holders else None,
        iface=ep.iface, dual_stack=dual, port_name=ep.port_name,
        other_processes=tuple(f"{name}/{pid}" for name, pid in holders[1:]),
        owner_note=users.problem, uid=_uid(fields) if uids else None,
        # ss prints the device a socket is bound to after its address (inet_diag's
        # idiag_if: SO_BINDTODEVICE, a VRF, an IPv6 zone): without one, it is bound to none
        device_shown=True,
    )
