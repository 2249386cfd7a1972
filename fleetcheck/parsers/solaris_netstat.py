"""Solaris / illumos `netstat -an -f inet -f inet6`: one titled section per protocol and family.

Sections are titled 'TCP: IPv4', 'UDP: IPv6', 'SCTP:' ... each with its own header and
a dashed rule. Addresses are 'host.port'. A UDP socket that is bound and not
connected is 'Idle'; 'Unbound' sockets are skipped. IPv6 sections end in an 'If'
column naming the interface of a scoped address.
"""

from __future__ import annotations

import re

from fleetcheck.model import Listener
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
    proto, family = section
    if not columns:
        raise ValueError("socket line before the column header")
    iface = None
    if columns[-1] == "If" and words[-1] not in _STATES:
        iface = words.pop()  # the interface of a scoped (link-local) address
    state = words[-1]
    local = words[0]
    if proto == "tcp":
        if len(words) < 7:
            raise ValueError("too few columns for a TCP line")
        if state != "LISTEN":
            return None
    else:
        if len(words) not in (2, 3):
            raise ValueError("expected local address, optional remote address, state")
        if state != "Idle" or (len(words) == 3 and words[1] != "*.*"):
            return None  # unbound, or connected to a peer
    if local == "*.*":
        return None
    return listener_at(proto, split_dotted(local, proto), family, iface=iface)
