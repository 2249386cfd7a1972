"""Random listeners on real sshd hosts, one per Linux collector: found exactly, nothing more.

Each run draws a fresh set of sockets (the seed is in every failure message; set
FLEETCHECK_RANDOM_SEED to replay one): TCP and UDP, IPv4 and IPv6, wildcard, loopback,
unicast, link-local and IPv4-mapped binds, dual-stack and v6-only, ports at the range's
edges, root's and other users' (a long name, digits only), names of up to 15 bytes
with spaces and punctuation, a socket shared by a parent and its child, a daemon's
sockets held by its child after it exited, SO_REUSEPORT pairs, the same port on both
protocols, busy hosts of tens of listeners, and sockets that are no listeners
(connected UDP, TCP bound without listen()). A privileged scan through each host's tool
(lsof where the host pins it) must list every listening socket with its process and
user and no other, and judge a planted TCP 1923 forbidden; an unprivileged one must
still list every socket and its owner.
"""

from __future__ import annotations

import os
import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.lab.netns import Sock
from tests.lab.prereq import require_sshd_lab
from tests.lab.sshlab import LONG_USER, NUMERIC_USER, HostSpec, SshLab, running_lab
from tests.policy.lab import give_addresses
from tests.ssh.conftest import SSHD, Fleet

pytestmark = pytest.mark.lab

# Host name -> the tools hidden from its sessions, so that each Linux collector is used.
HOSTS = {"rnd-ss": (), "rnd-netstat": ("ss",), "rnd-proc": ("ss", "netstat", "busybox", "lsof"),
         "rnd-lsof": ()}
COLLECTORS = {"rnd-ss": "ss", "rnd-netstat": "netstat", "rnd-proc": "proc", "rnd-lsof": "lsof"}
PINNED: dict[str, dict[str, Any]] = {"rnd-lsof": {"fleetcheck_tool": "lsof"}}  # lsof: pinned
IFACE, LINK_LOCAL = "fcr0", "fe80::1"
# Names as daemons have them and as any process may call itself: digits first, dots, a
# leading '-' (a name like an option), punctuation every Linux tool prints as it is (the
# shell's own characters too: the probe reads the listing in sh), a space (ss and /proc
# print it raw, lsof as \x20, netstat in its last column), and letters that are no ASCII
# (two bytes each in UTF-8: the kernel's cut may split one).
_NAME_CHARS = (string.ascii_letters + string.digits + "._-" + '(),"=/:+@' + "\\'*$;[]!?%#&|<>{}~`"
               + " " + "éж")
_COMM_MAX = 15  # bytes of a command name the kernel keeps (TASK_COMM_LEN)
# Ports where ranges begin and end (only root binds below 1024), and the rest of the range.
_EDGE_PORTS = (1, 1023, 1024, 65535)
MAPPED = "::ffff:"  # the prefix of an IPv4-mapped IPv6 address
# Who holds a socket (None: root): a system user, a long name, a name of digits only.
_USERS = (None, None, "nobody", "nobody", LONG_USER, NUMERIC_USER)
_PORTS = [p for p in range(1, 65536) if p not in (22, 1923)]  # sshd's, and the planted one


@dataclass(frozen=True)
class Draw:
    """One host's random sockets and what a scan must find of them."""

    socks: list[Sock]
    expected: set[tuple[Any, ...]]


def _name(rng: random.Random) -> str:
    """A process name to give a process: up to 15 characters, which may be more bytes."""
    # A quarter of them exactly as long as the kernel keeps: the edge of every cut.
    length = _COMM_MAX if rng.random() < 0.25 else rng.randint(1, _COMM_MAX)
    name = "".join(rng.choice(_NAME_CHARS) for _ in range(length))
    return "d" if name.isspace() else name


def comm(name: str) -> str:
    """The name the kernel keeps of `name` and the tools show: its first 15 bytes
    (TASK_COMM_LEN), read as UTF-8 (a character cut in two is U+FFFD)."""
    return os.fsencode(name)[:_COMM_MAX].decode("utf-8", "replace")


def lsof_shown(comm: str) -> str | None:
    """The name lsof on Linux shows for `comm`, None where it leaves the process out.

    lsof reads the name in /proc/PID/stat ('PID (COMM) S ...') up to the ')' that closes
    the '(' before it, counting the pairs inside: 'a(b)c' whole, 'a)b' as 'a'; a name
    whose pairs never close ('a(b') leaves the process unlisted, and so does one whose
    next word after that ')' is 'Z' ('a)Z b'): lsof reads it as the state, a zombie's
    (seed 9195 drew 'rR,)Z -R').
    """
    depth = 1
    for i, char in enumerate(f"{comm})"):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            words = re.split(r"[ \t\n\v\f\r]+", f"{comm[i + 1:]})".lstrip(" \t\n\v\f\r"))
            return None if words[0] == "Z" else comm[:i]
    return None


