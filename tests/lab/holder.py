"""Run inside a namespace: bind the sockets described in argv[1], print 'ready', wait on stdin."""

from __future__ import annotations

import ctypes
import json
import socket
import sys

PR_SET_NAME = 15


def main() -> None:
    spec = json.loads(sys.argv[1])
    # The name tools show for this process (comm, at most 15 bytes).
    ctypes.CDLL(None).prctl(PR_SET_NAME, spec["name"].encode()[:15], 0, 0, 0)
    held = []
    for s in spec["socks"]:
        family = socket.AF_INET6 if ":" in s["address"] else socket.AF_INET
        kind = socket.SOCK_STREAM if s["proto"] == "tcp" else socket.SOCK_DGRAM
        sock = socket.socket(family, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if s["v6only"] else 0)
        sock.bind((s["address"], s["port"]))
        if s["proto"] == "tcp":
            sock.listen(16)
        elif s.get("connect_to"):
            sock.connect(tuple(s["connect_to"]))
        held.append(sock)
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
