"""Linux `sockstat` (the Debian and Ubuntu package): 'USER PROCESS PID PROTO SOURCE
ADDRESS FOREIGN ADDRESS STATE'.

It prints one row per socket a process holds, in seven words: the process name is cut at
its first space, a wildcard is '*' (IPv4) or '::' (IPv6), and a bound UDP socket's state
is CLOSED. Like lsof it lists only sockets some process holds (a socket only the kernel
holds, such as nfsd's, is not in it). Two of its options leave listeners out without a
word in the output: -l lists
listening TCP sockets only (no UDP), -c connected sockets only. An output that could be
either is refused, never read as 'nothing else listens'.
"""

from __future__ import annotations

from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import ParseError, is_wildcard_peer, lines
from fleetcheck.parsers.inet import PROTO_WORD, listener_at, proto_family, split_colon

HEADER = ("USER", "PROCESS", "PID", "PROTO")
_ROW_WORDS = 7  # user, process, pid, proto, local, foreign, state


def is_linux_sockstat(text: str) -> bool:
    """Whether `text` starts (blank lines aside) with Linux sockstat's header."""
    first = next((line for line in lines(text) if line.strip()), "")
    return tuple(first.split()[:4]) == HEADER


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound, unconnected UDP sockets from Linux sockstat output."""
    out: list[Listener] = []
    rows = 0
    udp_or_other = False  # a row -l would not print: UDP, or a TCP socket not listening
    first_row: tuple[int, str] | None = None
    for no, line in enumerate(lines(text), 1):
        words = line.split()
        if not words or tuple(words[:4]) == HEADER:
            continue
        try:
            listener, listening_tcp = _row(words)
        except ValueError as exc:
            raise ParseError(f"not a Linux sockstat line ({exc})", no, line) from None
        rows += 1
        first_row = first_row or (no, line)
        udp_or_other = udp_or_other or not listening_tcp
        if listener is not None:
            out.append(listener)
    if first_row is not None and not out:
        raise ParseError("lists only connections, no listening socket: sockstat was run with "
                         "-c; capture with sockstat (no -c or -l) or ss -tulpn", *first_row)
    if first_row is not None and not udp_or_other:
        raise ParseError("every row is a listening TCP socket, as sockstat -l prints (it "
                         "leaves out UDP sockets); capture with sockstat (no -l) or "
                         "ss -tulpn", *first_row)
    return out


def _row(words: list[str]) -> tuple[Listener | None, bool]:
    """The row's listener (None if not listening) and whether it is a listening TCP one."""
    if len(words) > 4 and words[3] == "unix":
        return None, False  # -u: a path (which may hold spaces) and no peer or state
    if len(words) != _ROW_WORDS:
        raise ValueError(f"{len(words)} columns, not {_ROW_WORDS}")
    user, process, pid, proto_word, local, foreign, state = words
    if not is_number(pid):
        raise ValueError(f"pid column holds {pid!r}")
    if not PROTO_WORD.match(proto_word):
        return None, False  # raw, unix
    proto, family, _ = proto_family(proto_word)
    listening = is_wildcard_peer(foreign) and state == ("LISTEN" if proto == "tcp" else "CLOSED")
    if not listening:
        return None, False
    # sockstat does not show IPV6_V6ONLY: an IPv6 wildcard's dual stack is unknown.
    listener = listener_at(proto, split_colon(local, proto), family, dual=None,
                           process=process, pid=int(pid), user=user)
    return listener, proto == "tcp"