def _address(rng: random.Random, n: int) -> tuple[str, bool]:
    """A bind address and whether an IPv6 socket on it takes IPv6 only (IPV6_V6ONLY)."""
    choice = rng.choice(["0.0.0.0", "127.0.0.1", f"127.0.{n % 250}.{rng.randint(2, 250)}",
                         f"192.0.2.{rng.randint(1, 254)}", "::", "::1",
                         f"2001:db8::{rng.randint(1, 0xffff):x}", f"{LINK_LOCAL}%{IFACE}",
                         # IPv4-mapped (as Java binds 127.0.0.1): only without IPV6_V6ONLY
                         rng.choice([f"{MAPPED}127.0.0.1", f"{MAPPED}0.0.0.0",
                                     f"{MAPPED}127.0.{n % 250}.{rng.randint(2, 250)}",
                                     f"{MAPPED}192.0.2.{rng.randint(1, 254)}"])])
    if choice.startswith(MAPPED):
        return choice, False
    return choice, not (choice == "::" and rng.random() < 0.5)  # '::' dual-stack or not


def unmapped(address: str) -> str:
    """The IPv4 address of an IPv4-mapped one (what must be local to bind it); others as
    they are."""
    return address.removeprefix(MAPPED)


def _ports(rng: random.Random, count: int) -> list[int]:
    """`count` distinct ports: any of the range, some at its edges."""
    ports = rng.sample(_PORTS, count)
    for edge in _EDGE_PORTS:
        if rng.random() < 0.15 and edge not in ports:
            ports[rng.randrange(count)] = edge
    return ports


def draw(rng: random.Random, host: str, index: int) -> Draw:
    """Between 4 and 12 listening sockets on distinct ports (a busy host: up to 40), some
    sharing one, plus two sockets that are no listeners."""
    many = rng.randint(20, 40) if rng.random() < 0.2 else rng.randint(4, 12)
    ports = _ports(rng, many + 2)  # 1923 only where it is planted on purpose
    if rng.random() < 0.5:
        ports[0] = 1923
    socks: list[Sock] = []
    names = [_name(rng) for _ in range(rng.randint(2, 4))]
    # Each daemon runs as one user, as real ones do (and a process per name and user
    # keeps the holders few): most as root or nobody, some as a lab user.
    runs_as = {name: rng.choice(_USERS) for name in names}
    for port in ports[:many]:
        address, v6only = _address(rng, index)
        name = rng.choice(names)
        # Now and then another process of the same name and another user (as sshd's
        # privilege separation has); only root binds a port below 1024.
        user = runs_as[name] if rng.random() < 0.9 else rng.choice([None, "nobody"])
        user = user if port >= 1024 else None
        socks.append(Sock(rng.choice(["tcp", "udp"]), address, port, process=name,
                          user=user, v6only=v6only))
    tcp = [s for s in socks if s.proto == "tcp"]
    if tcp and rng.random() < 0.5:  # the same port on the other protocol
        twin = rng.choice(tcp)
        socks.append(Sock("udp", twin.address, twin.port, process=twin.process, user=twin.user,
                          v6only=twin.v6only))
    if rng.random() < 0.5:  # one socket held by a process and its child: one listener
        socks[0] = Sock(socks[0].proto, socks[0].address, socks[0].port,
                        process=socks[0].process, v6only=socks[0].v6only, shared_with_child=True)
    if rng.random() < 0.5:  # SO_REUSEPORT: two processes on one address and port
        port = ports[many]
        socks += [Sock("udp", "0.0.0.0", port, process=name, reuseport=True)
                  for name in rng.sample(names, 2)]
    if rng.random() < 0.3:  # a daemon gone to the background: its child holds its sockets
        daemon = rng.choice(names)
        socks = [replace(s, orphaned=True) if s.process == daemon else s for s in socks]
    expected = {_expected(host, s) for s in socks}
    # No listeners: a connected UDP socket, a TCP port bound without listen().
    socks.append(Sock("udp", "127.0.0.1", ports[many + 1], process=rng.choice(names),
                      connect_to=("127.0.0.1", 53)))
    socks.append(Sock("tcp", "0.0.0.0", ports[many + 1], process=rng.choice(names),
                      listen=False))
    return Draw(socks, expected)


