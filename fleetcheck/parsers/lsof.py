"""Plain `lsof` listings (`lsof -nP -i`, or a full `lsof`): the IPv4 and IPv6 rows."""

from __future__ import annotations

import re

from fleetcheck.model import Listener
from fleetcheck.parsers.common import ParseError, any_address, parse_port, split_scope, tokens

_STATE = re.compile(r"\s*\(([A-Z_]+)\)\s*$")
_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})|\\\\")


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound, unconnected UDP sockets from lsof's default output.

    One listener per socket and process as printed: rows repeated for each thread of
    a process (the TID column) are one listener; a socket held by several processes
    gives one listener per process, as lsof lists it.
    """
    header_seen = False
    seen: set[tuple[int, str, str, str]] = set()
    out: list[Listener] = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if not header_seen:
            words = line.split()
            if words[:2] == ["COMMAND", "PID"] and "NAME" in words:
                header_seen = True
                continue
            if line.startswith("lsof: "):  # a warning captured with 2>&1
                continue
            raise ParseError("not lsof output (no 'COMMAND PID ... NAME' header)", no, line)
        try:
            found = _row(line)
        except ValueError as exc:
            raise ParseError(f"not an lsof socket line ({exc})", no, line) from None
        if found is None:
            continue
        key, listener = found
        if key not in seen:
            seen.add(key)
            out.append(listener)
    if not header_seen:
        raise ParseError("empty output: no lsof header")
    return out


def _row(line: str) -> tuple[tuple[int, str, str, str], Listener] | None:
    """The listener on one row, keyed by (pid, socket, proto, name); None for other rows."""
    toks = tokens(line)
    kind = next((i for i, t in enumerate(toks) if t.text in ("IPv4", "IPv6")), None)
    if kind is None:
        return None  # files, pipes, unix sockets...
    before = toks[:kind]
    # COMMAND PID [TID [TASKCMD]] USER FD: a row of a process (not a thread) leaves TID empty.
    if len(before) < 4 or not before[1].text.isdigit():
        raise ValueError("no COMMAND PID USER FD columns before TYPE")
    node = next((i for i in range(kind + 1, len(toks)) if toks[i].text in ("TCP", "UDP")), None)
    if node is None:
        return None  # another IP protocol (e.g. SCTP, raw)
    proto = toks[node].text.lower()
    name = line[toks[node].end:].strip() if node + 1 < len(toks) else ""
    state_match = _STATE.search(name)
    state = state_match.group(1) if state_match else ""
    if state_match:
        name = name[:state_match.start()]
    if "->" in name or not name:
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
    address, iface = split_scope(addr_text)
    if address == "*":
        address = any_address(family)
    pid = int(before[1].text)
    listener = Listener(proto=proto, family=family, address=address, port=port,
                        process=_unescape(before[0].text), pid=pid, user=before[-2].text,
                        iface=iface, port_name=port_name)
    device = toks[kind + 1].text if kind + 1 < node else ""
    return (pid, device, proto, name), listener


def _unescape(name: str) -> str:
    """lsof prints unprintable bytes of a command name (and spaces) as \\xNN."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else "\\", name)
