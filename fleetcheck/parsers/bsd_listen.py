"""BSD `netstat -L` (`-Lan`): the listen queues, one row per listening socket.

Under the title 'Current listen queue sizes (qlen/incqlen/maxqlen)' FreeBSD prints
'[Socket] Proto Listen Local Address' (tcp4, tcp6, tcp46, sctp4, unix...), macOS
'Listen Local Address' with no protocol: every row there is a listening TCP socket,
whose family only its address tells ('*' is printed for the any-address of both, and
is read as IPv4's). UDP has no listen queue, so the output lists TCP listeners only.
"""

from __future__ import annotations

import re

from fleetcheck.model import Listener
from fleetcheck.parsers.common import ParseError, lines
from fleetcheck.parsers.inet import listener_at, proto_family, split_dotted

TITLE = "Current listen queue sizes"
_QUEUE = re.compile(r"\d+/\d+/\d+")
_HEX = re.compile(r"(0x)?[0-9a-fA-F]+")
# macOS ends a listing that changed while it was read with this notice.
_NOTICE = re.compile(r"Some \w+ sockets may have been created or deleted\.")


def is_listen_queue(text: str) -> bool:
    """Whether `text` is netstat -L output (its title, and no connection table)."""
    rows = lines(text)
    return any(line.startswith(TITLE) for line in rows) and not any(
        line.startswith("Active Internet") for line in rows)


def parse(text: str) -> list[tuple[Listener, str | None]]:
    """Each listening TCP socket, with the kernel address -A printed before it (or None)."""
    out: list[tuple[Listener, str | None]] = []
    titled = False
    for no, line in enumerate(lines(text), 1):
        words = line.split()
        if not words or _NOTICE.fullmatch(line.strip()):
            continue
        if line.startswith(TITLE):
            titled = True
            continue
        if not titled or ("Listen" in words and any(w.startswith("Local") for w in words)):
            continue  # lines before the title (a prompt), and the header
        socket = words.pop(0) if len(words) == 4 and _HEX.fullmatch(words[0]) else None
        proto_word = words.pop(0) if len(words) == 3 else "tcp"
        if len(words) != 2 or not _QUEUE.fullmatch(words[0]):
            raise ParseError("not a netstat -L line", no, line)
        if not re.fullmatch(r"tcp(4|6|46)?", proto_word):
            continue  # unix, sctp: no TCP or UDP port
        try:
            listener = _listener(proto_word, words[1])
        except ValueError as exc:
            raise ParseError(f"not a netstat -L line ({exc})", no, line) from None
        if listener is not None:
            out.append((listener, socket))
    return out


def _listener(proto_word: str, address: str) -> Listener | None:
    ep = split_dotted(address, "tcp")
    if proto_word == "tcp":  # macOS: no protocol word, the address alone says the family
        return listener_at("tcp", ep, None)
    _, family, dual = proto_family(proto_word)
    return listener_at("tcp", ep, family, dual=dual)
