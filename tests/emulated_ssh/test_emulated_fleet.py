"""One `fleetcheck scan` over real SSH of a mixed fleet: emulated OSes and real Linux hosts.

Every host is a lab namespace with its own real sshd. On the emulated ones the lab
users' sessions find replaying shims first on PATH (tests/lab/emulate.py), so the real
probe detects the OS from `uname` and runs that OS's tools in the same round trip; the
Windows ones answer through a stand-in cmd.exe or PowerShell login shell, as Windows
OpenSSH's DefaultShell does. The Linux hosts hold real planted sockets. One scan, with
a policy, must give each host its own findings, OS and collector, in one session per
host (Windows: one refused POSIX probe first unless the inventory says Windows), and an
unreadable output or unknown OS must come out as an error, never as compliant.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.lab.emulate import EMULATIONS, FAILING, Emulation
from tests.lab.netns import Sock
from tests.lab.prereq import require, require_netns
from tests.lab.sshlab import HostSpec, SshLab, running_lab
from tests.parsers_os.emulated_expect import EXPECTED
from tests.ssh.conftest import Fleet, Scan

pytestmark = pytest.mark.lab

BASELINE = REPO / "fleetcheck" / "data" / "baseline.yml"
# Group policies on top of the shipped baseline (which applies to every host).
POLICIES = {
    # The NFS server's services are expected there: with them allowed it is compliant.
    "nfs.yml": {"name": "nfs", "hosts": "nfs", "allow": [
        {"id": "https", "proto": "tcp", "port": 443},
        {"id": "web", "proto": "tcp", "port": 8080},
        {"id": "syslog", "proto": "udp", "port": 514},
        {"id": "dhcpv6", "proto": "udp", "port": 546, "address": "link-local"}]},
    # Windows services, allowed only for the process that should hold them.
    "windows.yml": {"name": "windows", "hosts": "windows", "allow": [
        {"id": "rpc", "proto": "tcp", "port": 135, "process": "svchost.exe"},
        {"id": "smb", "proto": "tcp", "port": 445, "process": "System"},
        {"id": "rdp", "proto": "tcp", "port": 3389, "process": "svchost.exe"}]},
}


@dataclass(frozen=True)
class Emulated:
    """An emulated lab host: its emulation, inventory groups and extra host variables."""

    emulation: Emulation
    groups: tuple[str, ...]
    vars: tuple[tuple[str, Any], ...] = ()


# The login shells the emulated accounts have, as on the real systems.
LOGIN_SHELLS = ("csh", "zsh", "ksh")


def _emulated(shells: dict[str, str]) -> dict[str, Emulated]:
    """The emulated hosts, named after their emulation (and EXPECTED's keys)."""
    return {
        # zsh is macOS's login shell; an admin who becomes root with sudo, so that lsof
        # sees every process.
        "macos": Emulated(replace(EMULATIONS["macos"], login_shell=shells["zsh"]), ("macs",),
                          (("ansible_become", True),)),
        # Root logs in with csh, as on FreeBSD before 14.0.
        "freebsd": Emulated(replace(EMULATIONS["freebsd"], login_shell=shells["csh"]),
                            ("bsd",)),
        "freebsd-no-sockstat": Emulated(EMULATIONS["freebsd-no-sockstat"], ("bsd", "nfs")),
        "openbsd": Emulated(EMULATIONS["openbsd"], ("bsd",)),
        "windows-cmd": Emulated(EMULATIONS["windows-cmd"], ("windows",)),
        "windows-powershell": Emulated(EMULATIONS["windows-powershell"], ("windows",)),
        "windows-pinned": Emulated(EMULATIONS["windows-powershell"], ("windows",),
                                   (("ansible_shell_type", "powershell"),)),
        "solaris": Emulated(EMULATIONS["solaris"], ("unix",)),
        "aix": Emulated(replace(EMULATIONS["aix"], login_shell=shells["ksh"]), ("unix",)),
        "hpux": Emulated(EMULATIONS["hpux"], ("unix",)),
        "busybox": Emulated(EMULATIONS["busybox"], ("appliances",)),
        "broken-openbsd": Emulated(FAILING["broken-openbsd"], ("bsd",)),
        "broken-windows": Emulated(FAILING["broken-windows"], ("windows",)),
        "haiku": Emulated(FAILING["haiku"], ("appliances",)),
    }


# Real Linux hosts and the real sockets planted in them (sshd listens on 22 besides).
PLANTED: dict[str, list[Sock]] = {
    "linux-spice": [Sock("tcp", "0.0.0.0", 1923, process="spiced"),
                    Sock("udp", "0.0.0.0", 5353, process="mdnsd"),
                    Sock("tcp", "::", 8080, process="webd", v6only=True),
                    Sock("tcp", "127.0.0.1", 6379, process="redis-server")],
    "linux-clean": [Sock("tcp", "127.0.0.1", 5432, process="postgres", user="nobody")],
}


@dataclass
class FleetRun:
    """The lab, the one scan of it, and the sessions each sshd served during that scan."""

    lab: SshLab
    scan: Scan
    sessions: dict[str, list[str]]
    logins: dict[str, int]


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetRun]:
    """Start the lab, plant the sockets, write inventory and policies, scan once."""
    require_netns()
    require(Path("/usr/sbin/sshd").is_file(), "OpenSSH server (/usr/sbin/sshd)")
    for tool in ("ssh-keygen", "unshare", "sudo", "openssl", "base64", "iconv"):
        require(shutil.which(tool) is not None, tool)
    shells = {name: shutil.which(name) or "" for name in LOGIN_SHELLS}
    for name, path in shells.items():
        require(bool(path), f"{name} (an emulated account's login shell)")
    emulated = _emulated(shells)
    specs = [HostSpec(name, emulate=host.emulation) for name, host in emulated.items()]
    specs += [HostSpec(name) for name in PLANTED]
    tmp = tmp_path_factory.mktemp("emulated-ssh")
    with running_lab(specs) as lab:
        for name, socks in PLANTED.items():
            lab.hold(name, socks)
        fleet = Fleet(lab, tmp)
        policies = [BASELINE]
        for file_name, policy in POLICIES.items():
            policies.append(tmp / file_name)
            policies[-1].write_text(yaml.safe_dump(policy, sort_keys=False))
        inventory = _inventory(fleet, emulated)
        scan = fleet.scan(inventory, "-f", "16", "--command-timeout", "20", "--deadline", "40",
                          *(arg for p in policies for arg in ("-p", str(p))))
        sessions = {name: lab.sessions(name) for name in lab.hosts}
        logins = {name: (lab.hosts[name].dir / "sshd.log").read_text().count("Accepted publickey")
                  for name in lab.hosts}
        yield FleetRun(lab, scan, sessions, logins)


