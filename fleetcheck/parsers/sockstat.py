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
from fleetcheck.numbers import is_number
from fleetcheck.parsers import sockstat_linux
from fleetcheck.parsers.common import Endpoint, ParseError, Token, is_ip, lines, tokens
from fleetcheck.parsers.inet import PROTO_WORD, listener_at, proto_family, split_colon

_INET = re.compile(r"^(tcp|udp|sctp|udplite|div|divert)(4|6|46)?$")
_UNIX = re.compile(r"^(stream|dgram|seqpac|seqpacket)$")
_TCP_STATES = {"LISTEN", "ESTABLISHED", "SYN_SENT", "SYN_RCVD", "FIN_WAIT_1", "FIN_WAIT_2",
               "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "CLOSED", "BOUND", "??"}
# `sockstat -i`: an ID column right after the addresses (the probe asks for no -f or -I,
# whose columns would come before it).
_ID_HEADER = re.compile(r"FOREIGN ADDRESS\s+ID(\s|$)")
_COMMAND_WIDTH = 10  # sockstat prints at most 10 characters of a command name
# Two addresses run together: '[v6 with scope]:port' twice at the very most.
_GLUED_MAX = 2 * 64


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound, unconnected UDP sockets from sockstat output (Linux's
    sockstat, a tool of its own, is read by sockstat_linux), a row per holding process."""
    return [li for _, li in parse_rows(text)]


def parse_rows(text: str) -> list[tuple[str, Listener]]:
    """`parse`'s listeners, each with its socket's ID (`sockstat -i`, FreeBSD: the
    inp_gencnt, one number a socket) or "" where sockstat printed none.

    sockstat prints a row per process holding a socket: rows of one ID are one socket
    (a pre-fork master and its workers), rows of different IDs at one address are
    SO_REUSEPORT sockets. Without -i nothing tells the two apart.

    A command name holding a newline breaks its row in two: a line with no protocol
    column is held and read together with the next line (the command then holds the
    newline), as long as the command still fits sockstat's column.
    """
    if sockstat_linux.is_linux_sockstat(text):
        return [("", li) for li in sockstat_linux.parse(text)]
    out: list[tuple[str, Listener]] = []
    ids = False  # the header has an ID column: the first column after the addresses
    recognised = False
    held: tuple[int, str] | None = None  # a row broken by a name: its number and first part
    for no, line in enumerate(lines(text), 1):
        toks = tokens(line)
        if not toks:
            continue
        if held is None and [t.text for t in toks[:5]] == ["USER", "COMMAND", "PID", "FD",
                                                           "PROTO"]:
            recognised = True
            ids = _ID_HEADER.search(line) is not None
            continue
        if held is None and line[0].isspace() and all(":" in t.text for t in toks):
            continue  # further addresses of a multi-homed SCTP socket
        first_no, text_of = (held[0], f"{held[1]}\n{line}") if held else (no, line)
        try:
            row = _row(text_of, tokens(text_of))
        except _Broken as exc:
            if held is None:
                held = (no, line)
                continue
            raise ParseError(f"not a sockstat line ({exc})", first_no, text_of) from None
        except (ValueError, IndexError) as exc:
            raise ParseError(f"not a sockstat line ({exc})", first_no, text_of) from None
        held = None
        recognised = True
        if row is not None:
            listener, extra = row
            out.append((extra[0] if ids and extra and is_number(extra[0]) else "", listener))
    if held is not None:
        raise ParseError("not a sockstat line (no protocol column)", held[0], held[1])
    if not recognised:
        raise ParseError("no sockstat header and no socket lines")
    return out


class _Broken(ValueError):
    """A line with no protocol column: possibly the first part of a row a name broke."""


def _row(line: str, toks: list[Token]) -> tuple[Listener, list[str]] | None:
    """The row's listener and the columns after its addresses; None for no listener."""
    words = [t.text for t in toks]
    p = _proto_index(words)
    if p is None:
        if any(_UNIX.match(w) for w in words[1:6]):
            return None  # a UNIX-domain socket
        raise _Broken("no protocol column")
    proto_word = words[p]
    if words[p] == "6" and words[p - 1].endswith("4"):
        proto_word, p = words[p - 1] + "6", p - 1  # older sockstat printed tcp46 as 'tcp4 6'
    addrs = words[(p + 1 if proto_word == words[p] else p + 2):]
    if not PROTO_WORD.match(proto_word):
        return None  # sctp, divert...
    proto, family, dual = proto_family(proto_word)
    local_text, foreign_text, extra = _addresses(addrs, proto)
    state = _state(extra)
    user, process, pid = _owner(line, toks[:p])
    if foreign_text not in ("*:*", "*.*"):
        return None  # connected
    if proto == "tcp" and state not in (None, "LISTEN"):
        return None
    listener = listener_at(proto, split_colon(local_text, proto), family, dual=dual,
                           process=process, pid=pid, user=user)
    return None if listener is None else (listener, extra)


def _proto_index(words: list[str]) -> int | None:
    """Index of the protocol word: the rightmost one followed only by address columns."""
    for i in range(len(words) - 1, 0, -1):
        if _INET.match(words[i]) or (words[i] == "6" and _INET.match(words[i - 1])):
            return i
    return None


def _addresses(addrs: list[str], proto: str) -> tuple[str, str, list[str]]:
    """The local and foreign address texts (split when they ran together) and the columns
    after them: FIB (-f), SPLICE ADDRESS (-I), ID (-i), ENCAPS (-U), PATH and CONN STATE
    (-s, or FreeBSD 15's default), STACK (-S) and CC (-C), each printed only for some rows."""
    if not addrs:
        raise ValueError("no address columns")
    if len(addrs) >= 2 and _valid(addrs[0], proto) and _valid(addrs[1], proto):
        return addrs[0], addrs[1], addrs[2:]
    try:
        local, foreign = _split_glued(addrs[0], proto)
    except ValueError:
        if len(addrs) < 2:
            raise
        return addrs[0], addrs[1], addrs[2:]  # split_colon then says what is wrong
    return local, foreign, addrs[1:]


def _state(extra: list[str]) -> str | None:
    """The TCP state among the columns after the addresses ('??': FreeBSD 15's unknown)."""
    states = [word for word in extra if word in _TCP_STATES]
    known = [word for word in states if word != "??"]
    return (known or states)[0] if states else None


def _split_glued(text: str, proto: str) -> tuple[str, str]:
    """'192.168.1.5:9000192.168.1.21:49866' -> the one split where both halves are addresses."""
    if len(text) > _GLUED_MAX:  # no two addresses are that long: not worth trying each cut
        raise ValueError(f"cannot split {text[:40]!r}... into local and foreign address")
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
        is_number(port_text) and not (len(port_text) > 1 and port_text[0] == "0")))


