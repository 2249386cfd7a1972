"""Jump hosts and ssh_config: ProxyJump (one shared bastion connection), chains, ProxyCommand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.sshlab import SshLab
from tests.ssh.conftest import SSHD, Fleet, listeners

pytestmark = pytest.mark.lab


def _connections(lab: SshLab, host: str) -> int:
    """How many TCP connections the host's sshd has accepted so far (from its own log)."""
    return (lab.hosts[host].dir / "sshd.log").read_text().count("Connection from ")


def _config(fleet: Fleet, lab: SshLab, text: str) -> Path:
    path = fleet.tmp / "ssh_config"
    path.write_text(text.replace("@KEY@", str(lab.key)))
    return path


def test_proxyjump_from_ssh_config_shares_one_bastion_connection(fleet: Fleet,
                                                                 lab: SshLab) -> None:
    """-F config: Host blocks give HostName/User/IdentityFile; inner hosts go through the bastion.

    Both inner hosts reach the bastion over one SSH connection.
    """
    jump = lab.hosts["jump"]
    config = _config(fleet, lab, f"""
Host bastion
    HostName {jump.address}
    User fcops
    IdentityFile @KEY@

Host 10.77.1.*
    ProxyJump bastion
    User fcops
    IdentityFile @KEY@
""")
    inv = fleet.inventory({n: {"ansible_host": lab.hosts[n].address}
                           for n in ("inner1", "inner2")})
    before = _connections(lab, "jump")
    scan = fleet.scan(inv, "-F", str(config), "-f", "10", "--become")
    assert listeners(scan.host("inner1")) == SSHD | {("tcp", 4, "0.0.0.0", 1923, "innerspice")}
    assert listeners(scan.host("inner2")) == SSHD | {("udp", 4, "0.0.0.0", 161, "snmpd")}
    assert scan.code == 1
    assert _connections(lab, "jump") - before == 1


def test_without_the_jump_inner_hosts_are_unreachable(fleet: Fleet, lab: SshLab) -> None:
    """The controller has no route to the inner subnet: only the bastion does."""
    scan = fleet.scan(fleet.inventory({"inner1": fleet.vars("inner1")}))
    assert scan.host("inner1")["status"] == "unreachable"
    assert scan.kind("inner1") in ("no_route", "connect_timeout")


def test_two_hop_chain(fleet: Fleet, lab: SshLab) -> None:
    """-J jump,inner1 reaches inner2 through two tunnels (the second inside the first)."""
    (fleet.home / ".ssh" / "config").write_text(f"Host 10.77.*\n  IdentityFile {lab.key}\n")
    chain = f"-J fcops@{lab.hosts['jump'].address},fcops@{lab.hosts['inner1'].address}"
    inv = fleet.inventory({"inner2": fleet.vars("inner2", ansible_ssh_common_args=chain)})
    before = _connections(lab, "inner1")
    scan = fleet.scan(inv, "--become")
    assert listeners(scan.host("inner2")) == SSHD | {("udp", 4, "0.0.0.0", 161, "snmpd")}
    assert _connections(lab, "inner1") - before == 1  # inner1 served as the second hop


def test_proxycommand_with_openssh(fleet: Fleet, lab: SshLab) -> None:
    """ProxyCommand runs the real ssh -W through the bastion (tokens %h %p expanded)."""
    jump = lab.hosts["jump"].address
    proxy = (f"ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile={lab.known_hosts} "
             f"-i {lab.key} -W %h:%p fcops@{jump}")
    inv = fleet.inventory({"inner1": fleet.vars(
        "inner1", ansible_ssh_common_args=f'-o ProxyCommand="{proxy}"')})
    scan = fleet.scan(inv, "--become")
    assert listeners(scan.host("inner1")) == SSHD | {("tcp", 4, "0.0.0.0", 1923, "innerspice")}


