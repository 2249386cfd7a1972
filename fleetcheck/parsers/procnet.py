"""Linux `/proc/net/{tcp,tcp6,udp,udp6}` tables."""

from __future__ import annotations

import ipaddress
import struct

from fleetcheck.model import Listener
from fleetcheck.parsers.common import ParseError

_LISTEN = "0A"
_UDP_UNCONNECTED = "07"  # TCP_CLOSE: how the kernel shows a bound, unconnected UDP socket


def _address(hexaddr: str) -> str:
    """Kernel hex (32-bit words in little-endian byte order) -> printable address."""
    raw = bytes.fromhex(hexaddr)
    if len(raw) not in (4, 16):
        raise ValueError(f"address {hexaddr!r} has {len(raw)} bytes")
    words = struct.unpack(f"<{len(raw) // 4}I", raw)
    packed = struct.pack(f">{len(words)}I", *words)
    return str(ipaddress.ip_address(packed))


def parse(text: str) -> list[Listener]:
    """Listeners in one /proc/net table; TCP vs UDP is told by the header ('drops' is UDP)."""
    lines = text.splitlines()
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is None or not lines[header_at].split()[:2] == ["sl", "local_address"]:
        raise ParseError("not a /proc/net socket table (no 'sl local_address' header)",
                         (header_at or 0) + 1, lines[header_at] if header_at is not None else "")
    proto = "udp" if "drops" in lines[header_at].split() else "tcp"
    out: list[Listener] = []
    for no, line in enumerate(lines[header_at + 1:], header_at + 2):
        words = line.split()
        if not words:
            continue
        try:
            local, remote, state = words[1], words[2], words[3]
            uid, inode = int(words[7]), int(words[9])
            laddr, lport = local.split(":")
            port = int(lport, 16)
            address = _address(laddr)
            remote_port = int(remote.split(":")[1], 16)
        except (IndexError, ValueError) as exc:
            raise ParseError(f"not a /proc/net socket line ({exc})", no, line) from None
        if proto == "tcp" and state != _LISTEN:
            continue
        if proto == "udp" and (state != _UDP_UNCONNECTED or remote_port != 0 or port == 0):
            continue
        out.append(Listener(proto=proto, family=6 if len(laddr) == 32 else 4, address=address,
                            port=port, uid=uid, inode=inode))
    return out
