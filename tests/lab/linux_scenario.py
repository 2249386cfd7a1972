"""One namespace full of awkward sockets, and what each Linux tool must report for them.

`expected(tool, held)` is the oracle: it derives, from the sockets that were really
bound (and the pids and inodes the holders reported), the listeners each tool shows,
following that tool's documented conventions (names from comm or argv[0], which holder
of a shared socket it names, cut addresses...). It never looks at a tool's output.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from fleetcheck.model import Listener
from tests.lab.netns import Held, Namespace, Sock, SocketHolders
from tests.lab.prereq import require, require_netns

IFACE = "fcv0"
LINK_LOCAL = "fe80::1"
LONG_V6 = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"  # addr:port longer than netstat's 23 columns
EXACT_V6 = "fd00:1234:5678::10"  # with :8088 exactly 23 characters
HOST_V4 = "10.20.30.40"

SOCKETS = (
    Sock("tcp", "0.0.0.0", 1923, process="spiced"),
    Sock("tcp", "::", 8080, process="web d", v6only=False),  # space in the name, dual-stack
    Sock("tcp", "::", 8081, process="webv6"),
    Sock("tcp", "127.0.0.1", 6379, process="redis-server"),
    Sock("tcp", LONG_V6, 443, process="longv6"),
    Sock("tcp", EXACT_V6, 8088, process="exact23"),
    Sock("tcp", f"{LINK_LOCAL}%{IFACE}", 9200, process="linklocal"),
    Sock("tcp", "0.0.0.0", 9000, process="userapp", user="nobody"),
    Sock("tcp", "0.0.0.0", 8000, process="master", shared_with_child=True),
    Sock("udp", "0.0.0.0", 5353, process="mdns"),
    Sock("udp", "::", 5353, process="mdns"),
    Sock("udp", "0.0.0.0", 4789, process="vxa", reuseport=True),
    Sock("udp", "0.0.0.0", 4789, process="vxb", reuseport=True),
    Sock("udp", HOST_V4, 123, process="ntpd"),
    Sock("udp", f"{LINK_LOCAL}%{IFACE}", 547, process="dhcp6"),
    Sock("udp", "127.0.0.1", 40000, process="resolver", connect_to=("127.0.0.1", 53)),
)

# More for the captures of other releases' tools (tests/fixtures/capture_linux.py
# --tools): a name that is no ASCII, one with a tab, and another user's many listeners.
RELEASE_SOCKETS = (
    Sock("tcp", "::1", 7002, process="wëb"),
    Sock("udp", "127.0.0.1", 7005, process="t\tab"),
    *(Sock("tcp", "0.0.0.0", port, process="svc many", user="daemon")
      for port in range(20000, 20006)),
)

# The tool dialects the oracle knows, as the fixtures and the live test name them.
TOOLS = ("ss", "ss-masked", "netstat", "netstat-names", "netstat-wide", "busybox-netstat",
         "busybox-netstat-nopid", "lsof", "lsof-short", "lsof-fields", "proc-net", "proc")


def setup(ns: Namespace) -> None:
    """Give the namespace the interface and addresses the sockets bind to."""
    ns.add_interface(IFACE, [f"{HOST_V4}/24", f"{LONG_V6}/64", f"{EXACT_V6}/64",
                             f"{LINK_LOCAL}/64"])


@dataclass(frozen=True)
class _Truth:
    """One listening socket as bound, split the way the tools print it."""

    proto: str
    family: int
    address: str
    iface: str | None
    port: int
    name: str
    user: str
    pids: tuple[int, ...]
    inode: int
    dual: bool


def _truths(held: Sequence[Held]) -> list[_Truth]:
    out = []
    for h in held:
        s = h.sock
        if s.connect_to is not None:
            continue  # a connected UDP socket is no listener
        address, _, iface = s.address.partition("%")
        family = 6 if ":" in address else 4
        out.append(_Truth(s.proto, family, address, iface or None, s.port, s.process,
                          s.user or "root", h.pids, h.inode, family == 6 and not s.v6only
                          and address == "::"))
    return out


def _comm(name: str) -> bytes:
    """The kernel's name of a process: its first 15 bytes."""
    return os.fsencode(name)[:15]


def _masked(name: str) -> str:
    """What iproute2 7 (Debian sid's 7.3.0; 6.15 does not) prints of a process name: each
    control byte as '.', each byte that is no ASCII as '?'."""
    return "".join("." if b < 0x20 or b == 0x7F else "?" if b > 0x7F else chr(b)
                   for b in _comm(name))


def _lsof_command(name: str, width: int | None) -> str:
    """lsof's COMMAND column: each byte that is no printable ASCII (a space too) as \\xNN,
    cut at whole escapes to `width` characters (9 by default; +c 0: all 15 bytes)."""
    out, shown = b"", 0
    for b in _comm(name):
        step = 1 if 0x20 < b < 0x7F else 4
        if width is not None and shown + step > width:
            break
        out, shown = out + bytes([b]), shown + step
    return out.decode("utf-8", "replace")


def _netstat_program(pid: int, name: str) -> str:
    """net-tools and BusyBox print 'pid/argv0' in 19 characters."""
    return f"{pid}/{name}"[:19].partition("/")[2]


def _netstat_address(t: _Truth, port_text: str) -> tuple[str, bool]:
    """The address net-tools prints without -W, cut so that addr:port fits 23 columns."""
    shown = t.address
    if len(shown) + len(port_text) > 22:
        shown = shown[:22 - len(port_text)]
    return shown, len(f"{shown}:{port_text}") == 23