# What sockstat prints for an owner it does not know (a socket no process holds):
# '?' up to FreeBSD 14, '??' from 15.
_UNKNOWN = ("?", "??")


def _owner(line: str, left: list[Token]) -> tuple[str | None, str | None, int | None]:
    """USER, COMMAND and PID from the words before the protocol (the last of them is FD).

    The command is the text between the user and the pid as printed (spaces, tabs and
    newlines kept), trailing padding aside.
    """
    if len(left) < 3:
        raise ValueError("missing user, command, pid or fd column")
    user, middle, fd = left[0].text, left[1:-1], left[-1].text
    if not (is_number(fd) or fd in _UNKNOWN):
        raise ValueError(f"fd column holds {fd!r}")
    last = middle[-1].text
    if is_number(last) or last in _UNKNOWN:
        command = line[left[0].end:middle[-1].start].strip(" ")
        pid_text = last
    else:  # an overflowing user pushed the command against its pid
        joined = line[middle[0].start:middle[-1].end]
        digits = len(joined) - len(joined.rstrip("0123456789"))
        if len(joined) > _COMMAND_WIDTH and is_number(joined[_COMMAND_WIDTH:]):
            command, pid_text = joined[:_COMMAND_WIDTH], joined[_COMMAND_WIDTH:]
        elif digits:
            command, pid_text = joined[:-digits], joined[-digits:]
        else:
            raise ValueError(f"no pid in {joined!r}")
    command = command.strip(" ")
    if len(command) > _COMMAND_WIDTH + command.count("\n"):
        raise ValueError(f"command {command!r} is wider than sockstat prints")
    return (None if user in _UNKNOWN else user,
            None if command in ("", *_UNKNOWN) else command,
            int(pid_text) if is_number(pid_text) else None)