def _inventory(fleet: Fleet, emulated: dict[str, Emulated]) -> Path:
    """A YAML inventory with groups: every emulated host and the real Linux ones."""
    groups: dict[str, dict[str, Any]] = {}
    for name, host in emulated.items():
        for group in host.groups:
            groups.setdefault(group, {"hosts": {}})["hosts"][name] = {}
        groups[host.groups[0]]["hosts"][name] = fleet.vars(name, **dict(host.vars))
    groups["linux"] = {"hosts": {name: fleet.vars(name) for name in PLANTED},
                       "vars": {"ansible_become": True}}
    path = fleet.tmp / "fleet.yml"
    path.write_text(yaml.safe_dump({"all": {"children": groups}}, sort_keys=False))
    return path


def findings(host: dict[str, Any]) -> set[tuple[Any, ...]]:
    """(kind, proto, port, address, process) of every finding of a host's JSON."""
    return {(f["kind"], f["proto"], f["port"], f["address"], f["process"])
            for f in host["findings"]}


ALLOWED_ON_WINDOWS = {("stray", "tcp", 135, "0.0.0.0", "svchost.exe"),
                      ("stray", "tcp", 135, "::", "svchost.exe"),
                      ("stray", "tcp", 445, "0.0.0.0", "System")}
# Windows without Get-NetTCPConnection: netstat saw RDP, but tasklist named no owner.
RDP_UNSEEN = {("stray", "tcp", 3389, "0.0.0.0", None), ("stray", "tcp", 3389, "::", None)}
RDP_UNDETERMINED = {("undetermined", "tcp", 3389, "0.0.0.0", None),
                    ("undetermined", "tcp", 3389, "::", None)}
