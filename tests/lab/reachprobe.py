"""Run inside a namespace: try each (proto, address, port) in argv[1]; print what answered.

TCP: a completed connect. UDP: a 'pong PORT' reply to a datagram (a multicast group is
sent to through the interface after its '%'). Every try is bounded in time; all run at
once, so a whole list costs about one timeout.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

TIMEOUT = 0.4


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def reach(proto: str, address: str, port: int) -> bool:
    """Whether a listener answers at `address`:`port` over `proto`."""
    host, _, iface = address.partition("%")
    fam = _family(host)
    target: tuple[Any, ...] = (host, port)
    if fam == socket.AF_INET6:
        target = (host, port, 0, socket.if_nametoindex(iface) if iface else 0)
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(fam, kind) as sock:
        sock.settimeout(TIMEOUT)
        try:
            if proto == "tcp":
                sock.connect(target)
                return True
            multicast = socket.inet_pton(fam, host)[0] in ((0xFF,) if fam == socket.AF_INET6
                                                           else tuple(range(224, 240)))
            if multicast and iface:
                index = socket.if_nametoindex(iface)
                if fam == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
                else:
                    mreqn = socket.inet_aton("0.0.0.0") * 2 + struct.pack("@i", index)
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
            if not multicast:
                sock.connect(target)  # an ICMP refusal then ends the wait at once
            sock.sendto(b"ping", target)
            data = sock.recv(64)
            return data == f"pong {port}".encode()
        except OSError:
            return False


def main() -> None:
    tries = json.loads(sys.argv[1])
    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(lambda t: reach(t[0], t[1], int(t[2])), tries))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
