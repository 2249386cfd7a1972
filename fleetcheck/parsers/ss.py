"""iproute2 `ss` output (old and new, with or without header, Netid and State columns)."""

from __future__ import annotations

import re

from fleetcheck.model import Listener
from fleetcheck.parsers.common import ParseError, family_of, is_wildcard_peer, split_endpoint

_NETIDS = {"tcp", "udp", "raw", "u_str", "u_dgr", "u_seq", "nl", "p_raw", "p_dgr", "sctp",
           "mptcp", "tipc", "v_str", "v_dgr", "xdp", "icmp6", "icmp", "dccp", "u_seqpacket"}
_STATES = {"LISTEN", "UNCONN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
           "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK", "CLOSING", "CLOSED", "UNKNOWN", "BOUND"}
# Each `("name",pid=1,fd=3)` entry of users:(...); old ss prints `("name",1,3)`.
_USER = re.compile(r'\("((?:[^"\\]|\\.)*)",(?:pid=)?(\d+),(?:fd=)?\d+\)')
_UID = re.compile(r"\buid:(\d+)")
_INODE = re.compile(r"\bino:(\d+)")


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound, unconnected UDP sockets from `ss` output."""
    lines = text.splitlines()
    has_netid: bool | None = None
    modern = _is_modern(text)
    out: list[Listener] = []
    saw_header = False
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        words = line.split()
        if words[0] in ("Netid", "State", "Recv-Q"):
            has_netid = words[0] == "Netid"
            saw_header = True
            continue
        if has_netid is None:  # -H: tell by the first word
            has_netid = words[0] in _NETIDS
        try:
            listener = _row(words, line, has_netid, modern)
        except (ValueError, IndexError) as exc:
            raise ParseError(f"not an ss socket line ({exc})", no, line) from None
        if listener is not None:
            out.append(listener)
    if not out and not saw_header:
        raise ParseError("no ss header and no socket lines")
    return out


def _is_modern(text: str) -> bool:
    """Modern ss prints 0.0.0.0 and [::]; old ss prints '*' for IPv4-any and ':::port'."""
    if re.search(r"\s(0\.0\.0\.0|\[[^\]\s]*\]):\S+\s", text):
        return True
    # Unbracketed ':::22' is old ss; with no evidence either way, assume a current ss.
    return not re.search(r"\s:::\S+\s", text)


def _row(words: list[str], line: str, has_netid: bool, modern: bool) -> Listener | None:
    i = 0
    netid = None
    if has_netid:
        netid = words[0]
        if netid not in _NETIDS:
            raise ValueError(f"unknown Netid {netid!r}")
        i = 1
    state = ""
    if words[i] in _STATES:
        state = words[i]
        i += 1
    elif not words[i].isdigit():
        raise ValueError(f"unknown state {words[i]!r}")
    recv_q, send_q, local, peer = words[i:i + 4]
    if not (recv_q.isdigit() and send_q.isdigit()):
        raise ValueError("queue columns are not numbers")
    proto = netid or ("tcp" if state == "LISTEN" else "udp" if state == "UNCONN" else None)
    if proto not in ("tcp", "udp"):
        return None
    if (proto == "tcp" and state not in ("LISTEN", "")) or (proto == "udp" and state not in (
            "UNCONN", "")):
        return None
    if state == "" and not is_wildcard_peer(peer):
        return None
    ep = split_endpoint(local, proto)
    if ep.port is None:
        return None
    extra = line.split(peer, 1)[1] if peer in line else ""
    address, family, dual = ep.address, family_of(ep.address), False
    if address == "*":
        if modern:  # modern ss: '*' is an IPv6 socket that also takes IPv4
            address, family, dual = "::", 6, True
        else:
            address, family = "0.0.0.0", 4
    elif address in ("::", "0.0.0.0") and "v6only:0" in extra and family == 6:
        dual = True
    users = _USER.findall(extra)
    uid = _UID.search(extra)
    inode = _INODE.search(extra)
    return Listener(
        proto=proto, family=family, address=address, port=ep.port,
        process=_unescape(users[0][0]) if users else None,
        pid=int(users[0][1]) if users else None,
        iface=ep.iface, dual_stack=dual, port_name=ep.port_name,
        other_processes=tuple(f"{_unescape(n)}/{p}" for n, p in users[1:]),
        uid=int(uid.group(1)) if uid else None,
        inode=int(inode.group(1)) if inode else None,
    )


def _unescape(name: str) -> str:
    return name.replace('\\"', '"').replace("\\\\", "\\")
