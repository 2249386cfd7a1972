"""Live: what fleetcheck says of where a listener can be reached, against real connects.

A server namespace holds sockets bound in the ways the reachability hunt found telling
(tests/lab/reach_hunt.py): IPv6 wildcards with IPV6_V6ONLY off, on, and left to the
namespace's default, a socket bound to a device, 127.0.0.2, an IPv4-mapped loopback, a
scoped link-local address and a multicast group. The server's interface has
route_localnet on (as kube-proxy sets it), so its IPv4 loopback listeners answer a
neighbour that routes 127.0.0.0/8 to it. A client namespace on a veth pair
connects to every address of the server (and the server to its own loopback); every
Linux tool reads the sockets in a real `fleetcheck scan`, and each listener is judged by
policies allowing its port only on loopback, only on 10.0.0.0/8, only over IPv6 or IPv4,
and one forbidding IPv4. No verdict may claim less reach than the connects showed: a
dual-stack [::] that netstat, lsof or /proc lists (none shows IPV6_V6ONLY) is not judged
IPv6-only, but undetermined where that decides a rule; and a loopback listener the
network reaches is not allowed as loopback-only. Sockets bound to a device
(SO_BINDTODEVICE: `0.0.0.0%lo`, `127.0.0.1%lo`, `*%ra`, `0.0.0.0%ra`) are judged as ss shows
them (loopback on lo, whatever route_localnet does on ra; `interface: ra` allows those on
ra) and, where the tool cannot show the device, never allowed by a device on a guess.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fleetcheck.model import Listener
from tests.lab import reach
from tests.lab.prereq import require, require_netns
from tests.lab.reach import Bind

pytestmark = pytest.mark.lab

BINDS = (
    Bind("tcp", "::", 31001, v6only=False),  # dual-stack, said so
    Bind("udp", "::", 31002),  # dual-stack by the namespace's default
    Bind("tcp", "::", 31003, v6only=True),
    Bind("tcp", "0.0.0.0", 31004, device="lo"),  # ss: 0.0.0.0%lo
    Bind("tcp", "::", 31005, v6only=False, device="ra"),  # ss: *%ra
    Bind("tcp", "127.0.0.2", 31006),
    Bind("tcp", "::ffff:127.0.0.1", 31007, v6only=False),
    Bind("udp", f"{reach.SERVER_LL}%ra", 31008),
    Bind("udp", "0.0.0.0", 31009, join=f"{reach.GROUP_V4}%ra"),
    Bind("tcp", "::", 31010, shared=True),  # two processes, one dual-stack socket
    Bind("tcp", "127.0.0.1", 31011),
    Bind("udp", "127.0.0.2", 31012),
    Bind("tcp", "::1", 31013),  # ::1 is never routed
    Bind("udp", "::ffff:0.0.0.0", 31014, v6only=False),  # IPv4 only; lsof: '*', type IPv6
    Bind("tcp", f"::ffff:{reach.SERVER_V4}", 31015, v6only=False),
    Bind("tcp", "127.0.0.1", 31016, device="lo"),  # ss: 127.0.0.1%lo, not routed
    Bind("udp", "0.0.0.0", 31017, device="ra"),  # ss: 0.0.0.0%ra
)
ROUTED_PORTS = {31006, 31007, 31011, 31012}  # IPv4 loopback, reached through route_localnet
LO_BOUND = 31016  # IPv4 loopback bound to lo: route_localnet on ra does not reach it
DEVICES = {31004: "lo", 31005: "ra", 31016: "lo", 31017: "ra"}  # SO_BINDTODEVICE
SHOW_DEVICES = ("ss", "ss-tulpn")
DUAL_PORTS = {31001, 31002, 31005, 31010}


@dataclass(frozen=True)
class Seen:
    """What every tool listed, and what answered on each (proto, port)."""

    tools: dict[str, list[Listener]]
    reached: dict[tuple[str, int], set[tuple[str, str]]]


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seen]:
    require_netns()
    for binary in ("ss", "netstat", "lsof", "busybox"):
        require(shutil.which(binary) is not None, f"the {binary} command")
    with reach.world(route_localnet=True) as w:
        reach.hold(w, BINDS)
        ports = sorted({(b.proto, b.port) for b in BINDS})
        reached = reach.reach(w, ports)
        yield Seen(reach.scan(w, tmp_path_factory.mktemp("reach")), reached)


def test_the_connects_show_the_reach_the_cases_stand_for(seen: Seen) -> None:
    """The lab itself: dual-stack sockets answer over IPv4 from the peer, IPv6-only ones do
    not, device- and loopback-bound ones answer only inside (else the cases test nothing)."""
    peer4 = {p: {a for w, a in got if w == "peer" and ":" not in a}
             for (_, p), got in seen.reached.items()}
    assert all(reach.SERVER_V4 in peer4[p] for p in DUAL_PORTS)
    assert peer4[31003] == set()
    assert {w for w, _ in seen.reached[("tcp", 31004)]} == {"local"}
    assert ("peer", "127.0.0.2") in seen.reached[("tcp", 31006)]
    assert seen.reached[("tcp", 31007)] == {("local", "127.0.0.1"), ("peer", "127.0.0.1")}
    assert ("peer", "127.0.0.1") in seen.reached[("tcp", 31011)]
    assert ("peer", "127.0.0.2") in seen.reached[("udp", 31012)]
    assert seen.reached[("tcp", 31013)] == {("local", "::1")}
    assert ("peer", f"{reach.SERVER_LL}%rb") in seen.reached[("udp", 31008)]
    assert ("peer", f"{reach.GROUP_V4}%rb") in seen.reached[("udp", 31009)]
    assert seen.reached[("tcp", LO_BOUND)] == {("local", "127.0.0.1")}
    for on_ra in (("udp", 31017), ("tcp", 31005)):  # never through lo
        assert ("peer", reach.SERVER_V4) in seen.reached[on_ra]
        assert not {a for w, a in seen.reached[on_ra] if w == "local" and a in (
            "127.0.0.1", "127.0.0.2", "::1")}


@pytest.mark.parametrize("tool", [*reach.TOOLS, "busybox-netstat", "ss-tulpn"])
def test_no_verdict_claims_less_reach_than_the_connects_showed(seen: Seen, tool: str) -> None:
    listeners = seen.tools[tool]
    problems = []
    for b in BINDS:
        ours = [li for li in listeners if (li.proto, li.port) == (b.proto, b.port)]
        # one listener a socket (lsof: one a process), never a copy of it
        assert reach.listing_problems(tool, [b], ours) == [], (tool, b, ours)
        for li in ours:
            problems += reach.disagreements(reach.verdicts(li), seen.reached[(b.proto, b.port)],
                                            facts=tool not in reach.PARSE_ONLY)
    assert problems == []


@pytest.mark.parametrize("tool", reach.TOOLS)
def test_a_loopback_listener_the_network_reaches_is_not_loopback_only(seen: Seen,
                                                                      tool: str) -> None:
    """Every collector carries the host's route_localnet to its IPv4 loopback listeners
    (and only to them); the loopback-only policy allows ::1, not those. One bound to lo is
    not reached through ra (the connects show it): where ss shows that binding it is not
    routed, and allowed as loopback; the other tools cannot tell, so it stays routed."""
    for li in seen.tools[tool]:
        routed = li.port in ROUTED_PORTS or (li.port == LO_BOUND and tool != "ss")
        assert li.route_localnet == (("ra",) if routed else ()), (tool, li)
        if li.port in ROUTED_PORTS | {31013, LO_BOUND}:
            assert (reach.verdicts(li)["loopback"] == "allowed") is not routed, (tool, li)


@pytest.mark.parametrize("tool", [*reach.TOOLS, "busybox-netstat", "ss-tulpn"])
def test_a_dual_stack_wildcard_is_dual_or_not_shown_never_ipv6_only(seen: Seen,
                                                                    tool: str) -> None:
    """ss shows IPV6_V6ONLY (dual_stack true/false); the others do not (None), and a rule
    that it decides is then undetermined, never allowed or passed over."""
    shows = tool in ("ss", "ss-tulpn")
    for li in seen.tools[tool]:
        if li.family != 6 or li.address != "::":
            continue
        want = (li.port in DUAL_PORTS) if shows else None
        assert li.dual_stack is want, (tool, li)
        v = reach.verdicts(li)
        if li.port in DUAL_PORTS:
            assert v["family6"] != "allowed" and v["forbid4"] != "allowed", (tool, li, v)
            assert v["family4"] != "allowed", (tool, li, v)  # it serves IPv6 too
        if not shows:
            assert (v["family6"], v["forbid4"]) == ("undetermined", "undetermined"), (tool, v)


@pytest.mark.parametrize("tool", [*reach.TOOLS, "busybox-netstat", "ss-tulpn"])
def test_a_socket_bound_to_a_device_is_judged_as_its_tool_shows_it(seen: Seen,
                                                                  tool: str) -> None:
    """SO_BINDTODEVICE: ss shows the device (`0.0.0.0%lo`, `*%ra`), and a wildcard bound to lo
    is loopback, one bound to ra is allowed by `interface: ra`. netstat, lsof and /proc do
    not show it: the device is unknown (the run writes `iface: null`), no interface rule
    allows it, and the wildcard on lo is judged a wildcard, never loopback on a guess."""
    shows = tool in SHOW_DEVICES
    for li in seen.tools[tool]:
        if li.port == 31008:
            continue  # a link-local address's zone: shown or not by each tool
        assert li.device_shown is shows, (tool, li)
        device = DEVICES.get(li.port)
        v = reach.verdicts(li) if device else {}
        if not shows:
            assert li.iface is None, (tool, li)
            if device:
                assert (v["iface_lo"], v["iface_ra"]) == ("wrong_bind", "wrong_bind"), (tool, li)
            continue
        assert li.iface == device, (tool, li)
        if device:
            assert v[f"iface_{device}"] == "allowed" and v["loopback"] == (
                "allowed" if device == "lo" else "wrong_bind"), (tool, li, v)
    if not shows:  # `0.0.0.0%lo` as these tools list it: `0.0.0.0`, a wildcard
        (lo,) = [li for li in seen.tools[tool] if li.port == 31004]
        assert reach.verdicts(lo)["loopback"] == "wrong_bind"