WINDOWS_NETSTAT = EXPECTED["windows-powershell"]
# host: (status, OS as detected, collector, findings)
WANTED: dict[str, tuple[str, str, str, set[tuple[Any, ...]]]] = {
    **{name: ("noncompliant", *EXPECTED[name]) for name in
       ("macos", "freebsd", "openbsd", "solaris", "aix", "hpux", "busybox")},
    "freebsd-no-sockstat": ("compliant", *EXPECTED["freebsd-no-sockstat"][:2], set()),
    "windows-cmd": ("noncompliant", *EXPECTED["windows-cmd"][:2],
                    EXPECTED["windows-cmd"][2] - ALLOWED_ON_WINDOWS),
    **dict.fromkeys(("windows-powershell", "windows-pinned"), (
        "noncompliant", *WINDOWS_NETSTAT[:2],
        WINDOWS_NETSTAT[2] - ALLOWED_ON_WINDOWS - RDP_UNSEEN | RDP_UNDETERMINED)),
    "linux-spice": ("noncompliant", "Linux", "ss", {
        ("forbidden", "tcp", 1923, "0.0.0.0", "spiced"),
        ("stray", "udp", 5353, "0.0.0.0", "mdnsd"), ("stray", "tcp", 8080, "::", "webd")}),
    "linux-clean": ("compliant", "Linux", "ss", set()),
}
# Sessions each host's sshd started: the POSIX probe detects and collects in one; a
# Windows shell refuses it (one more) unless the inventory says the host is Windows.
TWO_SESSIONS = ("windows-cmd", "windows-powershell", "broken-windows")


def test_emulated_fleet_scan_exit_code_and_summary(fleet_run: FleetRun) -> None:
    scan = fleet_run.scan
    assert scan.code == 1, scan.err  # violations
    summary = scan.run["summary"]
    assert summary["hosts"] == len(WANTED) + 3
    assert (summary["compliant"], summary["noncompliant"]) == (2, len(WANTED) - 2)
    assert summary["error_kinds"] == {"parse_error": 2, "unsupported": 1}


@pytest.mark.parametrize("name", sorted(WANTED))
def test_emulated_fleet_host_findings(fleet_run: FleetRun, name: str) -> None:
    status, os_text, collector, wanted = WANTED[name]
    host = fleet_run.scan.host(name)
    assert host["error"] is None, host["error"]
    assert host["status"] == status
    assert host["os"] == os_text or host["os"].startswith(os_text + " "), host["os"]
    assert host["collector"] == collector
    assert findings(host) == wanted
    # root, sudo, or a Windows administrator; on Linux the probe reads the uid from /proc,
    # not from the `id` shim, so the emulated Linux appliance is the lab's unprivileged account.
    assert host["privileged"] is (name != "busybox")


@pytest.mark.parametrize("name", sorted(WANTED))
def test_emulated_fleet_detects_in_one_round_trip(fleet_run: FleetRun, name: str) -> None:
    expected = 2 if name in TWO_SESSIONS else 1
    assert fleet_run.logins[name] == 1  # one connection per host
    assert fleet_run.sessions[name] == ["command"] * expected  # sshd's own count
    assert len(fleet_run.scan.host(name)["commands"]) == expected


def test_emulated_fleet_windows_shells_refuse_the_posix_probe(fleet_run: FleetRun) -> None:
    cmd = fleet_run.scan.host("windows-cmd")["commands"]
    assert cmd[0]["exit_code"] == 9009 % 256  # cmd.exe says 9009; Linux can carry its low byte
    assert "is not recognized as an internal or external command" in cmd[0]["stderr"]
    ps = fleet_run.scan.host("windows-powershell")["commands"]
    assert "CommandNotFoundException" in ps[0]["stderr"]
    pinned = fleet_run.scan.host("windows-pinned")["commands"]
    for probe in (cmd[1], ps[1], pinned[0]):
        assert probe["command"].startswith("powershell -NoProfile -NonInteractive "
                                           "-EncodedCommand ")
        assert probe["exit_code"] == 0
        assert "\r\n" in probe["stdout"]  # Windows line ends, read all the same


