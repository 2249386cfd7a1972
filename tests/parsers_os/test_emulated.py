"""Emulated hosts of other operating systems, checked end to end through the local transport.

Each host's login shell puts replaying shims (tests/lab/emulate.py) first on PATH, so
the real probe script runs its real OS detection and fallbacks, the shims answer only
the exact commands it sends with captured outputs, and the findings come out of the
real parsers, combiners and policy evaluation.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.model import HostResult, RunResult
from fleetcheck.plan import PlannedHost
from fleetcheck.policy.load import load_policies
from fleetcheck.scan import ScanOptions, scan
from fleetcheck.transport.local import LocalTransport
from tests.conftest import CORPUS, REPO
from tests.lab.emulate import EMULATIONS, Emulation, Replay, ShellConnector, install
from tests.lab.prereq import require, require_corpus

POLICIES = tuple(load_policies([REPO / "fleetcheck" / "data" / "baseline.yml"]))

# Hosts that exist only to fail in one particular way.
ODD = {
    "haiku": Emulation("haiku", "Haiku", "r1beta4"),
    "bare-freebsd": Emulation("bare-freebsd", "FreeBSD", "14.0-RELEASE"),
    "broken-openbsd": Emulation("broken-openbsd", "OpenBSD", "7.4", tools={
        "netstat": (Replay("-an", "Active Internet connections (including servers)\n"
                                  "Proto   Recv-Q Send-Q  Local Address   Foreign Address\n"
                                  "tcp          0      0  *.22            *.*     LISTEN\n"
                                  "segmentation fault (core dumped)\n"),),
        "fstat": (Replay("", "USER CMD PID FD MOUNT INUM MODE R/W SZ|DV\n"),)}),
    # Pins: a Linux-looking host pinned to HP-UX, a FreeBSD host pinned to netstat.
    "pinned-hpux": Emulation("pinned-hpux", "Linux", "5.15.0",
                             tools=EMULATIONS["hpux"].tools),
    "pinned-tool": EMULATIONS["freebsd"],
}
# Inventory pins: (fleetcheck_os, fleetcheck_tool, ansible_shell_type).
PINS: dict[str, tuple[str | None, str | None, str | None]] = {
    "pinned-hpux": ("hpux", None, None),
    "pinned-tool": (None, "bsd-netstat", None),
    "windows-powershell": (None, None, "powershell"),
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunResult]:
    """One scan of every emulated host, as a mixed fleet would be checked."""
    require_corpus(CORPUS)
    root = tmp_path_factory.mktemp("emulated")
    emulations = {**EMULATIONS, **ODD}
    shells = {name: install(emu, root / name) for name, emu in emulations.items()}
    hosts = []
    for name in emulations:
        os_pin, tool, shell_type = PINS.get(name, (None, None, None))
        hosts.append(PlannedHost(name=name, address=f"{name}.emulated", groups=("emulated",),
                                 policies=POLICIES, connection="local", os=os_pin, tool=tool,
                                 shell_type=shell_type))

    yield scan(hosts, options=ScanOptions(forks=4), connect=ShellConnector(shells))


def _host(run: RunResult, name: str) -> HostResult:
    return next(h for h in run.hosts if h.name == name)


def _findings(host: HostResult) -> set[tuple[Any, ...]]:
    return {(f.kind.value, f.proto, f.port, f.address, f.process) for f in host.findings}


SPICE = {("forbidden", "tcp", 1923, "0.0.0.0", "spiced")}
EXPECTED: dict[str, tuple[str, str, set[tuple[Any, ...]]]] = {
    # host: (os as reported, collector, findings as (kind, proto, port, address, process))
    "macos": ("Darwin 23.4.0", "lsof-fields", SPICE | {
        ("stray", "udp", 123, "192.168.20.14", "timed"),
        ("stray", "udp", 5353, "0.0.0.0", "mDNSResponder"),
        ("stray", "udp", 5353, "::", "mDNSResponder")}),
    "macos-user": ("Darwin 23.4.0", "bsd-netstat", SPICE | {
        ("stray", "tcp", 4164, "fd7a:115c:a1e0::1", "tailscaled"),  # truncated by netstat
        ("stray", "tcp", 5000, "0.0.0.0", "ControlCenter"),
        ("stray", "tcp", 5000, "::", "ControlCenter"),
        ("stray", "udp", 137, "0.0.0.0", "kernel_task"),
        ("stray", "udp", 5353, "0.0.0.0", "mDNSResponder"),
        ("stray", "udp", 5353, "::", "mDNSResponder")}),
    "freebsd": ("FreeBSD 14.1-RELEASE", "sockstat", SPICE | {
        ("stray", "tcp", 80, "::", "nginx"), ("stray", "tcp", 443, "::", "nginx"),
        ("stray", "tcp", 2049, "::", None), ("stray", "udp", 2049, "0.0.0.0", None),
        ("stray", "tcp", 9100, "::", "node_expor"),
        ("stray", "udp", 123, "10.0.2.15", "ntpd"), ("stray", "udp", 123, "fe80::1", "ntpd")}),
    "freebsd-no-sockstat": ("FreeBSD 13.2-RELEASE", "bsd-netstat", {
        ("stray", "tcp", 443, "2001:db8:85a3:8d3:1319:8a2e:370:7348", None),
        ("stray", "tcp", 8080, "::", None), ("stray", "udp", 514, "0.0.0.0", None),
        ("stray", "udp", 546, "fe80::5054:ff:fe12:3456", None)}),
    "openbsd": ("OpenBSD 7.4", "openbsd-netstat", SPICE | {
        ("stray", "udp", 123, "fe80::1", "ntpd"), ("stray", "udp", 514, "0.0.0.0", "syslogd")}),
    "solaris": ("SunOS 5.11", "solaris-netstat", {
        ("stray", "tcp", 111, "0.0.0.0", None), ("stray", "tcp", 111, "::", None),
        ("stray", "udp", 546, "::", None)}),
    "hpux": ("HP-UX B.11.31", "hpux-netstat", {
        ("stray", "tcp", 21, "::", None), ("stray", "tcp", 383, "::", None),
        ("stray", "tcp", 515, "0.0.0.0", None), ("stray", "tcp", 49196, "0.0.0.0", None),
        ("stray", "udp", 9, "::", None), ("stray", "udp", 514, "::", None),
        ("stray", "udp", 49153, "0.0.0.0", None)}),
    "aix": ("AIX 2", "aix-netstat", SPICE | {
        ("stray", "tcp", 44, "2001:db8:1:20::", None),  # truncated, and held by nobody
        ("stray", "tcp", 111, "0.0.0.0", "rpcbind"), ("stray", "udp", 111, "0.0.0.0", "rpcbind"),
        ("stray", "udp", 123, "10.1.1.15", "xntpd"), ("stray", "udp", 123, "::", "xntpd")}),
    "busybox": ("Linux 6.6.32-0-lts", "busybox-netstat", {
        ("stray", "tcp", 80, "0.0.0.0", "nginx: worker p"),
        ("stray", "tcp", 8005, "192.168.1.123", "java"),
        ("stray", "tcp", 54776, "2601:1:ad80:1445:", "pidgin"),  # truncated
        ("stray", "udp", 111, "0.0.0.0", "rpcbind"),
        ("stray", "udp", 123, "fe80::42:acff:fe11:", "ntpd")}),
    "windows-cmd": ("Windows 10.0.20348.0", "powershell", {
        ("forbidden", "tcp", 1923, "0.0.0.0", "spiced.exe"),
        ("stray", "tcp", 135, "0.0.0.0", "svchost.exe"), ("stray", "tcp", 135, "::", "svchost.exe"),
        ("stray", "tcp", 445, "0.0.0.0", "System"),
        ("stray", "tcp", 2179, "fe80::8d2c:1f3a:6b1e:9d21", "vmms.exe"),
        ("stray", "udp", 123, "0.0.0.0", "svchost.exe"),
        ("stray", "udp", 5353, "::", "Code Helper.exe")}),
    "windows-powershell": ("Windows 10.0.20348.0", "windows-netstat", {
        ("forbidden", "tcp", 1923, "0.0.0.0", "spiced.exe"),
        ("stray", "tcp", 135, "0.0.0.0", "svchost.exe"), ("stray", "tcp", 135, "::", "svchost.exe"),
        ("stray", "tcp", 139, "10.0.0.21", "System"), ("stray", "tcp", 445, "0.0.0.0", "System"),
        ("stray", "tcp", 2179, "fe80::8d2c:1f3a:6b1e:9d21", None),
        ("stray", "tcp", 3389, "0.0.0.0", None), ("stray", "tcp", 3389, "::", None),
        ("stray", "udp", 123, "0.0.0.0", None), ("stray", "udp", 123, "::", None),
        ("stray", "udp", 137, "10.0.0.21", "System"),
        ("stray", "udp", 1900, "fe80::8d2c:1f3a:6b1e:9d21", None),
        ("stray", "udp", 5353, "0.0.0.0", "Code Helper.exe")}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_emulated_host_gives_the_right_findings(fleet: RunResult, name: str) -> None:
    os_text, collector, findings = EXPECTED[name]
    host = _host(fleet, name)
    assert host.error is None, host.error
    assert (host.os, host.collector) == (os_text, collector)
    assert host.status.value == "noncompliant"
    assert _findings(host) == findings
    allowed = {(li.listener.proto, li.listener.port) for li in host.listeners
               if li.verdict.value == "allowed"}
    assert allowed, "every emulated host has some allowed listener (ssh or loopback)"


def test_emulated_root_hosts_name_their_owners(fleet: RunResult) -> None:
    aix = _host(fleet, "aix")
    owners = {(li.listener.proto, li.listener.port, li.listener.family): li.listener.process
              for li in aix.listeners}
    assert owners[("tcp", 22, 4)] == owners[("tcp", 22, 6)] == "sshd"  # via rmsock
    assert _host(fleet, "aix").privileged is True
    openbsd = {li.listener.port: li.listener for li in _host(fleet, "openbsd").listeners}
    assert (openbsd[25].process, openbsd[25].user) == ("smtpd", "_smtpd")  # via fstat
    mac = _host(fleet, "macos")
    assert {li.listener.user for li in mac.listeners} >= {"root", "kar", "_mdnsresponder"}


def test_emulated_macos_without_root_uses_netstat(fleet: RunResult) -> None:
    host = _host(fleet, "macos-user")
    assert host.privileged is False
    commands = host.commands[0].stdout
    assert "begin lsof-fields" not in commands  # lsof would see only the user's own sockets
    truncated = [li for li in host.listeners if li.listener.truncated]
    assert [li.verdict.value for li in truncated] == ["stray"]


def test_emulated_fallback_is_recorded(fleet: RunResult) -> None:
    host = _host(fleet, "freebsd-no-sockstat")
    out = host.commands[0].stdout
    assert " end sockstat 127" in out  # tried first, not there
    assert "begin bsd-netstat" in out


def test_emulated_windows_over_cmd_is_recognised_after_one_refusal(fleet: RunResult) -> None:
    host = _host(fleet, "windows-cmd")
    assert len(host.commands) == 2
    refused, probe = host.commands
    # cmd.exe exits 9009; an emulating Linux process can only exit 9009 % 256.
    assert refused.exit_code == 9009 % 256 and "is not recognized" in refused.stderr
    assert probe.command.startswith("powershell -NoProfile -NonInteractive -EncodedCommand ")
    assert host.privileged is True


def test_emulated_windows_pinned_shell_needs_one_command(fleet: RunResult) -> None:
    host = _host(fleet, "windows-powershell")
    assert len(host.commands) == 1
    assert host.commands[0].command.startswith("powershell ")


def test_emulated_unknown_os_is_unsupported(fleet: RunResult) -> None:
    host = _host(fleet, "haiku")
    assert host.status.value == "error"
    assert host.error is not None and host.error.kind == "unsupported"
    assert "Haiku" in host.error.message


def test_emulated_host_without_tools_says_so(fleet: RunResult) -> None:
    host = _host(fleet, "bare-freebsd")
    assert host.error is not None and host.error.kind == "no_tool"
    assert "sockstat (exit 127)" in host.error.message
    assert "bsd-netstat (exit 127)" in host.error.message


def test_emulated_unknown_output_is_a_parse_error(fleet: RunResult) -> None:
    host = _host(fleet, "broken-openbsd")
    assert host.status.value == "error"
    assert host.error is not None and host.error.kind == "parse_error"
    assert "segmentation fault (core dumped)" in host.error.message
    assert "line 4" in host.error.message
    assert host.commands, "the evidence of what the host printed reaches the report"


def test_emulated_pins_choose_os_and_tool(fleet: RunResult) -> None:
    hpux = _host(fleet, "pinned-hpux")
    assert hpux.collector == "hpux-netstat"  # uname said Linux; fleetcheck_os said HP-UX
    assert _findings(hpux) == EXPECTED["hpux"][2]
    pinned = _host(fleet, "pinned-tool")
    assert pinned.collector == "bsd-netstat"  # sockstat exists, but the inventory pins netstat
    assert "begin sockstat" not in pinned.commands[0].stdout


def test_emulated_windows_shell_refuses_a_foreign_script(tmp_path: Path) -> None:
    """The Windows emulation checks the script; a changed probe cannot pass unnoticed."""
    import base64
    shell = install(EMULATIONS["windows-cmd"], tmp_path)
    forged = base64.b64encode("$M='@@fleetcheck:abc';$T=''\nGet-Date".encode("utf-16-le"))
    result = LocalTransport(shell=str(shell)).run(
        f"powershell -NoProfile -NonInteractive -EncodedCommand {forged.decode()}", timeout=30)
    assert result.exit_code == 2
    assert b"not fleetcheck's Windows probe" in result.stderr


def test_emulated_shims_refuse_unexpected_invocations(tmp_path: Path) -> None:
    shell = install(EMULATIONS["freebsd"], tmp_path)
    result = LocalTransport(shell=str(shell)).run("sockstat -4", timeout=30)
    assert result.exit_code == 2
    assert b"unexpected invocation: -4" in result.stderr
    missing = LocalTransport(shell=str(shell)).run("lsof -i", timeout=30)
    assert missing.exit_code == 127


@pytest.mark.parametrize("login", ["csh", "tcsh"])
def test_emulated_root_with_a_c_shell_login(tmp_path: Path, login: str) -> None:
    """FreeBSD's root logged in with csh until 14.0: the probe must reach sh through it."""
    path = shutil.which(login)
    require(path is not None, f"{login} (the C shell)")
    assert path is not None
    emu = replace(EMULATIONS["aix"], name=f"aix-{login}", login_shell=path)
    shell = install(emu, tmp_path)
    host = PlannedHost(name=emu.name, address="x", groups=(), policies=POLICIES,
                       connection="local")
    run = scan([host], options=ScanOptions(), connect=ShellConnector({emu.name: shell}))
    result = run.hosts[0]
    assert result.error is None, result.error
    assert result.collector == "aix-netstat"  # rmsock's awk and loop ran through csh too
    assert _findings(result) == EXPECTED["aix"][2]
