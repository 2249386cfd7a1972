"""Reachability lab: a server namespace and a client namespace on a veth pair, real
listeners in the server, real connects to them, and what fleetcheck says of them.

The server (`ra`: 10.77.0.1/24, fd77::1/64, fe80::a; a stand-in for a dummy, `rd0`: 10.88.0.1,
fd88::1, 10.88.0.2) holds sockets bound as each `Bind` asks (reachholder.py); the
client (`rb`: 10.77.0.2/24, fd77::2/64, fe80::b, routes to the dummy's addresses)
connects to every address of the server over TCP or sends a UDP request, and the
server tries its own loopback and addresses. `judge` reads the same sockets through
every Linux tool fleetcheck knows and judges them against policies that allow a port
only on loopback, only on a private network, only over one family, or forbid IPv4;
`disagreements` says where a verdict claims less reach than the connects showed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetcheck.addresses import parse_ip
from fleetcheck.model import Listener
from fleetcheck.parsers import PARSERS
from fleetcheck.policy.judge import evaluate
from fleetcheck.policy.load import policy_from_text
from tests.conftest import run_cli, run_files
from tests.lab.netns import Namespace, in_netns

_HERE = Path(__file__).parent
SERVER_V4, SERVER_V6, SERVER_LL = "10.77.0.1", "fd77::1", "fe80::a"
DUMMY_V4, DUMMY_V6, GONE_V4 = "10.88.0.1", "fd88::1", "10.88.0.2"
GROUP_V4, GROUP_V6 = "239.1.2.3", "ff15::1234"
# Where the client tries every port, and where the server tries its own.
PEER_TARGETS = (SERVER_V4, SERVER_V6, f"{SERVER_LL}%rb", DUMMY_V4, DUMMY_V6, GONE_V4,
                "127.0.0.1", "127.0.0.2")  # the last two reach the server only if routed
PEER_GROUPS = (f"{GROUP_V4}%rb", f"{GROUP_V6}%rb")
LOCAL_TARGETS = ("127.0.0.1", "127.0.0.2", "::1", SERVER_V4, SERVER_V6, DUMMY_V4)
TOOLS = ("ss", "netstat", "lsof", "proc")  # as the probe runs them
# Listings parsed alone, as `fleetcheck parse` reads them: no host facts (route_localnet).
PARSE_ONLY = ("busybox-netstat", "ss-tulpn")
# Debian's BusyBox netstat has no -p, so the probe passes it over there: it is read with
# `busybox netstat -tuln` and its parser.


@dataclass(frozen=True)
class Bind:
    """One socket the server holds: where, with which options."""

    proto: str
    address: str  # may carry %iface (a scoped link-local address)
    port: int
    v6only: bool | None = None  # None: the namespace's net.ipv6.bindv6only decides
    device: str | None = None  # SO_BINDTODEVICE
    freebind: bool = False
    join: str | None = None  # a multicast group to join, 'group%iface'
    reuseport: bool = False
    shared: bool = False  # a forked child holds it too (two processes, one socket)

    def spec(self) -> dict[str, Any]:
        """As reachholder.py reads it."""
        return self.__dict__.copy()


@dataclass
class World:
    """The two namespaces, created by `world()` and removed after it."""

    server: Namespace
    client: Namespace
    procs: list[subprocess.Popen[str]] = field(default_factory=list)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _sysctl(ns: Namespace, key: str, value: str) -> None:
    subprocess.run(ns.exec_argv(["sysctl", "-qw", f"{key}={value}"]), check=True,
                   capture_output=True)


@contextlib.contextmanager
def world(*, bindv6only: int = 0, nonlocal_bind: int = 0,
          route_localnet: bool = False) -> Iterator[World]:
    """A fresh server and client namespace pair, wired and addressed as the module says.

    With `route_localnet` the server's `ra` has net.ipv4.conf.ra.route_localnet=1 (as
    kube-proxy sets it) and the client routes 127.0.0.0/8 to the server, as a neighbour
    on the link can: the server's IPv4 loopback listeners then answer the client.
    """
    server, client = Namespace().create(), Namespace().create()
    w = World(server, client)
    try:
        s, c = server.name, client.name
        _ip("link", "add", "ra", "netns", s, "type", "veth", "peer", "name", "rb", "netns", c)
        # No dummy driver everywhere: a veth pair kept inside stands in for one.
        _ip("-n", s, "link", "add", "rd0", "type", "veth", "peer", "name", "rd0p")
        for ns, link in ((s, "ra"), (s, "rd0"), (s, "rd0p"), (c, "rb")):
            _ip("-n", ns, "link", "set", link, "up")
        for ns, link, addr in ((s, "ra", f"{SERVER_V4}/24"), (s, "ra", f"{SERVER_V6}/64"),
                               (s, "ra", f"{SERVER_LL}/64"), (s, "rd0", f"{DUMMY_V4}/32"),
                               (s, "rd0", f"{DUMMY_V6}/128"), (s, "rd0", f"{GONE_V4}/32"),
                               (c, "rb", "10.77.0.2/24"), (c, "rb", "fd77::2/64"),
                               (c, "rb", "fe80::b/64")):
            _ip("-n", ns, "addr", "add", addr, "dev", link, *(["nodad"] if ":" in addr else []))
        _ip("-n", c, "route", "add", "10.88.0.0/24", "via", SERVER_V4)
        _ip("-n", c, "route", "add", "fd88::/64", "via", SERVER_V6)
        if route_localnet:
            _sysctl(server, "net.ipv4.conf.ra.route_localnet", "1")
            _sysctl(client, "net.ipv4.conf.rb.route_localnet", "1")
            _ip("-n", c, "addr", "del", "127.0.0.1/8", "dev", "lo")  # the client's own goes
            _ip("-n", c, "route", "add", "127.0.0.0/8", "via", SERVER_V4, "dev", "rb", "src",
                "10.77.0.2")
        _sysctl(server, "net.ipv6.bindv6only", str(bindv6only))
        _sysctl(server, "net.ipv4.ip_nonlocal_bind", str(nonlocal_bind))
        yield w
    finally:
        for proc in w.procs:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(timeout=5)
        server.delete()
        client.delete()


def hold(w: World, binds: Sequence[Bind]) -> list[int | None]:
    """Bind `binds` in the server (one holder); the kernel's IPV6_V6ONLY of each."""
    argv = [sys.executable, str(_HERE / "reachholder.py"),
            json.dumps({"socks": [b.spec() for b in binds]})]
    proc = subprocess.Popen(w.server.exec_argv(argv), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    word, _, facts = proc.stdout.readline().partition(" ")
    if word != "ready":
        raise RuntimeError(f"holder failed: {proc.stderr.read()}")
    w.procs.append(proc)
    v6only: list[int | None] = json.loads(facts)["v6only"]
    return v6only


def drop_gone(w: World) -> None:
    """Remove the dummy's third address: what was bound to it stays bound, to nothing."""
    _ip("-n", w.server.name, "addr", "del", f"{GONE_V4}/32", "dev", "rd0")


def _probe(ns: Namespace, tries: Sequence[tuple[str, str, int]]) -> list[bool]:
    out = subprocess.run(ns.exec_argv([sys.executable, str(_HERE / "reachprobe.py"),
                                       json.dumps(tries)]),
                         check=True, capture_output=True, text=True, timeout=60)
    result: list[bool] = json.loads(out.stdout)
    return result


def reach(w: World, ports: Sequence[tuple[str, int]],
          ) -> dict[tuple[str, int], set[tuple[str, str]]]:
    """(proto, port) -> {('peer'|'local', target address)} that answered."""
    peer = [(p, a, n) for p, n in ports
            for a in (*PEER_TARGETS, *(PEER_GROUPS if p == "udp" else ()))]
    local = [(p, a, n) for p, n in ports for a in LOCAL_TARGETS]
    out: dict[tuple[str, int], set[tuple[str, str]]] = {k: set() for k in ports}
    for where, ns, tries in (("peer", w.client, peer), ("local", w.server, local)):
        for (p, a, n), ok in zip(tries, _probe(ns, tries), strict=True):
            if ok:
                out[(p, n)].add((where, a))
    return out


def scan(w: World, tmp: Path) -> dict[str, list[Listener]]:
    """Tool -> the listeners a real `fleetcheck scan` pinned to it reports in the server."""
    inv = tmp / "inv.yml"
    inv.write_text("all:\n  hosts:\n" + "".join(
        f"    t_{t}: {{ansible_connection: local, fleetcheck_tool: {t}}}\n" for t in TOOLS))
    out = tmp / "out"
    with in_netns(w.server.name):
        res = run_cli(["scan", "-i", str(inv), "-o", str(out), "--format", "json",
                       "--no-history"], cwd=tmp)
    files = run_files(out)
    assert len(files) == 1, res.err
    run = json.loads(files[0].read_text())
    listeners: dict[str, list[Listener]] = {}
    for h in run["hosts"]:
        if h["error"] is not None:
            raise RuntimeError(f"{h['name']}: {h['error']}")
        listeners[h["name"][2:]] = [Listener.from_dict(li) for li in h["listeners"]]
    for f in files:
        f.unlink()
    for name, tool, argv in (("busybox-netstat", "busybox-netstat",
                              ["busybox", "netstat", "-tuln"]),
                             ("ss-tulpn", "ss", ["ss", "-tulpn"])):  # ss as people type it
        text = subprocess.run(w.server.exec_argv(argv), check=True, capture_output=True,
                              text=True).stdout
        listeners[name] = PARSERS[tool](text)
    return listeners


POLICIES = {  # name -> (rule text for the port, what an 'allowed' verdict claims)
    "loopback": "address: loopback",
    "private4": "address: 10.0.0.0/8",
    "family6": "family: 6",
    "family4": "family: 4",
    "iface_lo": "interface: lo",
    "iface_ra": "interface: ra",
}


def verdicts(listener: Listener) -> dict[str, str]:
    """Policy name -> the verdict on `listener` of a policy allowing its port only as the
    name says; 'forbid4' is a default-allow policy forbidding IPv4 on the port."""
    rule = f"  - id: r\n    proto: {listener.proto}\n    port: {listener.port}\n"
    texts = {name: f"name: p\ndefault: deny\nallow:\n{rule}    {cond}\n"
             for name, cond in POLICIES.items()}
    texts["forbid4"] = f"name: p\ndefault: allow\nforbid:\n{rule}    family: 4\n"
    return {name: evaluate("h", [listener], [policy_from_text(text)]).listeners[0].verdict.value
            for name, text in texts.items()}


def _v4(target: str) -> ipaddress.IPv4Address | None:
    ip = ipaddress.ip_address(target.partition("%")[0])
    return ip if isinstance(ip, ipaddress.IPv4Address) else None


def disagreements(v: dict[str, str], reached: set[tuple[str, str]], *,
                  facts: bool = True) -> list[str]:
    """What the verdicts on one listener claim that the connects to it disprove. Without
    `facts` (a listing parsed alone) a loopback address reached through route_localnet is
    not held against it: only the host tells that."""
    out = []
    peer = {a for w, a in reached if w == "peer"
            if facts or not (_v4(a) or ipaddress.ip_address("::")).is_loopback}
    v4 = {a for _, a in reached if _v4(a) is not None}
    v6 = {a for _, a in reached if _v4(a) is None}
    private4 = ipaddress.ip_network("10.0.0.0/8")
    claims = {
        "loopback": (peer, "allowed on loopback only, yet the peer reached"),
        "private4": ({a for a in peer if (_v4(a) or ipaddress.ip_address("::")) not in private4},
                     "allowed on 10.0.0.0/8 only, yet the peer reached"),
        "family6": (v4, "allowed over IPv6 only, yet reached over IPv4 at"),
        "family4": (v6, "allowed over IPv4 only, yet reached over IPv6 at"),
        "forbid4": (v4, "IPv4 forbidden, yet allowed though reached at"),
        # bound to lo: only the host; bound to ra: what comes through it (the host's own
        # connects to ra's addresses count as such), never the host's loopback
        "iface_lo": (peer, "allowed as bound to lo, yet the peer reached"),
        "iface_ra": ({a for w, a in reached if w == "local" and (_v4(a) or ipaddress.ip_address(
            a)).is_loopback}, "allowed as bound to ra, yet reached through lo at"),
    }
    for name, (bad, what) in claims.items():
        if bad and v[name] == "allowed":
            out.append(f"{name}: {what} {sorted(bad)}")
    return out


def shown_binds(listeners: Sequence[Listener]) -> set[tuple[int, str]]:
    """(family, address) each listener is reached on (not cut ones): an IPv4-mapped bind is
    IPv4 on its address, whether a tool shows it mapped (ss, BusyBox, /proc) or dotted
    (net-tools under tcp6, family 4 as printed; lsof, type IPv6)."""
    out: set[tuple[int, str]] = set()
    for li in listeners:
        ip = parse_ip(li.address)
        if not li.truncated and ip is not None:
            out.add((ip.version, str(ip)))
    return out


def bound(binds: Sequence[Bind]) -> set[tuple[int, str]]:
    """(family, address) each bind is reached on, as `shown_binds` puts it."""
    out: set[tuple[int, str]] = set()
    for b in binds:
        ip = parse_ip(b.address)
        assert ip is not None
        out.add((ip.version, str(ip)))
    return out


def listing_problems(tool: str, binds: Sequence[Bind], ours: Sequence[Listener]) -> list[str]:
    """What is wrong with a tool's listeners for the sockets bound on one (proto, port):
    one listener a socket (whoever holds it), each at an address bound."""
    want = len(binds)
    out = []
    if len(ours) != want:
        out.append(f"{len(ours)} listeners for {len(binds)} sockets (wanted {want})")
    lsof_star = {b.address for b in binds} == {"::ffff:0.0.0.0"} and tool == "lsof"
    if not lsof_star and shown_binds(ours) - bound(binds):  # lsof prints that one as '*'
        out.append(f"shown at {sorted(shown_binds(ours))}, bound at {sorted(bound(binds))}")
    return out


def attributed(reached: set[tuple[str, str]], listener: Listener, split: bool,
               ) -> set[tuple[str, str]]:
    """What answered on the listener's port that its socket answered: all of it, or with
    `split` (an IPv4 socket beside an IPv6-only one on the port) its family's share."""
    if not split:
        return reached
    ipv4 = listener.family == 4 or listener.address.startswith("::ffff:")
    return {(w, a) for w, a in reached if (_v4(a) is not None) == ipv4}
