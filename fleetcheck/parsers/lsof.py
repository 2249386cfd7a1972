"""Plain `lsof` listings (`lsof -nP -i`, or a full `lsof`): the IPv4 and IPv6 rows."""

from __future__ import annotations

import re

from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import (
    ParseError,
    any_address,
    check_host,
    lines,
    parse_port,
    split_scope,
    tokens,
    unshown_dual,
)

# lsof prints a command name's unprintable bytes as \b \f \n \r \t or \xNN (spaces too,
# as \x20) and a backslash as \\: the name is one word, whatever the process called itself.
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[bfnrt\\])")
# A word of the TCP/TPI info lsof prints after NAME: the state, or (-T) 'QR=0', 'SO=...'.
_TCP_INFO = re.compile(r"[A-Z_]+(=\S*)?")
_C_SPACE = " \t\n\v\f\r"  # what C's isspace() takes for white space, as lsof splits words
_CONTROL = {"b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\"}


SocketKey = tuple[str, int, str, int]  # proto, family, address, port
# lsof's own messages, when stderr was captured too: 'lsof: WARNING: can't stat() ...'
# goes on in an indented line ('      Output information may be incomplete.').
_MESSAGE = "lsof: "


def messages(text_lines: list[str]) -> set[int]:
    """Indexes of lsof's own messages among `text_lines`: 'lsof: ...' and its indented rest.

    lsof prints a command name's spaces as \\x20 and starts a row (or a -F field line) at
    its first column, so only a process named 'lsof:' starts a row so, and its PID follows
    (a message goes on in words: 'lsof: WARNING: ...', 'lsof: no pwd entry ...').
    """
    found: set[int] = set()
    for i, line in enumerate(text_lines):
        if line.startswith(_MESSAGE):
            words = line.split(maxsplit=2)
            if len(words) < 2 or not is_number(words[1]):
                found.add(i)
        elif i - 1 in found and line[:1].isspace() and line.strip():
            found.add(i)
    return found


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound, unconnected UDP sockets from lsof's default output.

    One listener per socket and process as printed: rows repeated for each thread of
    a process (the TID column) are one listener; a socket held by several processes
    gives one listener per process, as lsof lists it.
    """
    return [listener for _, listener in _rows(text)]


def with_devices(text: str) -> list[tuple[str, Listener]]:
    """As `parse`, each listener with its row's DEVICE (a socket's inode on Linux)."""
    return [(device, listener) for (_, device, _, _), listener in _rows(text)]


def sockets(text: str) -> dict[SocketKey, int]:
    """How many distinct sockets (DEVICE) lsof listed at each (proto, family, address, port)."""
    devices: dict[SocketKey, set[str]] = {}
    for (_, device, _, _), li in _rows(text):
        devices.setdefault((li.proto, li.family, li.address, li.port), set()).add(device)
    return {key: len(found) for key, found in devices.items()}


def _rows(text: str) -> list[tuple[tuple[int, str, str, str], Listener]]:
    """Each listener lsof printed, once per (pid, socket, proto, name)."""
    header_seen = False
    headerless = False  # rows only (`lsof -i | grep LISTEN`): then every line is a socket's
    seen: set[tuple[int, str, str, str]] = set()
    out: list[tuple[tuple[int, str, str, str], Listener]] = []
    text_lines = lines(text)
    skip = messages(text_lines)  # warnings captured with 2>&1, before or among the rows
    for no, line in enumerate(text_lines, 1):
        if not line.strip() or no - 1 in skip:
            continue
        if not header_seen:
            words = line.split()
            if words[:2] == ["COMMAND", "PID"] and "NAME" in words:
                header_seen = True
                continue
            if line.startswith("lsof: "):  # a warning captured with 2>&1
                continue
            if not _socket_row(line):
                raise ParseError("not lsof output (no 'COMMAND PID ... NAME' header)", no,
                                 line)
            header_seen = headerless = True
        try:
            found = _row(line)
        except ValueError as exc:
            raise ParseError(f"not an lsof socket line ({exc})", no, line) from None
        if headerless and not _socket_row(line):
            raise ParseError("not an lsof socket line (and no 'COMMAND PID ... NAME' header)",
                             no, line)
        if found is None:
            continue
        key, listener = found
        if key not in seen:
            seen.add(key)
            out.append((key, listener))
    if not header_seen:
        raise ParseError("empty output: no lsof header")
    return out


def _socket_row(line: str) -> bool:
    """Whether `line` looks like lsof's row of a TCP or UDP socket: a PID, an IPv4/IPv6
    TYPE in its place and a TCP/UDP NODE after it (what a row under no header must be)."""
    words = line.split()
    kind = next((i for i in range(4, min(len(words), 7)) if words[i] in ("IPv4", "IPv6")),
                None)
    return kind is not None and is_number(words[1]) and any(
        w in ("TCP", "UDP") for w in words[kind + 1:])


def _row(line: str) -> tuple[tuple[int, str, str, str], Listener] | None:
    """The listener on one row, keyed by (pid, socket, proto, name); None for other rows."""
    toks = tokens(line)
    # COMMAND PID [TID [TASKCMD]] USER FD TYPE: a row of a process (not a thread) leaves
    # TID and TASKCMD empty, so TYPE is the 5th, 6th or 7th word; a command or thread
    # name of "IPv4" before it is no TYPE.
    kind = next((i for i in range(4, min(len(toks), 7)) if toks[i].text in ("IPv4", "IPv6")),
                None)
    if kind is None:
        return None  # files, pipes, unix sockets...
    before = toks[:kind]
    if not is_number(before[1].text):
        raise ValueError("no COMMAND PID USER FD columns before TYPE")
    node = next((i for i in range(kind + 1, len(toks)) if toks[i].text in ("TCP", "UDP")), None)
    if node is None:
        return None  # another IP protocol (e.g. SCTP, raw)
    proto = toks[node].text.lower()
    name = line[toks[node].end:].strip() if node + 1 < len(toks) else ""
    name, state = _state(name)
    name, arrow, peer = name.partition("->")
    if (arrow and not _no_peer(peer)) or not name:
        return None  # connected
    if proto == "tcp" and state not in ("LISTEN", ""):
        return None
    family = 6 if toks[kind].text == "IPv6" else 4
    addr_text, sep, port_text = name.rpartition(":")
    if not sep:
        raise ValueError(f"no address:port in {name!r}")
    port, port_name = parse_port(port_text, proto)
    if not port:
        return None  # '*:*': bound to no port
    check_host(addr_text, cut=False)  # lsof prints whole addresses
    address, iface = split_scope(addr_text)
    if address == "*":
        address = any_address(family)
    pid = int(before[1].text)
    listener = Listener(proto=proto, family=family, address=address, port=port,
                        process=unescape(before[0].text), pid=pid, user=before[-2].text,
                        iface=iface, port_name=port_name,
                        dual_stack=unshown_dual(family, address))  # lsof does not show it
    device = toks[kind + 1].text if kind + 1 < node else ""
    return (pid, device, proto, name), listener


def _no_peer(peer: str) -> bool:
    """Whether a NAME's '->peer' names no peer: toybox lsof (Android's) prints one for
    every socket, '0.0.0.0:0' or '[::]:0' where the socket is not connected."""
    host, sep, port = peer.rpartition(":")
    return bool(sep) and port == "0" and host.strip("[]") in ("0.0.0.0", "::")


def _state(name: str) -> tuple[str, str]:
    """'*:22 (LISTEN)' -> ('*:22', 'LISTEN'); -T's further TCP/TPI info in the parentheses
    is dropped: '*:22 (LISTEN QR=0 QS=0)' -> ('*:22', 'LISTEN'), '*:53 (QR=0 QS=0)' ->
    ('*:53', ''); a NAME without them is returned as is."""
    if not name.endswith(")"):
        return name, ""
    opening = name.rfind("(")
    words = name[opening + 1:-1].split()
    states = [w for w in words if "=" not in w]
    if opening < 0 or not words or len(states) > 1 \
            or not all(_TCP_INFO.fullmatch(w) for w in words):
        return name, ""
    return name[:opening].rstrip(), states[0] if states else ""


def shown(comm: str) -> str | None:
    """The name lsof on Linux prints for a process called `comm`; None where it skips it.

    lsof reads the name in /proc/PID/stat ('PID (COMM) S ...') up to the ')' that closes
    the '(' before it, counting the pairs inside: 'a(b)c' is printed whole, 'a)b' as 'a',
    and a name whose pairs never close ('a(b') leaves the process out of the listing. The
    state is the word after that ')': a name going on with the word 'Z' ('a)Z b') reads
    as a zombie's, and lsof leaves that process out too.
    """
    depth = 1
    for i, char in enumerate(f"{comm})"):
        if char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0:
                after = comm[i + 1:].lstrip(_C_SPACE)
                zombie = after[:1] == "Z" and after[1:2] != "" and after[1] in _C_SPACE
                return None if zombie else comm[:i]
    return None


def unescape(name: str) -> str:
    """The command name lsof escaped, as the process set it (bytes that are no UTF-8
    become U+FFFD, as in the output of the tools that print names raw)."""
    raw = bytearray()
    last = 0
    for m in _ESCAPE.finditer(name):
        raw += name[last:m.start()].encode("utf-8", "surrogateescape")
        code = m.group(1)
        raw += bytes([int(code[1:], 16)]) if code.startswith("x") else _CONTROL[code]
        last = m.end()
    raw += name[last:].encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "replace")
