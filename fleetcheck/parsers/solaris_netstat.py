"""Solaris / illumos `netstat -an -f inet -f inet6`: one titled section per protocol and family.

Sections are titled 'TCP: IPv4', 'UDP: IPv6', 'SCTP:' ... each with its own header and
a dashed rule. Addresses are 'host.port'. A UDP socket that is bound and not
connected is 'Idle'; 'Unbound' sockets are skipped. IPv6 sections have an 'If' column
naming the interface of a scoped address. Solaris 11.4 adds UDP's buffer counts after
the state, and with -u the User, Pid and Command owning each socket.
"""

from __future__ import annotations

import re

from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import ParseError, lines
from fleetcheck.parsers.inet import listener_at, split_dotted

_TITLE = re.compile(r"^(TCP|UDP|SCTP|RAWIP|ICMP)(: IPv(4|6))?:?\s*$")
_STATES = {"Idle", "Unbound", "Connected", "BOUND", "LISTEN", "IDLE", "ESTABLISHED", "SYN_SENT",
           "SYN_RCVD", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK",
           "TIME_WAIT", "CLOSED"}
_OTHER_TITLE = re.compile(r"^Active (UNIX domain sockets|Internet connections)")


def parse(text: str) -> list[Listener]:
    """Listening TCP and idle (bound, unconnected) UDP sockets from Solaris netstat."""
    out: list[Listener] = []
    section: tuple[str, int] | None = None  # (proto, family) of the current section
    columns: list[str] = []
    skipping = False
    recognised = False
    for no, line in enumerate(lines(text), 1):
        words = line.split()
        if not words:
            continue
        title = _TITLE.match(line)
        if title:
            recognised = True
            skipping = title.group(1) not in ("TCP", "UDP") or not title.group(3)
            section = None if skipping else (title.group(1).lower(), int(title.group(3)))
            columns = []
            continue
        if _OTHER_TITLE.match(line):
            skipping, section = True, None  # UNIX-domain sockets: not ours
            continue
        if skipping:
            continue
        if section is None:
            raise ParseError("not Solaris netstat output (no 'TCP: IPv4' style section title)",
                             no, line)
        if words[0] == "Local":
            columns = _columns(line)
            continue
        if set(line.strip()) <= {"-", " "}:
            continue
        try:
            listener = _row(section, columns, words)
        except (ValueError, IndexError) as exc:
            raise ParseError(f"not a Solaris netstat socket line ({exc})", no, line) from None
        if listener is not None:
            out.append(listener)
    if not recognised:
        raise ParseError("no 'TCP: IPv4' style section title")
    return out


def _columns(header: str) -> list[str]:
    """Header words, with the two-word address headings joined."""
    return header.replace("Local Address", "Local").replace("Remote Address", "Remote").split()


def _row(section: tuple[str, int], columns: list[str], words: list[str]) -> Listener | None:
    """One socket line, read around its state word: before it the remote address (TCP;
    UDP leaves it blank until connected) and, with -u (Solaris 11.4), User, Pid and
    Command, then TCP's four window and queue counts; after it the interface of a scoped
    address (IPv6) and, in 11.4, UDP's buffer counts."""
    proto, family = section
    if not columns:
        raise ValueError("socket line before the column header")
    at = next((i for i, w in enumerate(words) if i and w in _STATES), None)
    if at is None:
        raise ValueError("no state word")
    local, middle, after = words[0], words[1:at], words[at + 1:]
    iface = None
    if "If" in columns and after and not is_number(after[0]):
        iface = after.pop(0)  # the interface of a scoped (link-local) address
    if not all(is_number(w) for w in after):
        raise ValueError(f"unexpected {' '.join(after)!r} after the state")
    owner = "User" in columns and "Pid" in columns
    remote: str | None
    if proto == "tcp":
        if len(middle) < 5 or not all(is_number(w) for w in middle[-4:]):
            raise ValueError("expected the remote address and four window and queue counts")
        remote, who = middle[0], middle[1:-4]
    else:
        remote = middle[0] if middle and not owner else None
        who = middle if owner else []
        if not owner and len(middle) > 1:
            raise ValueError("expected local address, optional remote address, state")
    if words[at] != ("LISTEN" if proto == "tcp" else "Idle") or local == "*.*":
        return None  # not listening, unbound, or (UDP) connected to a peer
    if proto == "udp" and remote not in (None, "*.*"):
        return None
    user = pid = process = None
    if owner:
        if len(who) < 2 or not is_number(who[1]):
            raise ValueError("expected user, pid and command")
        user, pid, process = who[0], int(who[1]), " ".join(who[2:]) or None
    # An IPv6 socket takes IPv4 too unless IPV6_V6ONLY, which netstat does not show.
    return listener_at(proto, split_dotted(local, proto), family, dual=None, iface=iface,
                       user=user, pid=pid, process=process)
