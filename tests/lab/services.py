"""Run inside a namespace: hold the sockets real services make, print 'ready', wait.

argv[1] is a list of shapes ({"shape": KIND, "port": N, ...}), each built as the
service it stands for builds it (tests/collect/test_services_live.py says which).
Programs that take another name run this file again through a symlink of that name
(the kernel names a process after the file it executed), the sockets they inherited
given as descriptor numbers. Everything exits when this process's stdin closes.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PR_SET_NAME = 15
SO_BINDTODEVICE = 25
IP_FREEBIND = 15
_CHILD = "--child"
_libc = ctypes.CDLL(None, use_errno=True)
_keep: list[socket.socket] = []  # every socket this process holds
_made: list[Path] = []  # directories of the links and copies run, removed once they ran


def _sock(proto: str, address: str, port: int, *, reuseport: bool = False,
          device: str | None = None, freebind: bool = False, listen: bool = True,
          reuseaddr: bool = True) -> socket.socket:
    """A bound (and for TCP listening) socket, with the options a service sets."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    if reuseaddr:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    if device:
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, device.encode())
    if freebind:  # IP_FREEBIND has the same number for IPv4 and IPv6 (IPV6_FREEBIND: 78)
        level = socket.IPPROTO_IP if family == socket.AF_INET else socket.IPPROTO_IPV6
        sock.setsockopt(level, IP_FREEBIND if family == socket.AF_INET else 78, 1)
    host, _, iface = address.partition("%")
    if iface:
        sock.bind((host, port, 0, socket.if_nametoindex(iface)))
    else:
        sock.bind((host, port))
    if proto == "tcp" and listen:
        sock.listen(16)
    return sock


def _name(name: str) -> None:
    _libc.prctl(PR_SET_NAME, os.fsencode(name)[:15], 0, 0, 0)


def _as(name: str, fds: list[int], role: str, spec: dict[str, Any]) -> int:
    """Fork and exec this file through a symlink called `name`, keeping `fds`; its pid."""
    link = Path(name)
    if not link.is_absolute():
        link = Path(tempfile.mkdtemp(prefix="fcsvc")) / name
        link.symlink_to(sys.executable)
        _made.append(link.parent)
    for fd in fds:
        os.set_inheritable(fd, True)
    pid = os.fork()
    if pid == 0:
        env = dict(os.environ, PYTHONHOME=f"{sys.base_prefix}:{sys.base_exec_prefix}")
        argv = [link.name, __file__, json.dumps({"role": role, "fds": fds, **spec}), _CHILD]
        os.execve(str(link), argv, env)  # noqa: S606
    return pid


def child(spec: dict[str, Any]) -> None:
    """A program started by `_as`: holds its inherited descriptors until stdin closes."""
    role = spec["role"]
    if role == "deleted":  # an executable removed (upgraded) while it runs
        os.unlink(spec["path"])
    if role == "renamed":  # binds, then calls itself otherwise (prctl PR_SET_NAME)
        _keep.append(_sock("tcp", "0.0.0.0", spec["port"]))
        _name(spec["later"])
    if role == "threads":  # a thread of another name binds; the process keeps its comm
        def bind() -> None:
            _name("fcworker-thr")
            _keep.append(_sock("tcp", "0.0.0.0", spec["port"]))
            time.sleep(3600)
        threading.Thread(target=bind, daemon=True).start()
        while not _keep:
            time.sleep(0.005)
    if role == "nouser":
        os.setgroups([])
        os.setgid(spec["uid"])
        os.setuid(spec["uid"])
        _keep.append(_sock("tcp", "0.0.0.0", spec["port"]))
    print("up", flush=True)
    sys.stdin.read()
    os._exit(0)


def _child_ready(r: int) -> None:
    """Wait for the 'up' line of a child started by `_as` (on the pipe `r` as its stdout)."""
    with os.fdopen(os.dup(r)) as f:
        if f.readline().strip() != "up":
            raise RuntimeError("a service child failed")


def _spawn(name: str, fds: list[int], role: str, spec: dict[str, Any]) -> int:
    """`_as` with the child's stdout a pipe read until it is up; its stdin is ours."""
    r, w = os.pipe()
    saved = os.dup(1)
    os.dup2(w, 1)
    try:
        pid = _as(name, fds, role, spec)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(w)
    _child_ready(r)
    os.close(r)
    for made in _made:
        shutil.rmtree(made, ignore_errors=True)
    return pid


def _fork(below: int | None = None) -> int:
    """os.fork(); with `below`, the child's pid is lower than `below`, as after the pid
    counter wrapped: the kernel's next pid is set back first (ns_last_pid, which only
    moves where the search for a free pid starts)."""
    if below is None:
        return os.fork()
    r, w = os.pipe()
    for back in (60, 200, 1000, 5000):
        if below - back < 2:
            break
        Path("/proc/sys/kernel/ns_last_pid").write_text(str(below - back))
        pid = os.fork()
        if pid == 0:
            os.close(r)
            keep = os.getpid() < below
            os.write(w, b"k" if keep else b"x")
            os.close(w)
            if keep:
                return 0
            os._exit(0)
        if os.read(r, 1) == b"k":
            os.close(r)
            os.close(w)
            return pid
        os.waitpid(pid, 0)  # another fork took the pids meanwhile: again, further back
    raise RuntimeError(f"no pid below {below} could be had")


