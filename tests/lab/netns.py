"""Network namespaces the tests create and remove, and real sockets held open inside them."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*args: str, netns: str | None = None) -> None:
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def unique_name(prefix: str = "fc") -> str:
    """A namespace or interface name no other concurrent test run will pick (<= 15 chars)."""
    return f"{prefix}{secrets.token_hex(4)}"[:15]


@dataclass
class Namespace:
    """A network namespace with loopback up; removed (with its processes) by `delete`."""

    name: str = field(default_factory=unique_name)

    def create(self) -> Namespace:
        """Create the namespace and bring loopback up."""
        _ip("netns", "add", self.name)
        _ip("link", "set", "lo", "up", netns=self.name)
        return self

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """An argv that runs `argv` inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def add_interface(self, name: str, addresses: Sequence[str] = ()) -> None:
        """Add an up veth pair (`name` and `name`+'p') inside, with `addresses` on `name`.

        Addresses skip duplicate address detection, so they can be bound at once.
        """
        _ip("link", "add", name, "type", "veth", "peer", "name", f"{name}p", netns=self.name)
        for link in (name, f"{name}p"):
            _ip("link", "set", link, "up", netns=self.name)
        for address in addresses:
            extra = ["nodad"] if ":" in address else []
            _ip("addr", "add", address, "dev", name, *extra, netns=self.name)

    def pids(self) -> list[int]:
        """Pids of the processes living in this namespace."""
        out = subprocess.run(["ip", "netns", "pids", self.name], check=False,
                             capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def delete(self) -> None:
        """Kill what runs inside and remove the namespace."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        subprocess.run(["ip", "netns", "del", self.name], check=False, capture_output=True)


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Move the calling thread into namespace `name`, and back afterwards.

    A network namespace belongs to a thread: processes and threads started
    inside the block (the local transport's commands, the runner's workers)
    inherit it, while the rest of the test process stays where it was.
    """
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {name}: {os.strerror(err)}")
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns back: {os.strerror(err)}")
    finally:
        os.close(own)
        os.close(target)


@dataclass(frozen=True)
class Sock:
    """A socket to hold open: proto, bind address, port, and who holds it."""

    proto: str  # tcp | udp
    address: str
    port: int
    # The process name (comm, and argv[0]) the tools will show: anything but NUL, bytes
    # that are no UTF-8 as surrogate escapes (tests/lab/hostile.py has hostile ones).
    process: str = "fcholder"
    user: str | None = None  # run as this user (None: root)
    v6only: bool = True
    # connect() so it is not a listener: a connected UDP socket, or an established TCP
    # client (its server must be held by an earlier holder)
    connect_to: tuple[str, int] | None = None
    reuseport: bool = False  # SO_REUSEPORT: several sockets may bind the same address
    shared_with_child: bool = False  # the holder forks; its child holds this socket too
    listen: bool = True  # TCP only: False binds the port without listening (no listener)
    # Its command line's first word, when not `process`: a daemon that retitles itself
    # ('nginx: master process /usr/sbin/nginx'), which netstat prints instead of the comm.
    title: str | None = None
    # The process that bound it forks and exits (a daemon going to the background): its
    # child, reparented, holds it, and every other socket of the same holder.
    orphaned: bool = False


@dataclass(frozen=True)
class Held:
    """A socket a holder bound: what was asked, the pids holding it, its inode."""

    sock: Sock
    # the holder first (an orphaned holder's child), then its child if it shares the socket
    pids: tuple[int, ...]
    inode: int


_HOLDER = Path(__file__).with_name("holder.py")


def stop_by_stdin(proc: subprocess.Popen[str]) -> None:
    """End a helper process that exits when its stdin closes (killed after 5 s)."""
    with contextlib.suppress(Exception):
        assert proc.stdin is not None
        proc.stdin.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class SocketHolders:
    """Processes in a namespace holding the requested sockets until `stop`."""

    def __init__(self, ns: Namespace) -> None:
        self.ns = ns
        self.procs: list[subprocess.Popen[str]] = []
        self.held: list[Held] = []  # every socket bound so far, with its holders

    def hold(self, socks: Sequence[Sock],
             ids: Mapping[str, tuple[int, int]] | None = None) -> None:
        """Start one holder process per (process name, user, title, orphaned) and wait
        until all are bound. `ids`: (uid, gid) of users the machine's passwd lacks."""
        groups: dict[tuple[str, str | None, str | None, bool], list[Sock]] = {}
        for s in socks:
            if "\0" in s.process:
                raise ValueError(f"no process can be named {s.process!r}: names end at NUL")
            groups.setdefault((s.process, s.user, s.title, s.orphaned), []).append(s)
        for (name, user, title, orphaned), group in groups.items():
            spec = json.dumps({"name": name, "user": user, "title": title,
                               "ids": (ids or {}).get(user or ""), "orphaned": orphaned,
                               "socks": [s.__dict__ for s in group]})
            argv = [sys.executable, str(_HOLDER), spec]
            proc = subprocess.Popen(self.ns.exec_argv(argv), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            line = proc.stdout.readline()
            word, _, facts_text = line.partition(" ")
            if word != "ready":
                err = proc.stderr.read() if proc.stderr else ""
                raise RuntimeError(f"socket holder failed: {line!r} {err}")
            self.procs.append(proc)
            facts = json.loads(facts_text)
            for sock, inode in zip(group, facts["inodes"], strict=True):
                pids: tuple[int, ...] = (facts["pid"],)
                if sock.shared_with_child:
                    pids += (facts["child"],)
                self.held.append(Held(sock, pids, inode))

    def stop(self) -> None:
        """Close every holder (they exit when their stdin closes)."""
        for proc in self.procs:
            stop_by_stdin(proc)
        self.procs.clear()
        self.held.clear()


@contextlib.contextmanager
def holding(socks: Sequence[Sock]) -> Iterator[tuple[Namespace, SocketHolders]]:
    """A new namespace with `socks` held open in it; the holders and it removed on exit."""
    ns = Namespace().create()
    holders = SocketHolders(ns)
    try:
        holders.hold(socks)
        yield ns, holders
    finally:
        holders.stop()
        ns.delete()


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    """Poll a zero-argument callable until it returns true."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)
