"""Live: the socket shapes real services make, on a real sshd host, scanned through SSH by
every Linux collector and compared with the kernel's own word.

One lab host holds them (tests/lab/services.py builds each as the service it stands for
does): a pre-fork server (a root master and two workers running as nobody, one socket),
and one whose workers have lower pids than their master, as after the pid counter wrapped;
a socket opened by a launcher that exec'd the service and exited; socket activation (a
process called systemd holding the sockets, and the service it passed them to; and
sockets systemd alone holds, one on TCP 1923); SO_REUSEPORT in one process and in two;
SO_BINDTODEVICE; link-local binds with a scope; a secondary address; IP_FREEBIND binds
to addresses the host does not have; UDP on a multicast group, bound twice; raw and
packet sockets (no listeners); a daemon that dropped root after binding; an executable
deleted while it runs; a thread of another name binding; a process renamed after binding;
a uid no passwd entry names; 250 listeners in one process of nobody's.

The inventory names the host four times, each pinning one collector (ss, netstat, the
/proc fallback, lsof), so that all four read the same sockets of the same pids. The truth
is read beside them from /proc/net/* (sockets, their uids and inodes) and /proc/PID/fd
(who holds each) and /proc/PID/stat (when each started, and its parent): one listener per
socket, owned by its oldest holder but pid 1 (a holder after its parent where they share a
clock tick, then by pid), the others after it in that order (net-tools netstat names only
the lowest pid), its user the socket's owner (a uid without a name as its number).
BusyBox netstat lists pids only where it was built so (not Debian's): there the probe
takes the /proc fallback, which this test covers.

A second host has listeners, and processes holding them, come and go all through its
scans (short-lived processes and sockets; a pre-fork master starting a worker every few
milliseconds, whose pids fall below the master's whenever the pid counter wraps during
the suite) beside a forbidden TCP 1923 that stays.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.lab.netns import Namespace, stop_by_stdin
from tests.lab.prereq import require_sshd_lab
from tests.lab.sshlab import HostSpec, SshLab, running_lab
from tests.ssh.conftest import Fleet

pytestmark = pytest.mark.lab

_SERVICES = Path(__file__).parents[1] / "lab" / "services.py"
TOOLS = ("ss", "netstat", "proc", "lsof")
IFACE = "fcs0"
ADDRESSES = ("10.20.30.40/24", "10.20.30.41/24", "fe80::1/64")
NOUSER = 54321  # a uid no passwd entry names
MANY = 250  # ss prints more than 32 KiB of them: the probe reads their uids with awk
# One process per list: several shapes share one only where none starts a process.
SHAPES: list[list[dict[str, Any]]] = [
    [{"shape": "prefork", "port": 8080}],
    [{"shape": "prefork", "port": 8099, "wrapped": True}],
    [{"shape": "passed", "port": 8081}],
    [{"shape": "systemd", "port": 8082}],
    [{"shape": "systemd-only", "port": 8083}],
    [{"shape": "systemd-only", "port": 1923}],
    [{"shape": "reuseport", "proto": "tcp", "port": 8084},
     {"shape": "reuseport", "proto": "udp", "port": 8085},
     {"shape": "reuseport", "proto": "tcp", "port": 8086}],
    [{"shape": "reuseport", "proto": "tcp", "port": 8086, "name": "fcreuse2"}],
    [{"shape": "device", "proto": "tcp", "port": 8087, "iface": IFACE},
     {"shape": "device", "proto": "udp", "port": 8088, "iface": IFACE},
     {"shape": "device", "proto": "tcp", "port": 8089, "iface": IFACE, "address": "::"},
     {"shape": "bind", "proto": "tcp", "port": 8090, "address": f"fe80::1%{IFACE}"},
     {"shape": "bind", "proto": "udp", "port": 8090, "address": f"fe80::1%{IFACE}"},
     {"shape": "bind", "proto": "tcp", "port": 8091, "address": "10.20.30.41"},
     {"shape": "freebind", "proto": "tcp", "port": 8092, "address": "203.0.113.7"},
     {"shape": "freebind", "proto": "tcp", "port": 8093, "address": "2001:db8:dead::7"},
     {"shape": "bind", "proto": "udp", "port": 5353, "address": "224.0.0.251", "times": 2},
     {"shape": "raw"}],
    [{"shape": "dropped", "port": 8094}],
    [{"shape": "deleted", "port": 8095}],
    [{"shape": "renamed", "port": 8096, "later": "fcafter"}],
    [{"shape": "threads", "port": 8097}],
    [{"shape": "nouser", "port": 8098, "uid": NOUSER}],
    [{"shape": "many", "port": 30000, "count": MANY, "uid": 65534}],
]

Row = tuple[str, int, str, int, str | None, int | None, str | None, tuple[str, ...]]


def start(ns: Namespace, shapes: list[dict[str, Any]]) -> subprocess.Popen[str]:
    """A services.py process in `ns` building `shapes`; returns once they are held."""
    proc = subprocess.Popen(ns.exec_argv([sys.executable, str(_SERVICES), json.dumps(shapes)]),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        err = proc.stderr.read() if proc.stderr else ""
        stop_by_stdin(proc)
        raise RuntimeError(f"services.py {shapes}: {line!r} {err}")
    return proc


def _address(hex_text: str) -> str:
    """An address of /proc/net/*: 32-bit words, each in the host's (little-endian) order."""
    import ipaddress

    raw = bytes.fromhex(hex_text)
    ordered = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(ordered))


def truth(ns: Namespace, passwd: Path) -> Counter[Row]:
    """Every listening socket in `ns`, from /proc/net/* and /proc/PID/fd (see the module)."""
    names = {int(f[2]): f[0] for line in passwd.read_text().splitlines()
             if len(f := line.split(":")) >= 7 and f[2].isdigit()}
    holders: dict[int, list[int]] = {}
    for pid in ns.pids():
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            links = [os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)]
        except OSError:
            continue  # gone meanwhile
        for link in links:
            if link.startswith("socket:["):
                pids = holders.setdefault(int(link[8:-1]), [])
                if pid not in pids:
                    pids.append(pid)
    comm = {pid: Path(f"/proc/{pid}/comm").read_text().rstrip("\n")
            for pids in holders.values() for pid in pids}
    stat = {pid: Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            for pids in holders.values() for pid in pids}
    born = {pid: (pid == 1, int(f[19])) for pid, f in stat.items()}  # starttime, field 22

    def age(pid: int, pids: list[int]) -> tuple[tuple[bool, int], int, int]:
        """The oldest first; in one clock tick, a process before its children."""
        parent, depth = int(stat[pid][1]), 0
        while parent in pids:
            parent, depth = int(stat[parent][1]), depth + 1
        return born[pid], depth, pid

    rows: Counter[Row] = Counter()  # SO_REUSEPORT: the same row for several sockets
    for table in ("tcp", "tcp6", "udp", "udp6"):
        text = subprocess.run(ns.exec_argv(["cat", f"/proc/net/{table}"]), check=True,
                              capture_output=True, text=True).stdout
        for line in text.splitlines()[1:]:
            f = line.split()
            local, remote, state, uid, inode = f[1], f[2], f[3], int(f[7]), int(f[9])
            if table.startswith("tcp") and state != "0A":
                continue  # TCP: LISTEN only
            if table.startswith("udp") and remote.rpartition(":")[2] != "0000":
                continue  # UDP: unconnected only
            address, port = _address(local.partition(":")[0]), int(local.partition(":")[2], 16)
            held = holders.get(inode, [])
            pids = sorted(held, key=functools.partial(age, pids=held))
            user = "root" if uid == 0 else names.get(uid, str(uid))
            rows[(table[:3], 6 if table.endswith("6") else 4, address, port,
                  comm[pids[0]] if pids else None, pids[0] if pids else None, user,
                  tuple(f"{comm[p]}/{p}" for p in pids[1:]))] += 1
    return rows


def _lowest(row: Row) -> Row:
    """`row` as net-tools netstat shows it: its lowest holder alone."""
    holders = [(row[5], row[4]), *((int(o.rpartition("/")[2]), o.rpartition("/")[0])
                                   for o in row[7])]
    pid, name = min(holders, key=lambda h: -1 if h[0] is None else h[0])
    return (*row[:4], name, pid, row[6], ())


def found(host: dict[str, Any]) -> Counter[Row]:
    """The same of a host's JSON."""
    return Counter((li["proto"], li["family"], li["address"], li["port"], li["process"],
                    li["pid"], li["user"], tuple(li.get("other_processes", ())))
                   for li in host["listeners"])


FLAP = 40000  # listeners come and go on FLAP..FLAP+99 all through the scans
FLAPPING: list[list[dict[str, Any]]] = [
    [{"shape": "bind", "proto": "tcp", "port": 1923, "address": "0.0.0.0", "name": "spiced"}],
    [{"shape": "flap", "port": FLAP}],
    # a master starting a worker every few milliseconds, each holding its socket a moment
    [{"shape": "recycling", "port": 8080}],
]


@dataclass
class Services:
    """The lab, its services host, and the truth read before the scans."""

    lab: SshLab
    truth: Counter[Row]
    recycling: int  # the pid of the flap host's recycling master


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    require_sshd_lab()
    with running_lab([HostSpec("svc"), HostSpec("flap")]) as lab:
        ns = lab.hosts["svc"].ns
        ns.add_interface(IFACE, list(ADDRESSES))
        procs: list[subprocess.Popen[str]] = []
        try:
            for shapes in SHAPES:
                procs.append(start(ns, shapes))
            for shapes in FLAPPING:
                procs.append(start(lab.hosts["flap"].ns, shapes))
            recycling = procs[-1].pid  # `ip netns exec` runs services.py in its own process
            assert Path(f"/proc/{recycling}/comm").read_text() == "fcmaster\n"
            yield Services(lab, truth(ns, lab.root / "etc" / "passwd"), recycling)
        finally:
            for proc in procs:
                stop_by_stdin(proc)


def _scan(fleet: Fleet, *, become: bool, host: str = "svc") -> dict[str, dict[str, Any]]:
    """Scan `host` once through each collector (the inventory names it after the tool)."""
    inv = fleet.inventory({tool: fleet.vars(host, ansible_become=become, fleetcheck_tool=tool)
                           for tool in TOOLS})
    scan = fleet.scan(inv)
    assert scan.code == 1, scan.err
    return {tool: scan.host(tool) for tool in TOOLS}


def test_every_collector_reads_each_service_shape_as_the_kernel_has_it(
        services: Services, tmp_path: Path) -> None:
    """One listener per socket, with its holders, address, port and owner, by every tool."""
    wanted = services.truth
    ports = {row[3] for row in wanted}
    assert {8080, 8086, 8090, 8098, 5353, 1923} <= ports and wanted.total() > MANY + 20
    # SO_REUSEPORT: two sockets of one process on one address and port, two listeners
    assert [n for row, n in wanted.items() if row[3] == 8084] == [2]
    for port in (8080, 8099):  # the master owns the socket, its workers after it
        assert [row[4:] for row in wanted if row[3] == port] == [
            ("fcmaster", row[5], "root", (f"fcworker/{row[7][0].partition('/')[2]}",
                                          f"fcworker/{row[7][1].partition('/')[2]}"))
            for row in wanted if row[3] == port], port
    wrapped = next(row for row in wanted if row[3] == 8099)
    assert all(int(o.partition("/")[2]) < int(wrapped[5] or 0) for o in wrapped[7])
    for tool, host in _scan(Fleet(services.lab, tmp_path), become=True).items():
        assert host["error"] is None, (tool, host["error"])
        assert host["collector"] == tool
        got = found(host)
        if tool == "netstat":  # net-tools names one holder of a socket: the lowest pid
            wanted = Counter(_lowest(row) for row in services.truth.elements())
        assert got == wanted, (tool, "missing", wanted - got, "extra", got - wanted)
        wanted = services.truth
        verdicts = {(li["proto"], li["port"], li["verdict"]) for li in host["listeners"]}
        assert {v for v in verdicts if v[1] in (22, 1923)} == {
            ("tcp", 22, "allowed"), ("tcp", 1923, "forbidden"), ("udp", 1923, "stray")}, tool
        assert {v[2] for v in verdicts if v[1] not in (22, 1923)} == {"stray"}, tool
        assert host["status"] == "noncompliant", tool
        iface = {li["port"]: li.get("iface") for li in host["listeners"]
                 if li["port"] in (8087, 8090)}
        # Only ss shows a bound device, and a link-local address's scope.
        assert iface == ({8087: IFACE, 8090: IFACE} if tool == "ss" else
                         {8087: None, 8090: None}), tool
        # ...and that a socket is bound to none (no key); the others leave it unknown (null)
        unbound = {"iface" in li for li in host["listeners"] if li["port"] == 8080}
        assert unbound == {tool != "ss"}, tool
        if tool != "ss":
            assert all(li["iface"] is None for li in host["listeners"]
                       if li["port"] in (8087, 8090)), tool


def test_without_privilege_every_collector_names_each_socket_owner(
        services: Services, tmp_path: Path) -> None:
    """Without root no process is named, and every socket's user is the same as with it."""
    wanted: Counter[tuple[Any, ...]] = Counter()
    for row, n in services.truth.items():
        wanted[(*row[:4], row[6])] += n
    for tool, host in _scan(Fleet(services.lab, tmp_path), become=False).items():
        assert host["error"] is None, (tool, host["error"])
        got = Counter((li["proto"], li["family"], li["address"], li["port"], li["user"])
                      for li in host["listeners"])
        assert got == wanted, (tool, "missing", wanted - got, "extra", got - wanted)
        assert {li["process"] for li in host["listeners"]} == {None}, tool


def test_listeners_coming_and_going_during_the_probe_change_no_verdict(
        services: Services, tmp_path: Path) -> None:
    """While listeners and their processes come and go, every collector still reads the
    host, finds what stays (sshd, a forbidden TCP 1923, a pre-fork master's socket) once,
    and judges the host noncompliant: a socket gone between two reads is found or not,
    never an error; a worker started meanwhile takes no name from its master's socket
    (the /proc fallback took it for a forged listing and named nobody), nor does one whose
    pid fell below its master's after the pid counter wrapped (but through net-tools
    netstat, which prints one pid a socket: its lowest)."""
    fleet = Fleet(services.lab, tmp_path)
    for _ in range(3):
        for tool, host in _scan(fleet, become=True, host="flap").items():
            assert host["error"] is None, (tool, host["error"])
            assert host["status"] == "noncompliant", tool
            masters = [li for li in host["listeners"] if li["port"] == 8080]
            assert len(masters) == 1, (tool, masters)
            master = masters[0]
            if tool == "netstat" and master["pid"] < services.recycling:
                # the lowest pid: a worker, or the process that starts them
                assert master["process"] in ("fcworker", "fcrecycler"), master
                master["process"] = "fcmaster"
            stays = Counter((li["proto"], li["port"], li["process"], li["verdict"],
                             li.get("owner_note")) for li in host["listeners"]
                            if li["port"] < FLAP)
            assert stays == Counter({("tcp", 22, "sshd", "allowed", None): 2,
                                     ("tcp", 1923, "spiced", "forbidden", None): 1,
                                     ("tcp", 8080, "fcmaster", "stray", None): 1}), tool
            assert [f["port"] for f in host["findings"] if f["kind"] == "forbidden"] == [1923]
            came = {(li["port"], li["verdict"]) for li in host["listeners"] if li["port"] >= FLAP}
            assert all(FLAP <= port < FLAP + 100 and verdict == "stray"
                       for port, verdict in came), (tool, came)
