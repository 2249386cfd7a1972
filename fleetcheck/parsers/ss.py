"""iproute2 `ss` output: old and modern, with or without header, Netid and State columns."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from fleetcheck.model import Listener
from fleetcheck.parsers.common import (
    ParseError,
    Token,
    family_of,
    is_wildcard_peer,
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
_NETID = re.compile(r"[a-z][a-z0-9_]{1,11}")
# Each `("name",pid=1,fd=3)` of users:(...); old ss prints `("name",1,3)`. The name is
# printed raw (it may hold spaces, quotes or slashes), so it ends at the first `",pid=`.
_USER = re.compile(r'\("(.*?)",(?:pid=)?(\d+),(?:fd=)?\d+\)')
_HEADER_WORDS = ("Netid", "State", "Recv-Q")


@dataclass(frozen=True, slots=True)
class _Row:
    netid: str | None
    state: str
    local: str
    peer: str
    extra: str  # everything after the peer column: users:(...), ino:, v6only:, ...


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
    rows: list[tuple[int, str, _Row]] = []
    for no, line in enumerate(text.splitlines(), 1):
        words = tokens(line)
        if not words:
            continue
        if words[0].text in _HEADER_WORDS:
            has_netid = words[0].text == "Netid"
            saw_header = True
            continue
        if has_netid is None:  # ss -H: tell by the first word of the first row
            has_netid = words[0].text not in _STATES and not words[0].text.isdigit()
        try:
            rows.append((no, line, _split(words, line, has_netid)))
        except (ValueError, IndexError) as exc:
            raise ParseError(f"not an ss socket line ({exc})", no, line) from None
    if not rows and not saw_header:
        raise ParseError("no ss header and no socket lines")
    modern = _is_modern([r for _, _, r in rows])
    out: list[Listener] = []
    for no, line, row in rows:
        try:
            listener = _listener(row, modern)
        except ValueError as exc:
            raise ParseError(f"bad ss socket line ({exc})", no, line) from None
        if listener is not None:
            out.append(replace(listener, uid=_uid(row.extra)) if uids else listener)
    return out


def _uid(extra: str) -> int | None:
    """The owning uid an -e row shows (absent means 0); None for a row without -e fields."""
    # The last one: users:(...) comes first and a process name may contain "uid:0".
    uids = re.findall(r"\buid:(\d+)", extra)
    if uids:
        return int(uids[-1])
    return 0 if re.search(r"\bino:\d+", extra) else None


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
    elif not toks[i].text.isdigit():  # very old ss leaves State empty
        raise ValueError(f"unknown state {toks[i].text!r}")
    if len(toks) < i + 4:
        raise ValueError("too few columns")
    recv_q, send_q, local, peer = toks[i:i + 4]
    if not (recv_q.text.isdigit() and send_q.text.isdigit()):
        raise ValueError("queue columns are not numbers")
    return _Row(netid, state, local.text, peer.text, line[peer.end:])


def _host(endpoint: str) -> str:
    return endpoint.rpartition(":")[0]


def _is_modern(rows: list[_Row]) -> bool:
    """Whether a lone '*' local address means IPv6 dual-stack (modern ss) or IPv4 any (old).

    Modern ss prints IPv4 any as 0.0.0.0 (local and peer) and keeps '*' for an IPv6
    socket that also takes IPv4. Old ss prints '*' for IPv4 any (so an IPv4 socket's
    peer is '*:*') and, oldest of all, IPv6 without brackets (':::22').
    """
    modern = old = 0
    for row in rows:
        if row.netid not in (None, "tcp", "udp"):
            continue
        local, peer = _host(row.local), _host(row.peer)
        if "0.0.0.0" in (split_scope(local)[0], peer):
            modern += 1
        if (":" in local and not local.startswith("[")) or peer.startswith("::"):
            old += 1
        if re.fullmatch(r"[\d.]+(%\S+)?", local) and row.peer == "*:*":
            old += 1
        if row.state == "" or ('users:((' in row.extra and ",pid=" not in row.extra):
            old += 1  # no State column, users:(("name",1,3)): a very old ss
    return modern >= old


def _listener(row: _Row, modern: bool) -> Listener | None:
    proto = row.netid or {"LISTEN": "tcp", "UNCONN": "udp"}.get(row.state)
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
    address, family, dual = ep.address, family_of(ep.address), False
    v6only = re.search(r"\bv6only:(\d)", row.extra)
    if address == "*":
        # -e prints v6only: for every IPv6 socket and never for IPv4 ones, so when
        # the row carries -e fields they settle what '*' is; otherwise the version does.
        ipv6 = v6only is not None if "ino:" in row.extra else modern
        address, family = ("::", 6) if ipv6 else ("0.0.0.0", 4)
        dual = ipv6 and (v6only is None or v6only.group(1) == "0")
    elif address == "::" and v6only is not None:
        dual = v6only.group(1) == "0"
    users = _USER.findall(row.extra)
    return Listener(
        proto=proto, family=family, address=address, port=ep.port,
        process=users[0][0] if users else None,
        pid=int(users[0][1]) if users else None,
        iface=ep.iface, dual_stack=dual, port_name=ep.port_name,
        other_processes=tuple(f"{name}/{pid}" for name, pid in users[1:]),
    )