def _one(tool: str, t: _Truth) -> list[Listener]:
    base = Listener(proto=t.proto, family=t.family, address=t.address, port=t.port)
    uid = pwd.getpwnam(t.user).pw_uid
    comm = _comm(t.name).decode("utf-8", "replace")  # what ss, /proc and lsof -F show
    if tool == "lsof-collected":  # one listener a socket, as collect/holders.py has it
        rows = _one("lsof", t)  # a row a holder, in pid order
        return [_owner_first(replace(rows[0], other_processes=tuple(
            f"{li.process}/{li.pid}" for li in rows[1:])), t.pids)]
    if tool.endswith("-collected"):  # the probe adds the owner's uid and name to ss, netstat
        # and names a socket's holders in owner order, whatever order the tool printed
        return [_owner_first(replace(li, user=t.user, uid=uid), t.pids)
                for li in _one(tool[:-10], t)]
    if tool == "ss-masked":
        return [replace(li, process=_masked(t.name),
                        other_processes=tuple(f"{_masked(t.name)}/{p.rpartition('/')[2]}"
                                              for p in li.other_processes))
                for li in _one("ss", t)]
    if tool == "ss":
        # ss names every holder, the last one it found (the highest pid) first.
        pids = sorted(t.pids, reverse=True)
        return [Listener(t.proto, t.family, t.address, t.port, comm, pids[0],
                         iface=t.iface, dual_stack=t.dual,
                         other_processes=tuple(f"{comm}/{p}" for p in pids[1:]))]
    if tool.startswith("netstat"):
        names = tool == "netstat-names"
        port_name = None
        if names:
            try:
                port_name = socket.getservbyport(t.port, t.proto)
            except OSError:
                port_name = None
        shown, cut = _netstat_address(t, port_name or str(t.port))
        if names and t.address == "127.0.0.1":
            shown, cut = "localhost", False
        if tool == "netstat-wide":
            shown, cut = t.address, False
        pid = min(t.pids)  # net-tools keeps the first holder it finds
        return [Listener(t.proto, t.family, shown, t.port, _netstat_program(pid, t.name), pid,
                         user=None if names else str(uid), truncated=cut, port_name=port_name)]
    if tool.startswith("busybox"):
        if tool == "busybox-netstat-nopid":
            return [base]
        pid = min(t.pids)
        return [Listener(t.proto, t.family, t.address, t.port, _netstat_program(pid, t.name),
                         pid)]
    if tool == "lsof-fields":  # -F pcnPtT: the whole comm, no login
        return [Listener(t.proto, t.family, t.address, t.port, comm, pid)
                for pid in sorted(t.pids)]
    if tool.startswith("lsof"):
        width = 9 if tool == "lsof-short" else None  # +c 0: the whole comm
        return [Listener(t.proto, t.family, t.address, t.port, _lsof_command(t.name, width),
                         pid, user=t.user) for pid in sorted(t.pids)]
    if tool == "proc-net":
        return [Listener(t.proto, t.family, t.address, t.port, uid=uid, inode=t.inode)]
    if tool == "proc":  # the probe's fallback: tables plus owners from /proc/*/fd
        pids = sorted(t.pids)
        return [Listener(t.proto, t.family, t.address, t.port, comm, pids[0],
                         user=t.user, uid=uid, inode=t.inode,
                         other_processes=tuple(f"{comm}/{p}" for p in pids[1:]))]
    raise ValueError(f"no oracle for {tool!r}")


def _owner_first(li: Listener, born: Sequence[int]) -> Listener:
    """`li`'s holders in owner order: oldest first (`born`, the holders in the order the
    lab started them: a pid says nothing once the counter wrapped), pid 1 last
    (collect/holders.py)."""
    if li.pid is None or not li.other_processes:
        return li
    holders = sorted([(li.pid, str(li.process)),
                      *((int(o.rpartition("/")[2]), o.rpartition("/")[0])
                        for o in li.other_processes)],
                     key=lambda h: (h[0] == 1, born.index(h[0])))
    return replace(li, pid=holders[0][0], process=holders[0][1],
                   other_processes=tuple(f"{name}/{pid}" for pid, name in holders[1:]))


def expected(tool: str, held: Sequence[Held], *, protos: Sequence[str] = ("tcp", "udp"),
             ) -> list[Listener]:
    """What `tool` must report for the sockets in `held` (in no particular order)."""
    return [_stack(tool, li) for t in _truths(held) if t.proto in protos
            for li in _one(tool, t)]


def _stack(tool: str, li: Listener) -> Listener:
    """Only ss shows IPV6_V6ONLY: every other tool's IPv6 wildcard is dual_stack None (not
    shown), whatever the socket is."""
    if tool.startswith("ss"):
        return li
    return replace(li, dual_stack=None if (li.family, li.address) == (6, "::") else False)


def in_order_of(found: Sequence[Listener], wanted: Sequence[Listener]) -> list[Listener]:
    """`wanted` sorted as the same listeners appear in `found` (unmatched ones last)."""
    def key(li: Listener) -> tuple[object, ...]:
        return (li.proto, li.family, li.address, li.port, li.pid, li.inode)

    position = {key(li): i for i, li in enumerate(found)}
    return sorted(wanted, key=lambda li: position.get(key(li), len(found)))


@contextlib.contextmanager
def held(extra: Sequence[Sock] = ()) -> Iterator[tuple[Namespace, SocketHolders]]:
    """A new namespace set up as this scenario, its SOCKETS (and `extra`) held open, with
    every Linux tool required; all torn down afterwards."""
    require_netns()
    for binary in ("ss", "netstat", "busybox", "lsof"):
        require(shutil.which(binary) is not None, f"the {binary} command")
    ns = Namespace().create()
    holders = SocketHolders(ns)
    try:
        setup(ns)
        holders.hold([*SOCKETS, *extra])
        yield ns, holders
    finally:
        holders.stop()
        ns.delete()
