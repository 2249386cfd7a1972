"""The project's own non-Linux fixtures, written from each tool's format, parse as expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleetcheck.parsers import PARSERS, guess
from tests.parsers_os.cases import FIXTURES, fixture, fixture_cases, read

CASES = fixture_cases()


def test_every_dialect_has_fixtures() -> None:
    parsers = {fixture(p)["parser"] for p in CASES}
    assert parsers == {"bsd-netstat", "sockstat", "lsof-fields", "solaris-netstat",
                       "windows-netstat", "powershell", "netstat"}
    assert {p.parent.name for p in CASES} == {"macos", "freebsd", "openbsd", "windows",
                                              "solaris", "hpux", "aix", "android"}


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_parses_to_its_expected_listeners(case: Path) -> None:
    meta = fixture(case)
    text = read(case.with_suffix(".out"))
    got = [li.to_dict() for li in PARSERS[meta["parser"]](text)]
    assert got == meta["listeners"]
    assert got, "every fixture holds listeners"
    assert guess(text).tool == meta["parser"], "--tool auto names the fixture's tool"


def _listeners(name: str) -> list[dict[str, Any]]:
    listeners: list[dict[str, Any]] = fixture(FIXTURES / f"{name}.json")["listeners"]
    return listeners


def test_fixtures_cover_the_awkward_cases() -> None:
    """Guards the edge cases the fixtures exist for, should anyone rewrite them."""
    old_mac = _listeners("macos/netstat-anv-10.15")
    assert [li["address"] for li in old_mac if li.get("truncated")] == ["2001:db8:4a1:20:"]
    assert {li["pid"] for li in old_mac} >= {1, 590, 3312}
    assert any(li.get("dual_stack") and li["proto"] == "udp" for li in old_mac)
    assert {li.get("iface") for li in old_mac} == {None, "lo0"}
    new_mac = _listeners("macos/netstat-anv-14")
    assert "Google Chrome Helper" in {li["process"] for li in new_mac}
    cut = [li for li in new_mac if li.get("truncated")]
    assert [(li["address"], li["port"]) for li in cut] == [("fd7a:115c:a1e0::1", 4164)]
    lsof = _listeners("macos/lsof-F-listen")
    assert sum(li["port"] == 9222 for li in lsof) == 1  # one socket on two fds
    assert not any(li["port"] == 53712 for li in lsof)  # connected UDP
    sockstat = _listeners("freebsd/sockstat-46l-14")
    assert {"user": "prometheus-exporter", "process": "node_expor", "pid": 41234}.items() <= \
        next(li for li in sockstat if li["port"] == 9100).items()
    assert any(li["pid"] is None and li["port"] == 2049 for li in sockstat)
    glued = _listeners("freebsd/sockstat-46-overflow")
    assert ("10.20.30.40", 9100) in {(li["address"], li["port"]) for li in glued}
    assert next(li for li in glued if li["port"] == 3179).get("dual_stack")
    assert not any(li.get("truncated") for li in _listeners("freebsd/netstat-anW-13"))
    assert [li["port"] for li in _listeners("aix/netstat-Aan-7.2") if li.get("truncated")] == [44]
    german = _listeners("windows/netstat-ano-de")
    assert len([li for li in german if li["proto"] == "tcp"]) == 10  # ABHÖREN, not LISTENING
    italian = _listeners("windows/netstat-anob-it")
    assert next(li for li in italian if li["port"] == 135)["service"] == "RpcSs"
    assert next(li for li in italian if li["port"] == 445)["process"] is None
    solaris = _listeners("solaris/netstat-an-finet-finet6-s10")
    assert sum(li.get("iface") == "e1000g0" for li in solaris) == 2
    hpux = _listeners("hpux/netstat-an-finet6-11.31")
    assert "::ffff:10.16.4.21" in {li["address"] for li in hpux}
    assert len(_listeners("windows/get-netlisteners-single-word-state")) == 1
    assert 49712 not in {li["port"] for li in _listeners("windows/get-netlisteners-ps51")}
    bound = _listeners("windows/netstat-anoq-de")
    assert not {49702, 49703, 49704} & {li["port"] for li in bound}  # GEBUNDEN, -q's BOUND
    android = _listeners("android/netstat-toolbox-4.4")
    assert {li["port"] for li in android if li["proto"] == "udp"} == {53, 67, 41873, 1900}
