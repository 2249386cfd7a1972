"""BSD `sockstat` output (FreeBSD, NetBSD, DragonFly), read from the right.

sockstat pads USER, COMMAND, PID and FD to fixed columns but never cuts a long
user name, so columns overflow: a command runs into its pid ('spc in nam63210')
and an IPv4 local address into its peer ('192.168.1.5:9000192.168.1.21:49866').
The addresses and the protocol are therefore found from the right, the user is
the first word, and whatever lies between is command, pid and fd.
"""

from __future__ import annotations

import re

from fleetcheck.model import Listener
from fleetcheck.parsers.common import Endpoint, ParseError, is_ip
from fleetcheck.parsers.inet import PROTO_WORD, listener_at, proto_family, split_colon

_INET = re.compile(r"^(tcp|udp|sctp|udplite|div|divert)(4|6|46)?$")
_UNIX = re.compile(r"^(stream|dgram|seqpac|seqpacket)$")
_TCP_STATES = {"LISTEN", "ESTABLISHED", "SYN_SENT", "SYN_RCVD", "FIN_WAIT_1", "FIN_WAIT_2",
               "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "CLOSED", "BOUND", "??"}
_COMMAND_WIDTH = 10  # sockstat prints at most 10 characters of a command name


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound, unconnected UDP sockets from sockstat output."""
    out: list[Listener] = []
    recognised = False
    for no, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words:
            continue
        if words[:5] == ["USER", "COMMAND", "PID", "FD", "PROTO"]:
            recognised = True
            continue
        if line[0].isspace() and all(":" in w for w in words):
            continue  # further addresses of a multi-homed SCTP socket
        try:
            listener = _row(words)
        except (ValueError, IndexError) as exc:
            raise ParseError(f"not a sockstat line ({exc})", no, line) from None
        recognised = True
        if listener is not None:
            out.append(listener)
    if not recognised:
        raise ParseError("no sockstat header and no socket lines")
    return out


def _row(words: list[str]) -> Listener | None:
    state = words.pop() if words[-1] in _TCP_STATES else None
    p = _proto_index(words)
    if p is None:
        if any(_UNIX.match(w) for w in words[1:6]):
            return None  # a UNIX-domain socket
        raise ValueError("no protocol column")
    proto_word = words[p]
    if words[p] == "6" and words[p - 1].endswith("4"):
        proto_word, p = words[p - 1] + "6", p - 1  # older sockstat printed tcp46 as 'tcp4 6'
    addrs = words[(p + 1 if proto_word == words[p] else p + 2):]
    if not PROTO_WORD.match(proto_word):
        return None  # sctp, divert...
    proto, family, dual = proto_family(proto_word)
    local_text, foreign_text = _addresses(addrs, proto)
    user, process, pid = _owner(words[:p])
    if foreign_text not in ("*:*", "*.*"):
        return None  # connected
    if proto == "tcp" and state not in (None, "LISTEN"):
        return None
    return listener_at(proto, split_colon(local_text, proto), family, dual=dual,
                       process=process, pid=pid, user=user)


def _proto_index(words: list[str]) -> int | None:
    """Index of the protocol word: the rightmost one followed only by address columns."""
    for i in range(len(words) - 1, 0, -1):
        if _INET.match(words[i]) or (words[i] == "6" and _INET.match(words[i - 1])):
            return i
    return None


def _addresses(addrs: list[str], proto: str) -> tuple[str, str]:
    """The local and foreign address texts; splits the two when they ran together."""
    if len(addrs) == 2:
        return addrs[0], addrs[1]
    if len(addrs) == 1:
        return _split_glued(addrs[0], proto)
    raise ValueError(f"expected 2 address columns, found {len(addrs)}")


def _split_glued(text: str, proto: str) -> tuple[str, str]:
    """'192.168.1.5:9000192.168.1.21:49866' -> the one split where both halves are addresses."""
    for i in range(3, len(text) - 2):
        left, right = text[:i], text[i:]
        if _valid(left, proto) and _valid(right, proto):
            return left, right
    raise ValueError(f"cannot split {text!r} into local and foreign address")


def _valid(text: str, proto: str) -> bool:
    try:
        ep: Endpoint = split_colon(text, proto)
    except ValueError:
        return False
    port_text = text.rpartition(":")[2]
    return (ep.address == "*" or is_ip(ep.address)) and (port_text == "*" or (
        port_text.isdigit() and not (len(port_text) > 1 and port_text[0] == "0")))


def _owner(left: list[str]) -> tuple[str | None, str | None, int | None]:
    """USER, COMMAND and PID from the words before the protocol (the last of them is FD)."""
    if len(left) < 3:
        raise ValueError("missing user, command, pid or fd column")
    user, middle, fd = left[0], left[1:-1], left[-1]
    if not (fd.isdigit() or fd == "?"):
        raise ValueError(f"fd column holds {fd!r}")
    if middle[-1].isdigit() or middle[-1] == "?":
        command, pid_text = " ".join(middle[:-1]), middle[-1]
    else:  # an overflowing user pushed the command against its pid
        joined = " ".join(middle)
        if len(joined) > _COMMAND_WIDTH and joined[_COMMAND_WIDTH:].isdigit():
            command, pid_text = joined[:_COMMAND_WIDTH], joined[_COMMAND_WIDTH:]
        else:
            m = re.fullmatch(r"(.*?)(\d+)", joined)
            if not m:
                raise ValueError(f"no pid in {joined!r}")
            command, pid_text = m.group(1), m.group(2)
    return (None if user == "?" else user,
            None if command in ("?", "??", "") else command,
            int(pid_text) if pid_text.isdigit() else None)
