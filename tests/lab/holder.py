"""Run inside a namespace: bind the sockets described in argv[1], print 'ready {facts}', wait.

The facts are the holder's pid, its child's (when it forked one to share sockets)
and the inode of each socket; the holder exits when its stdin closes.

With "orphaned" the holder forks once its sockets are bound and exits, and its child
holds them (and reports its own pid): a daemon that went to the background.

The process takes the requested name both as its comm (what ss, lsof and /proc show)
and as argv[0] (what net-tools and BusyBox netstat show), by re-executing itself; with
a title, argv[0] is the title instead (a daemon that retitled itself). Any
name a process can give itself works: newlines, tabs, quotes, terminal escapes, and
bytes that are no UTF-8 (passed as surrogate escapes: "\\udcff" is the byte 0xff).
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import sys
import time
from typing import Any

PR_SET_NAME = 15
PR_SET_DUMPABLE = 4
_NAMED = "--named"


def _bind(s: dict[str, Any]) -> socket.socket:
    address = str(s["address"])
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    kind = socket.SOCK_STREAM if s["proto"] == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if s.get("reuseport"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if s["v6only"] else 0)
    if "%" in address:  # a scoped (link-local) address: 'fe80::1%eth0'
        host, iface = address.split("%")
        sock.bind((host, int(s["port"]), 0, socket.if_nametoindex(iface)))
    else:
        sock.bind((address, int(s["port"])))
    if s.get("connect_to"):  # a connected UDP socket, or an established TCP client
        sock.connect(tuple(s["connect_to"]))
    elif s["proto"] == "tcp" and s.get("listen", True):
        sock.listen(16)
    return sock


def _become(user: str, ids: list[int] | None) -> None:
    """Drop root for `user` (and its primary group) before any socket is made; `ids`:
    its uid and gid where the machine's passwd does not know it (a lab user)."""
    import pwd

    if ids is None:
        entry = pwd.getpwnam(user)
        ids = [entry.pw_uid, entry.pw_gid]
    os.setgroups([])
    os.setgid(ids[1])
    os.setuid(ids[0])


def _orphan() -> None:
    """Fork and let the parent exit, as a daemon does going to the background: the child
    goes on (reparented) once the parent is gone, holding every socket bound so far."""
    parent = os.getpid()
    if os.fork() != 0:
        os._exit(0)
    while os.getppid() == parent:  # the tools must not see the parent any more
        time.sleep(0.005)


def main() -> None:
    spec = json.loads(sys.argv[1])
    if sys.argv[-1] != _NAMED:
        # With argv[0] no path to the interpreter, Python needs to be told its home.
        env = dict(os.environ, PYTHONHOME=f"{sys.base_prefix}:{sys.base_exec_prefix}")
        argv0 = spec.get("title") or spec["name"]
        os.execve(sys.executable, [argv0, __file__, sys.argv[1], _NAMED], env)  # noqa: S606
    libc = ctypes.CDLL(None)
    libc.prctl(PR_SET_NAME, os.fsencode(spec["name"])[:15], 0, 0, 0)
    if spec.get("user"):
        _become(spec["user"], spec.get("ids"))
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # keep /proc/PID owned by the user
    held = [(_bind(s), bool(s.get("shared_with_child"))) for s in spec["socks"]]
    if spec.get("orphaned"):
        _orphan()
    child = None
    if any(shared for _, shared in held):
        child = os.fork()
        if child == 0:
            for sock, shared in held:  # the child keeps only the shared sockets
                if not shared:
                    sock.close()
            sys.stdin.read()
            os._exit(0)
    facts = {"pid": os.getpid(), "child": child,
             "inodes": [os.fstat(sock.fileno()).st_ino for sock, _ in held]}
    print("ready", json.dumps(facts), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
