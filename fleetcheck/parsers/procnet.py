"""Linux `/proc/net/{tcp,tcp6,udp,udp6}` tables, one or several concatenated."""

from __future__ import annotations

import ipaddress
import struct

from fleetcheck.addresses import ip_text
from fleetcheck.model import Listener
from fleetcheck.parsers.common import ParseError, lines, unshown_dual

_LISTEN = "0A"
_UDP_UNCONNECTED = "07"  # TCP_CLOSE: how the kernel shows a bound, unconnected UDP socket


def _address(hexaddr: str) -> str:
    """Kernel hex (32-bit words in little-endian byte order) -> printable address."""
    raw = bytes.fromhex(hexaddr)
    if len(raw) not in (4, 16):
        raise ValueError(f"address {hexaddr!r} has {len(raw)} bytes")
    words = struct.unpack(f"<{len(raw) // 4}I", raw)
    packed = struct.pack(f">{len(words)}I", *words)
    return ip_text(ipaddress.ip_address(packed))


def _header_proto(words: list[str]) -> str | None:
    """'tcp' or 'udp' for a table header line ('drops' is only in the UDP table); else None."""
    if words[:2] != ["sl", "local_address"]:
        return None
    return "udp" if "drops" in words else "tcp"


def parse(text: str) -> list[Listener]:
    """Listeners in /proc/net socket tables (`cat /proc/net/tcp /proc/net/udp6 ...`).

    Each table starts with its header, which tells TCP from UDP; the address width
    tells IPv4 from IPv6. uid and inode are kept: here they are the only owner evidence.
    """
    proto: str | None = None
    out: list[Listener] = []
    for no, line in enumerate(lines(text), 1):
        words = line.split()
        if not words:
            continue
        header = _header_proto(words)
        if header is not None:
            proto = header
            continue
        if proto is None:
            raise ParseError("not a /proc/net socket table (no 'sl local_address' header)",
                             no, line)
        try:
            local, remote, state = words[1], words[2], words[3]
            uid, inode = int(words[7]), int(words[9])
            laddr, lport = local.split(":")
            raddr, rport = remote.split(":")
            port, remote_port = int(lport, 16), int(rport, 16)
            address = _address(laddr)
            remote_any = int(raddr, 16) == 0
        except (IndexError, ValueError) as exc:
            raise ParseError(f"not a /proc/net socket line ({exc})", no, line) from None
        if proto == "tcp" and state != _LISTEN:
            continue
        if proto == "udp" and (state != _UDP_UNCONNECTED or remote_port != 0 or not remote_any
                               or port == 0):
            continue
        family = 6 if len(laddr) == 32 else 4
        out.append(Listener(proto=proto, family=family, address=address, port=port, uid=uid,
                            inode=inode, dual_stack=unshown_dual(family, address)))
    if proto is None:
        raise ParseError("empty output: no /proc/net table header")
    return out
