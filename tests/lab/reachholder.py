"""Run inside a namespace: bind the sockets in argv[1] with the options asked, answer on them.

Each socket may ask for IPV6_V6ONLY on, off or the namespace's default (None), a device
(SO_BINDTODEVICE), IP_FREEBIND, a multicast group to join on an interface, and
SO_REUSEPORT. TCP sockets listen (a client's connect completes in the backlog); UDP
sockets answer every datagram with 'pong <port>' from the socket itself, so a peer can
tell which socket answered. It prints 'ready {facts}' (per socket: the kernel's
IPV6_V6ONLY after the bind, or None for IPv4) and exits when its stdin closes.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import threading
from typing import Any

IP_FREEBIND, IPV6_FREEBIND = 15, 78


def bind(s: dict[str, Any]) -> socket.socket:
    """One socket bound (and listening, for TCP) as `s` asks."""
    address = str(s["address"])
    host, _, iface = address.partition("%")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if s["proto"] == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if s.get("reuseport"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6 and s.get("v6only") is not None:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if s["v6only"] else 0)
    if s.get("device"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, s["device"].encode())
    if s.get("freebind"):
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
    if iface:
        sock.bind((host, int(s["port"]), 0, socket.if_nametoindex(iface)))
    elif family == socket.AF_INET6:
        sock.bind((host, int(s["port"]), 0, 0))
    else:
        sock.bind((host, int(s["port"])))
    group = s.get("join")
    if group:
        gaddr, _, gif = str(group).partition("%")
        index = socket.if_nametoindex(gif)
        if ":" in gaddr:
            mreq = socket.inet_pton(socket.AF_INET6, gaddr) + struct.pack("@I", index)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        else:  # ip_mreqn: group, local address (any), interface index
            mreq = socket.inet_aton(gaddr) + socket.inet_aton("0.0.0.0") + struct.pack("@i",
                                                                                     index)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    if kind == socket.SOCK_STREAM:
        sock.listen(64)
    return sock


def _echo(sock: socket.socket, port: int) -> None:
    while True:
        try:
            _, peer = sock.recvfrom(512)
            sock.sendto(f"pong {port}".encode(), peer)
        except OSError:
            return


def _accept(sock: socket.socket) -> None:
    while True:  # keep the backlog free, so that every probe's connect completes
        try:
            conn, _ = sock.accept()
            conn.close()
        except OSError:
            return


def main() -> None:
    spec = json.loads(sys.argv[1])
    socks = [bind(s) for s in spec["socks"]]
    facts: list[int | None] = []
    for sock, s in zip(socks, spec["socks"], strict=True):
        v6 = sock.family == socket.AF_INET6
        facts.append(sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) if v6 else None)
        worker = _echo if s["proto"] == "udp" else _accept
        args: tuple[Any, ...] = (sock, int(s["port"])) if worker is _echo else (sock,)
        threading.Thread(target=worker, args=args, daemon=True).start()
    shared = [i for i, s in enumerate(spec["socks"]) if s.get("shared")]
    child = None
    if shared:
        child = os.fork()
        if child == 0:  # the child holds the shared sockets too, and answers nothing
            for i, sock in enumerate(socks):
                if i not in shared:
                    sock.close()
            sys.stdin.read()
            os._exit(0)
    print("ready", json.dumps({"pid": os.getpid(), "child": child, "v6only": facts}),
          flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