def build(shape: dict[str, Any]) -> None:
    """Build one shape (processes it starts hold their sockets until our stdin closes)."""
    kind, port = shape["shape"], int(shape.get("port", 0))
    if kind == "prefork":  # a master (root) and workers (nobody) holding one socket
        sock = _sock("tcp", "0.0.0.0", port)
        _keep.append(sock)
        _name("fcmaster")
        for _ in range(int(shape.get("workers", 2))):
            if _fork(below=os.getpid() if shape.get("wrapped") else None) == 0:
                _name("fcworker")
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                sys.stdin.read()
                os._exit(0)
        return
    if kind == "recycling":  # a master replacing each worker as soon as it exits
        _keep.append(_sock("tcp", "0.0.0.0", port))
        _name("fcmaster")
        parent = os.getpid()
        if os.fork() == 0:  # starts the workers, a new one each few milliseconds
            _name("fcrecycler")
            while os.getppid() == parent:
                if os.fork() == 0:
                    _name("fcworker")
                    # Longer than the probe takes from reading /proc/*/stat to listing the
                    # pids alive: a worker born and gone within that is, by design, a
                    # header the probe cannot tell from a forged one (collect/procnet.py).
                    time.sleep(2.0)
                    os._exit(0)
                time.sleep(0.02)
                with contextlib.suppress(ChildProcessError):
                    while os.waitpid(-1, os.WNOHANG)[0] > 0:  # no zombie lists no socket
                        pass
            os._exit(0)
        return
    if kind == "passed":  # opened by a launcher, exec'd into another program, launcher gone
        sock = _sock("tcp", "0.0.0.0", port)
        pid = os.fork()
        if pid == 0:  # the launcher: starts the service and exits
            _spawn("fcpassed", [sock.fileno()], "hold", {})
            os._exit(0)
        sock.close()
        os.waitpid(pid, 0)
        return
    if kind in ("systemd", "systemd-only"):  # socket activation
        socks = [_sock("tcp", "0.0.0.0", port), _sock("udp", "0.0.0.0", port)]
        pid = os.fork()
        if pid == 0:
            _name("systemd")
            if kind == "systemd":
                _spawn("fcactivated", [s.fileno() for s in socks], "hold", {})
            sys.stdin.read()
            os._exit(0)
        for s in socks:
            s.close()
        return
    if kind == "dropped":  # binds as root, then runs as nobody (named, dnsmasq, ntpd)
        _keep.append(_sock("tcp", "0.0.0.0", port))
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
        return
    if kind == "reuseport":  # one process with two sockets, two processes with one each
        _keep.extend(_sock(shape["proto"], "0.0.0.0", port, reuseport=True) for _ in range(2))
        return
    if kind == "device":  # SO_BINDTODEVICE
        _keep.append(_sock(shape["proto"], shape.get("address", "0.0.0.0"), port,
                           device=shape["iface"]))
        return
    if kind == "freebind":  # an address the host does not have
        _keep.append(_sock(shape["proto"], shape["address"], port, freebind=True))
        return
    if kind == "bind":  # a plain bind (a secondary address, a multicast group, twice)
        for _ in range(int(shape.get("times", 1))):
            _keep.append(_sock(shape["proto"], shape["address"], port))
        return
    if kind == "raw":  # raw and packet sockets: no port, no listener
        _keep.append(socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
        _keep.append(socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)))
        return
    if kind == "deleted":
        tmp = Path(tempfile.mkdtemp(prefix="fcsvc"))
        _made.append(tmp)
        exe = tmp / "fcdeleted"
        shutil.copy(sys.executable, exe)
        sock = _sock("tcp", "0.0.0.0", port)
        _spawn(str(exe), [sock.fileno()], "deleted", {"path": str(exe)})
        sock.close()
        return
    if kind in ("renamed", "threads", "nouser"):
        _spawn(f"fc{kind}", [], kind, shape)
        return
    if kind == "flap":  # listeners that come and go, and processes with them, all along
        parent = os.getpid()
        if os.fork() == 0:
            _name("fcflapper")
            n = 0
            while os.getppid() == parent:  # until the holder is gone
                n += 1
                child = os.fork()
                if child == 0:  # a process that lives a moment, holding a listener
                    with contextlib.suppress(OSError):
                        held = _sock("udp" if n % 2 else "tcp", "0.0.0.0", port + n % 50)
                        time.sleep(0.002)
                        held.close()
                    os._exit(0)
                with contextlib.suppress(OSError):
                    brief = _sock("tcp", "0.0.0.0", port + 50 + n % 50)
                    time.sleep(0.001)
                    brief.close()
                os.waitpid(child, 0)
            os._exit(0)
        return
    if kind == "many":
        if shape.get("uid"):  # a service account's, so its uid is on every row
            os.setgroups([])
            os.setgid(shape["uid"])
            os.setuid(shape["uid"])
        _keep.extend(_sock("tcp", "0.0.0.0", p) for p in range(port, port + shape["count"]))
        return
    raise ValueError(f"no shape {kind!r}")


def main() -> None:
    if sys.argv[-1] == _CHILD:
        spec = json.loads(sys.argv[1])
        for fd in spec.get("fds", []):
            _keep.append(socket.socket(fileno=fd))
        child(spec)
        return
    shapes = json.loads(sys.argv[1])  # several only of shapes that start no process
    _name(str(shapes[0].get("name") or f"fc{shapes[0]['shape']}"))
    for shape in shapes:
        build(shape)
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