def test_failing_proxycommand_reports_its_error(fleet: Fleet, lab: SshLab) -> None:
    """A ProxyCommand that cannot connect: the host fails with what the command said, as a
    cause of its own (a host refusing directly is another): its hint points at the
    ProxyCommand before the host's sshd, where the refusal may not be the host's."""
    proxy = (f"ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile={lab.known_hosts} "
             f"-i {lab.key} -W %h:%p fcops@{lab.hosts['nosshd'].address}")
    inv = fleet.inventory({"inner1": fleet.vars(
        "inner1", ansible_ssh_common_args=f"-o 'ProxyCommand {proxy}'"),
        "nosshd": fleet.vars("nosshd")})
    scan = fleet.scan(inv, "--retries", "0")
    error = scan.host("inner1")["error"]
    assert error["kind"] == "connection_refused", error
    assert "ProxyCommand" in error["message"] and "refused" in error["message"].lower()
    assert scan.kind("nosshd") == "connection_refused"
    out = " ".join(scan.out.split())
    assert "connection_refused through a ProxyCommand · 1 host: inner1" in out, out
    assert "connection_refused · 1 host: nosshd" in out
    assert "hint: these hosts are reached through a ProxyCommand" in out


def test_dead_bastion_fails_every_host_behind_it_once(fleet: Fleet, lab: SshLab) -> None:
    """A jump host that refuses connections: each host behind it says so, via the jump host."""
    dead = lab.hosts["nosshd"].address
    inv = fleet.inventory({n: fleet.vars(n, ansible_ssh_common_args=f"-J fcops@{dead}")
                           for n in ("inner1", "inner2")})
    scan = fleet.scan(inv)
    for name in ("inner1", "inner2"):
        error = scan.host(name)["error"]
        assert error["kind"] == "connection_refused"
        assert f"via jump host fcops@{dead}:22" in error["message"]


def test_jump_host_key_is_checked_too(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """The bastion's own host key is verified: unknown bastion, unknown for hosts behind it."""
    known = tmp_path / "known_hosts"
    known.write_text("".join(lab.known_hosts_lines("inner1")))
    (fleet.home / ".ssh" / "config").write_text(f"Host *\n  IdentityFile {lab.key}\n")
    inv = fleet.inventory({"inner1": fleet.vars(
        "inner1", ansible_ssh_common_args=f"-J fcops@{lab.hosts['jump'].address}")})
    scan = fleet.scan(inv, known_hosts=known)
    error = scan.host("inner1")["error"]
    assert error["kind"] == "host_key_unknown" and "via jump host" in error["message"]


def test_host_alias_from_ssh_config(fleet: Fleet, lab: SshLab) -> None:
    """An inventory name that only ssh_config resolves (Host alias -> HostName, Port, User)."""
    p = lab.hosts["p2222"]
    config = _config(fleet, lab, f"""
Host alias-of-p2222
    HostName {p.address}
    Port 2222
    User fcops
    IdentityFile @KEY@
""")
    scan = fleet.scan(fleet.inventory({"alias-of-p2222": {}}), "-F", str(config))
    host = scan.host("alias-of-p2222")
    assert host["error"] is None
    assert {li["port"] for li in host["listeners"]} == {2222}


def test_broken_ssh_config_is_bad_input(fleet: Fleet, lab: SshLab) -> None:
    """A syntax error in -F FILE: exit 2, file:line, and no host contacted."""
    config = _config(fleet, lab, "Host web\n    HostName\n")
    inv = fleet.inventory({"web3": fleet.vars("web3")})
    before = _connections(lab, "web3")
    from tests.conftest import run_cli
    from tests.lab.netns import in_netns

    with in_netns(lab.controller.name):
        res = run_cli(["scan", "-i", str(inv), "-F", str(config), "-o", str(fleet.tmp / "o")],
                      cwd=fleet.tmp, environ={"HOME": str(fleet.home)})
    assert res.code == 2
    assert f"{config}:2: hostname: missing argument" in res.err
    assert _connections(lab, "web3") == before