def test_emulated_fleet_become_and_owners(fleet_run: FleetRun) -> None:
    mac = fleet_run.scan.host("macos")
    assert mac["commands"][0]["command"].startswith("sudo -n -u root -- ")
    assert {li["user"] for li in mac["listeners"]} >= {"root", "_mdnsresponder"}
    aix = {(li["proto"], li["port"], li["family"]): li["process"]
           for li in fleet_run.scan.host("aix")["listeners"]}
    assert aix[("tcp", 22, 4)] == "sshd"  # named by rmsock, run by the same probe
    openbsd = {li["port"]: li for li in fleet_run.scan.host("openbsd")["listeners"]}
    assert (openbsd[25]["process"], openbsd[25]["user"]) == ("smtpd", "_smtpd")  # via fstat


def ssh(lab: SshLab, name: str, command: str) -> subprocess.CompletedProcess[str]:
    """OpenSSH's client runs `command` on lab host `name` as fcops, from the controller."""
    argv = ["ssh", "-i", str(lab.key), "-o", f"UserKnownHostsFile={lab.known_hosts}",
            "-o", "BatchMode=yes", f"fcops@{lab.hosts[name].address}", command]
    return subprocess.run(lab.controller.exec_argv(argv), capture_output=True, text=True,
                          timeout=30, check=False)


@pytest.mark.parametrize(("name", "shell"), [("freebsd", "csh"), ("macos", "zsh"),
                                           ("aix", "ksh")])
def test_emulated_fleet_login_shells_are_real(fleet_run: FleetRun, name: str,
                                              shell: str) -> None:
    """The probe went through the account's own login shell (which sshd runs, as ps shows)."""
    out = ssh(fleet_run.lab, name, "ps -o comm= -p $$; uname -s").stdout.split()
    assert out[0].startswith(shell), out  # ksh93 calls itself ksh93
    assert out[1] == EXPECTED[name][0].split()[0]  # the emulated uname, through that shell


def test_emulated_fleet_solaris_sh_is_the_bourne_shell(fleet_run: FleetRun) -> None:
    """On the Solaris 10 host `sh` refuses $(...): the probe got past it to /usr/xpg4/bin/sh."""
    refused = ssh(fleet_run.lab, "solaris", "sh -c 'echo $(uname -s)'")
    assert refused.returncode == 2 and "syntax error" in refused.stderr
    assert ssh(fleet_run.lab, "solaris", "test -x /usr/xpg4/bin/sh").returncode == 0
    assert ssh(fleet_run.lab, "aix", "test -x /usr/xpg4/bin/sh").returncode == 1
    assert fleet_run.scan.host("solaris")["collector"] == "solaris-netstat"


@pytest.mark.parametrize(("name", "os_text", "line", "offending"), [
    ("broken-openbsd", "OpenBSD 7.4", 4, "segmentation fault (core dumped)"),
    ("broken-windows", "Windows 10.0.20348.0", 1, "Get-NetTCPConnection : Zugriff verweigert"),
])
def test_emulated_fleet_unreadable_output_is_a_parse_error(
        fleet_run: FleetRun, name: str, os_text: str, line: int, offending: str) -> None:
    host = fleet_run.scan.host(name)
    assert (host["status"], host["error"]["kind"]) == ("error", "parse_error")
    assert f"line {line}" in host["error"]["message"]
    assert offending in host["error"]["message"]
    assert host["os"] == os_text  # detected before the output failed to parse
    assert host["listeners"] == [] and host["findings"] == []
    # The evidence is kept: every command the host ran, what it printed.
    assert len(host["commands"]) == len(fleet_run.sessions[name])
    assert offending in host["commands"][-1]["stdout"]


def test_emulated_fleet_unknown_os_is_unsupported(fleet_run: FleetRun) -> None:
    host = fleet_run.scan.host("haiku")
    assert (host["status"], host["error"]["kind"]) == ("error", "unsupported")
    assert "Haiku" in host["error"]["message"]
    assert host["os"] == "Haiku r1beta4"
    assert host["listeners"] == [] and host["findings"] == []
    assert fleet_run.sessions["haiku"] == ["command"]


def test_emulated_fleet_text_report_names_every_host(fleet_run: FleetRun) -> None:
    text = fleet_run.scan.text
    for name in [*WANTED, "broken-openbsd", "broken-windows", "haiku"]:
        assert name in text, name
    for name in ("broken-openbsd", "broken-windows"):
        assert any(name in line and "parse_error" in line for line in text.splitlines()), name
    assert any("haiku" in line and "unsupported" in line for line in text.splitlines())
