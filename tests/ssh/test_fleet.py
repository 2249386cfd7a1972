"""The 20-host lab run: planted listeners found exactly, every faulty host classified."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab.sshlab import NOTHING_ADDRESS, SshLab
from tests.ssh.conftest import SIDE_HOSTS, SSHD, Fleet, listeners

pytestmark = pytest.mark.lab

HEALTHY: dict[str, set[tuple[Any, ...]]] = {
    "web1": SSHD | {("tcp", 4, "0.0.0.0", 1923, "spiced"), ("udp", 4, "0.0.0.0", 5353, "mdnsd"),
                    ("tcp", 6, "::", 8080, "webd"), ("tcp", 4, "127.0.0.1", 6379, "redis-server"),
                    ("tcp", 4, "0.0.0.0", 9000, "userapp")},
    "web2": SSHD | {("tcp", 6, "::", 1923, "spiceproxy")},
    "web3": SSHD,
    "web4": SSHD | {("udp", 6, "::1", 323, "chronyd"), ("tcp", 4, "127.0.0.1", 5432, "postgres")},
    "db1": SSHD | {("tcp", 4, "0.0.0.0", 3306, "mysqld")},
    "p2222": {("tcp", 4, "0.0.0.0", 2222, "sshd"), ("tcp", 6, "::", 2222, "sshd")},
    "jump": SSHD,
    "inner1": SSHD | {("tcp", 4, "0.0.0.0", 1923, "innerspice")},
    "inner2": SSHD | {("udp", 4, "0.0.0.0", 161, "snmpd")},
    "notools": SSHD | {("tcp", 4, "0.0.0.0", 7000, "appd")},
}

FAULTY = {
    "tarpit": ("unreachable", "banner_timeout"),
    "nosshd": ("unreachable", "connection_refused"),
    "nothing": ("unreachable", {"connect_timeout", "no_route"}),
    "badname": ("unreachable", "name_resolution"),
    "hang": ("error", "command_timeout"),
    "flood": ("error", "output_too_large"),
    "garbled": ("error", "parse_error"),
    "noproc": ("error", "no_tool"),
    "rekeyed": ("error", "host_key_changed"),
    "stranger": ("error", "host_key_unknown"),
    "wrongkey": ("error", "auth_failed"),
    "noshell": ("error", "command_failed"),
}


def _inventory(fleet: Fleet, lab: SshLab) -> dict[str, dict[str, Any]]:
    jump = lab.hosts["jump"].address
    hosts: dict[str, dict[str, Any]] = {}
    for name in lab.hosts:
        if name in SIDE_HOSTS:
            continue
        extra: dict[str, Any] = {"ansible_ssh_common_args": f"-o ProxyJump=fcops@{jump}"} \
            if lab.hosts[name].spec.behind_bastion else {}
        hosts[name] = fleet.vars(name, ansible_become=True, **extra)
    hosts["nothing"] = {"ansible_host": NOTHING_ADDRESS, "ansible_user": "fcops"}
    hosts["badname"] = {"ansible_host": "no-such-host.invalid", "ansible_user": "fcops"}
    hosts["wrongkey"] = fleet.vars("web3", key=lab.unauthorized_key)
    hosts["noshell"] = fleet.vars("web3", user="fcnoshell")
    return hosts


def test_twenty_host_lab_run(fleet: Fleet, lab: SshLab) -> None:
    """Healthy hosts give exactly their planted listeners; every faulty one its own kind."""
    # The jump host is reached with the agent-less defaults: give it a key via ssh_config.
    (fleet.home / ".ssh" / "config").write_text(
        f"Host {lab.hosts['jump'].address}\n  IdentityFile {lab.key}\n")
    inv = fleet.inventory(_inventory(fleet, lab))
    scan = fleet.scan(inv, "-f", "30", "--connect-timeout", "3", "--command-timeout", "5",
                      "--deadline", "10")
    assert scan.code == 1, scan.err  # violations (1923) outrank the unchecked hosts
    for name, expected in HEALTHY.items():
        host = scan.host(name)
        assert host["error"] is None, (name, host["error"])
        assert host["privileged"] is True, name
        assert listeners(host) == expected, name
    assert scan.host("notools")["collector"] == "proc"
    assert scan.host("web1")["collector"] == "ss"
    for name, (status, kinds) in FAULTY.items():
        host = scan.host(name)
        wanted = kinds if isinstance(kinds, set) else {kinds}
        assert (host["status"], host["error"]["kind"]) in {(status, k) for k in wanted}, \
            (name, host["error"])
        assert host["listeners"] == [] and host["findings"] == []
    summary = scan.run["summary"]
    assert summary["hosts"] == len(HEALTHY) + len(FAULTY)
    assert summary["compliant"] + summary["noncompliant"] == len(HEALTHY)
    assert summary["error_kinds"]["host_key_changed"] == 1
    findings = {(f["kind"], f["port"], f["process"]) for f in scan.host("web1")["findings"]}
    assert findings == {("forbidden", 1923, "spiced"), ("stray", 5353, "mdnsd"),
                        ("stray", 8080, "webd"), ("stray", 9000, "userapp")}
    assert {f["port"] for f in scan.host("inner1")["findings"]} == {1923}
    assert scan.host("web3")["status"] == "compliant"
    # Every faulty host is in the text report with its kind.
    for name in FAULTY:
        kind = scan.host(name)["error"]["kind"]
        assert any(name in line and kind in line for line in scan.text.splitlines()), name
    # The slow hosts were cut by their timeouts: the run did not wait on them.
    assert scan.wall < 10 + 8


def test_without_violations_unchecked_hosts_exit_3(fleet: Fleet, lab: SshLab) -> None:
    """No violations but a host that could not be checked: exit code 3."""
    inv = fleet.inventory({"web3": fleet.vars("web3"), "nosshd": fleet.vars("nosshd")})
    scan = fleet.scan(inv)
    assert scan.code == 3
    assert scan.host("web3")["status"] == "compliant"
    assert scan.kind("nosshd") == "connection_refused"
    assert "NOT VERIFIED" in scan.out


def test_change_detection_details(fleet: Fleet, lab: SshLab) -> None:
    """The changed-key error is loud: it names the host, both keys' origin and MITM."""
    inv = fleet.inventory({"rekeyed": fleet.vars("rekeyed")})
    scan = fleet.scan(inv)
    message = scan.host("rekeyed")["error"]["message"]
    assert "REMOTE HOST KEY CHANGED" in message and "man-in-the-middle" in message
    assert f"{lab.known_hosts}:" in message and "SHA256:" in message
    assert "REMOTE HOST KEY CHANGED" in scan.text
