"""Random listeners on real sshd hosts, one per Linux collector: found exactly, nothing more.

Each run draws a fresh set of sockets (the seed is in every failure message; set
FLEETCHECK_RANDOM_SEED to replay one): TCP and UDP, IPv4 and IPv6, wildcard, loopback,
unicast and link-local binds, dual-stack and v6-only, root's and another user's, a
socket shared by a parent and its child, SO_REUSEPORT pairs, the same port on both
protocols, and sockets that are no listeners (connected UDP, TCP bound without
listen()). A privileged scan through each host's tool (lsof where the host pins it) must
list every listening socket with its process and user and no other, and judge a planted
TCP 1923 forbidden; an unprivileged one must still list every socket and its owner.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.lab.netns import Sock
from tests.lab.prereq import require_sshd_lab
from tests.lab.sshlab import HostSpec, SshLab, running_lab
from tests.policy.lab import give_addresses
from tests.ssh.conftest import SSHD, Fleet

pytestmark = pytest.mark.lab

# Host name -> the tools hidden from its sessions, so that each Linux collector is used.
HOSTS = {"rnd-ss": (), "rnd-netstat": ("ss",), "rnd-proc": ("ss", "netstat", "busybox", "lsof"),
         "rnd-lsof": ()}
COLLECTORS = {"rnd-ss": "ss", "rnd-netstat": "netstat", "rnd-proc": "proc", "rnd-lsof": "lsof"}
PINNED: dict[str, dict[str, Any]] = {"rnd-lsof": {"fleetcheck_tool": "lsof"}}  # lsof: pinned
IFACE, LINK_LOCAL = "fcr0", "fe80::1"
# Names as daemons have them; ss and /proc also show a space unambiguously.
_NAME_CHARS = string.ascii_letters + string.digits + "._-"
_SPACED = {"rnd-ss", "rnd-proc", "rnd-lsof"}


@dataclass(frozen=True)
class Draw:
    """One host's random sockets and what a scan must find of them."""

    socks: list[Sock]
    expected: set[tuple[Any, ...]]


def _name(rng: random.Random, spaced: bool) -> str:
    chars = _NAME_CHARS + (" " if spaced else "")
    name = "".join(rng.choice(chars) for _ in range(rng.randint(1, 15))).strip()
    if not name or name.startswith("-"):
        name = f"d{name}"
    # The kernel keeps 15 bytes of a command name (TASK_COMM_LEN): a longer one
    # would be listed cut, and the test would expect a name no tool can show.
    return name[:15]


def _address(rng: random.Random, n: int) -> tuple[str, bool]:
    """A bind address and whether an IPv6 socket on it also takes IPv4 (dual-stack)."""
    choice = rng.choice(["0.0.0.0", "127.0.0.1", f"127.0.{n % 250}.{rng.randint(2, 250)}",
                         f"192.0.2.{rng.randint(1, 254)}", "::", "::1",
                         f"2001:db8::{rng.randint(1, 0xffff):x}", f"{LINK_LOCAL}%{IFACE}"])
    return choice, choice == "::" and rng.random() < 0.5


def draw(rng: random.Random, host: str, index: int) -> Draw:
    """Between 4 and 12 listening sockets on distinct ports (and some sharing one), plus
    two sockets that are no listeners."""
    # 12 listeners at most, 2 more for the rest; 1923 only where it is planted on purpose
    ports = rng.sample([p for p in range(1024, 60000) if p != 1923], 14)
    if rng.random() < 0.5:
        ports[0] = 1923
    socks: list[Sock] = []
    names = [_name(rng, host in _SPACED) for _ in range(rng.randint(2, 5))]
    for port in ports[:rng.randint(4, 12)]:
        address, dual = _address(rng, index)
        socks.append(Sock(rng.choice(["tcp", "udp"]), address, port, process=rng.choice(names),
                          user=rng.choice([None, None, "nobody"]), v6only=not dual))
    tcp = [s for s in socks if s.proto == "tcp"]
    if tcp and rng.random() < 0.5:  # the same port on the other protocol
        twin = rng.choice(tcp)
        socks.append(Sock("udp", twin.address, twin.port, process=twin.process, user=twin.user,
                          v6only=twin.v6only))
    if rng.random() < 0.5:  # one socket held by a process and its child: one listener
        socks[0] = Sock(socks[0].proto, socks[0].address, socks[0].port,
                        process=socks[0].process, v6only=socks[0].v6only, shared_with_child=True)
    if rng.random() < 0.5:  # SO_REUSEPORT: two processes on one address and port
        port = ports[12]
        socks += [Sock("udp", "0.0.0.0", port, process=name, reuseport=True)
                  for name in rng.sample(names, 2)]
    expected = {(s.proto, 6 if ":" in s.address else 4, s.address.partition("%")[0], s.port,
                 s.process, s.user or "root") for s in socks}
    # No listeners: a connected UDP socket, a TCP port bound without listen().
    socks.append(Sock("udp", "127.0.0.1", ports[13], process=rng.choice(names),
                      connect_to=("127.0.0.1", 53)))
    socks.append(Sock("tcp", "0.0.0.0", ports[13], process=rng.choice(names), listen=False))
    return Draw(socks, expected)


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
            give_addresses(lab.hosts[host].ns, [s for s in d.socks if "%" not in s.address])
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
