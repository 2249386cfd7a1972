"""Emulated hosts of other operating systems, checked end to end through the local transport.

Each host's login shell puts replaying shims (tests/lab/emulate.py) first on PATH, so
the real probe script runs its real OS detection and fallbacks, the shims answer only
the exact commands it sends with captured outputs, and the findings come out of the
real parsers, combiners and policy evaluation.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.collect import posix_sh
from fleetcheck.engine.options import ScanOptions
from fleetcheck.engine.scan import scan
from fleetcheck.model import HostResult, RunResult
from fleetcheck.plan import PlannedHost
from fleetcheck.policy.load import load_policies
from fleetcheck.transport.local import LocalTransport
from fleetcheck.transport.quote import sh_join
from tests.conftest import REPO
from tests.lab.emulate import (
    EMULATIONS,
    FAILING,
    LSOF_TCP,
    LSOF_UDP,
    Emulation,
    Replay,
    ShellConnector,
    fixture,
    install,
)
from tests.lab.prereq import require
from tests.parsers_os.emulated_expect import EXPECTED

POLICIES = tuple(load_policies([REPO / "fleetcheck" / "data" / "baseline.yml"]))

# Hosts that exist only to fail in one particular way, and hosts the inventory pins.
ODD = {
    **FAILING,
    # Pins: a Linux-looking host pinned to HP-UX, a FreeBSD host pinned to netstat.
    "pinned-hpux": Emulation("pinned-hpux", "Linux", "5.15.0",
                             tools=EMULATIONS["hpux"].tools),
    "pinned-tool": EMULATIONS["freebsd"],
    # macOS whose lsof fails for UDP (no output; synthetic error text): netstat covers all.
    "macos-lsof-no-udp": Emulation("macos-lsof-no-udp", "Darwin", "23.4.0", tools={
        "lsof": (Replay(LSOF_TCP, fixture("macos/lsof-F-listen")),
                 Replay(LSOF_UDP, "", 1, lists_pid=False)),
        "netstat": (Replay("-anv", fixture("macos/netstat-anv-14")),)}),
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
    require_root()
    root = tmp_path_factory.mktemp("emulated")
    emulations = {**EMULATIONS, **ODD}
    shells = {name: install(emu, root / name).shell for name, emu in emulations.items()}
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


def test_emulated_hpux_without_ipv6_listing_is_incomplete(fleet: RunResult) -> None:
    """netstat -f inet6 fails and plain netstat lists IPv4 only: never judged on half."""
    host = _host(fleet, "hpux-no-inet6")
    assert host.status.value == "error" and host.error is not None
    assert host.error.kind == "incomplete_collection"
    assert "tcp/IPv6, udp/IPv6 not listed (hpux-netstat.inet6: exit 1)" in host.error.message
    assert host.listeners == () and host.os == "HP-UX B.11.31"
    out = host.commands[0].stdout
    assert " end hpux-netstat.inet6 1" in out and " end bsd-netstat 0" in out


def test_emulated_macos_lsof_failing_for_udp_falls_to_netstat(fleet: RunResult) -> None:
    """lsof's UDP run printed nothing (a failure, not "no UDP"): netstat -anv covers all."""
    host = _host(fleet, "macos-lsof-no-udp")
    assert host.error is None, host.error
    assert host.collector == "bsd-netstat"
    assert _findings(host) == EXPECTED["macos-user"][2]
    out = host.commands[0].stdout
    assert " end lsof-fields.tcp 0" in out and " end lsof-fields.udp 1" in out
    assert "unexpected invocation" not in host.commands[0].stderr


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
    assert host.os == "Haiku r1beta4"  # what uname said, though nothing else could be done


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
    assert host.os == "OpenBSD 7.4"


def test_emulated_windows_unreadable_output_keeps_both_commands(fleet: RunResult) -> None:
    host = _host(fleet, "broken-windows")
    assert host.error is not None and host.error.kind == "parse_error"
    assert "line 1" in host.error.message and "Zugriff verweigert" in host.error.message
    assert host.os == "Windows 10.0.20348.0"
    refused, probe = host.commands  # the refused POSIX probe stays evidence too
    assert "is not recognized" in refused.stderr
    assert "Zugriff verweigert" in probe.stdout


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
    shell = install(EMULATIONS["windows-cmd"], tmp_path).shell
    forged = base64.b64encode("$M='@@fleetcheck:abc';$T=''\nGet-Date".encode("utf-16-le"))
    result = LocalTransport(shell=str(shell)).run(
        f"powershell -NoProfile -NonInteractive -EncodedCommand {forged.decode()}", timeout=30)
    assert result.exit_code == 2
    assert b"not fleetcheck's Windows probe" in result.stderr


def test_emulated_shims_refuse_unexpected_invocations(tmp_path: Path) -> None:
    shell = install(EMULATIONS["freebsd"], tmp_path).shell
    result = LocalTransport(shell=str(shell)).run("sockstat -4", timeout=30)
    assert result.exit_code == 2
    assert b"unexpected invocation: -4" in result.stderr
    missing = LocalTransport(shell=str(shell)).run("lsof -i", timeout=30)
    assert missing.exit_code == 127


def require_root() -> None:
    """The Solaris emulation shows /usr/xpg4 in a private mount namespace: that needs root."""
    require(os.geteuid() == 0 and shutil.which("unshare") is not None,
            "root and unshare (emulated files under /usr, in a private mount namespace)")


def test_emulated_solaris10_sh_is_the_bourne_shell(tmp_path: Path) -> None:
    """Solaris 10's sh refuses $(...); the probe's first step gets to the POSIX shell."""
    require_root()
    shell = install(EMULATIONS["solaris"], tmp_path).shell
    transport = LocalTransport(shell=str(shell))
    refused = transport.run("sh -c 'echo $(uname -s)'", timeout=30)
    assert refused.exit_code == 2 and b"syntax error" in refused.stderr
    quoted = transport.run("sh -c 'echo \"$(uname -s)\" $(uname -r)'", timeout=30)
    assert (quoted.exit_code, quoted.stdout) == (2, b""), "only quoted $( is let through"
    ran = transport.run(sh_join(posix_sh("echo $(uname -s) $(id -u)")), timeout=30)
    assert (ran.exit_code, ran.stdout) == (0, b"SunOS 0\n"), ran.stderr
    assert not Path("/usr/xpg4").exists()  # the emulation changed nothing on this machine


@pytest.mark.parametrize("login", ["csh", "tcsh", "zsh", "ksh"])
def test_emulated_root_with_another_login_shell(tmp_path: Path, login: str) -> None:
    """The probe reaches sh through the login shells of real systems: csh (FreeBSD's root
    until 14.0), tcsh, zsh (macOS), ksh (AIX, OpenBSD)."""
    path = shutil.which(login)
    require(path is not None, f"{login} (a login shell of real systems)")
    assert path is not None
    emu = replace(EMULATIONS["aix"], name=f"aix-{login}", login_shell=path)
    shell = install(emu, tmp_path).shell
    host = PlannedHost(name=emu.name, address="x", groups=(), policies=POLICIES,
                       connection="local")
    run = scan([host], options=ScanOptions(), connect=ShellConnector({emu.name: shell}))
    result = run.hosts[0]
    assert result.error is None, result.error
    assert result.collector == "aix-netstat"  # rmsock's awk and loop ran through csh too
    assert _findings(result) == EXPECTED["aix"][2]