def _expected(host: str, s: Sock) -> tuple[Any, ...]:
    """What a privileged scan of `host` must list for socket `s`."""
    process: str | None = comm(s.process)
    if host == "rnd-lsof" and lsof_shown(comm(s.process)) is None:
        process = None  # lsof leaves the process out; the kernel's tables show the socket
    address = s.address.partition("%")[0]
    if host == "rnd-netstat":
        # net-tools prints an IPv4-mapped address as its IPv4 address, on a tcp6 row, and
        # fleetcheck reads it as IPv4 (the corpus's netstat-tulpen says so): it takes IPv4
        # only either way.
        address = unmapped(address)
    return (s.proto, 6 if ":" in address else 4, address, s.port, process, s.user or "root")


OWNED_SSHD = {(*row, "root") for row in SSHD}


def owned(host: dict[str, Any]) -> set[tuple[Any, ...]]:
    """(proto, family, address, port, process, user) of every listener of a host's JSON."""
    return {(li["proto"], li["family"], li["address"], li["port"], li["process"], li["user"])
            for li in host["listeners"]}


@pytest.fixture(scope="module")
def seeded_lab() -> Iterator[tuple[SshLab, int, dict[str, Draw]]]:
    """The four hosts with this run's random sockets held open."""
    require_sshd_lab()
    seed = int(os.environ.get("FLEETCHECK_RANDOM_SEED") or random.SystemRandom().randrange(10**9))
    rng = random.Random(seed)  # noqa: S311  # a replayable test draw, no secret
    draws = {host: draw(rng, host, n) for n, host in enumerate(HOSTS)}
    with running_lab([HostSpec(name, hide=hidden) for name, hidden in HOSTS.items()]) as lab:
        for host, d in draws.items():
            lab.hosts[host].ns.add_interface(IFACE, [f"{LINK_LOCAL}/64"])
            give_addresses(lab.hosts[host].ns, [replace(s, address=unmapped(s.address))
                                                for s in d.socks if "%" not in s.address])
            lab.hold(host, d.socks)
        yield lab, seed, draws


def test_random_listeners_found_exactly(seeded_lab: tuple[SshLab, int, dict[str, Draw]],
                                        tmp_path: Path) -> None:
    """Every collector lists exactly the listening sockets, each with its process."""
    lab, seed, draws = seeded_lab
    fleet = Fleet(lab, tmp_path)
    inv = fleet.inventory({h: fleet.vars(h, ansible_become=True, **PINNED.get(h, {}))
                           for h in HOSTS})
    scan = fleet.scan(inv)
    where = f"seed {seed} (FLEETCHECK_RANDOM_SEED={seed} replays it)"
    spice = {h for h, d in draws.items() if ("tcp", 1923) in {(e[0], e[3]) for e in d.expected}}
    for host, d in draws.items():
        result = scan.host(host)
        assert result["error"] is None, (where, host, result["error"])
        assert result["collector"] == COLLECTORS[host], (where, host)
        assert result["privileged"] is True, (where, host)
        found, wanted = owned(result), OWNED_SSHD | d.expected
        assert found == wanted, (where, host, "missing", wanted - found, "extra", found - wanted)
        forbidden = {f["port"] for f in result["findings"] if f["kind"] == "forbidden"}
        assert (1923 in forbidden) == (host in spice), (where, host, result["findings"])
        if host in spice:
            assert result["status"] == "noncompliant", (where, host)
    noncompliant = [h["name"] for h in scan.run["hosts"] if h["status"] == "noncompliant"]
    assert scan.code == (1 if noncompliant else 0), (where, scan.code, scan.err)


def test_random_listeners_without_privilege(seeded_lab: tuple[SshLab, int, dict[str, Draw]],
                                            tmp_path: Path) -> None:
    """Without become every socket is still listed with its owning user; no process of
    another user is named (the tools cannot see them); the host says it was not
    privileged."""
    lab, seed, draws = seeded_lab
    fleet = Fleet(lab, tmp_path)
    scan = fleet.scan(fleet.inventory({h: fleet.vars(h, **PINNED.get(h, {})) for h in HOSTS}))
    where = f"seed {seed} (FLEETCHECK_RANDOM_SEED={seed} replays it)"
    for host, d in draws.items():
        result = scan.host(host)
        assert result["error"] is None, (where, host, result["error"])
        assert result["privileged"] is False, (where, host)
        # Every tool shows each socket's owning uid to anyone (lsof: the kernel's tables
        # read beside it), and the probe looks the uids up in the same round trip.
        sockets = {(li["proto"], li["family"], li["address"], li["port"], li["user"])
                   for li in result["listeners"]}
        wanted = {(*e[:4], e[5]) for e in OWNED_SSHD | d.expected}
        assert sockets == wanted, (where, host, "missing", wanted - sockets,
                                   "extra", sockets - wanted)
        assert all(li["process"] is None for li in result["listeners"]), (where, host)
