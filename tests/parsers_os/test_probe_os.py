"""The probe's non-Linux branches, the Windows probe and the combining of sections."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from fleetcheck.collect import _pinned_family, windows
from fleetcheck.collect.combine import Incomplete, NoTool, combine
from fleetcheck.collect.oses import FAMILIES, POSIX_TOOLS, family_of
from fleetcheck.collect.probe import build_probe
from fleetcheck.collect.sections import Section
from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.parsers import PARSERS
from fleetcheck.plan import PlannedHost
from tests.conftest import REPO
from tests.parsers_os.cases import FIXTURES, read

SHELLS = [s for s in ("dash", "bash", "busybox") if shutil.which(s)]


def _pins() -> list[tuple[str | None, str | None]]:
    out: list[tuple[str | None, str | None]] = [(None, None)]
    for family, attempts in POSIX_TOOLS.items():
        out.append((family, None))
        out += [(family, a.collector) for a in attempts]
    return out


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("family", "tool"), _pins())
def test_probe_is_valid_sh_for_every_pin(shell: str, family: str | None, tool: str | None) -> None:
    script = build_probe("abc123", tool=tool, os=family)
    argv = [shell, "sh"] if shell == "busybox" else [shell]
    proc = subprocess.run([*argv, "-n", "-c", script], check=False, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr


def test_probe_detects_every_known_uname() -> None:
    script = build_probe("abc123")
    for word in ("Darwin)", "FreeBSD | DragonFly)", "OpenBSD)", "NetBSD)", "SunOS)", "AIX)",
                 "HP-UX)", "Linux)"):
        assert word in script
    assert 'echo "$M unsupported"' in script


def test_pinned_os_skips_detection() -> None:
    script = build_probe("abc123", os="hpux")
    assert "netstat -an -f inet6" in script
    assert "sockstat" not in script and "unsupported" not in script


def test_root_only_tools_are_guarded() -> None:
    script = build_probe("abc123", os="aix")
    assert '[ "$U" = 0 ] && command -v lsof' in script
    assert 'if [ "$U" = 0 ]; then echo "$M begin aix-netstat.rmsock"' in script


def test_bad_pins_are_refused() -> None:
    with pytest.raises(ValueError):
        build_probe("abc123", os="plan9")
    with pytest.raises(ValueError):
        build_probe("abc123", tool="ss; rm -rf /")
    host = PlannedHost(name="h", address="h", groups=(), policies=(), os="plan9")
    with pytest.raises(HostFailure) as info:
        _pinned_family(host)
    assert info.value.kind is ErrorKind.UNSUPPORTED
    assert "fleetcheck_os='plan9'" in info.value.message


def test_os_aliases() -> None:
    assert family_of("Darwin") == "macos"
    assert family_of("HP-UX") == "hpux"
    assert family_of(" Windows ") == "windows"
    assert family_of("sunos") == "solaris"
    assert family_of("vms") is None
    assert set(FAMILIES) >= {"linux", "windows", "macos", "aix"}


def test_windows_command_fits_cmd_exe_and_round_trips() -> None:
    for tool in (None, *windows.TOOLS):
        command = windows.command("0123456789abcdef0123456789abcdef", tool)
        assert len(command) < 8191  # cmd.exe's longest command line
        assert set(command) <= set("abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/= -")
        encoded = command.rsplit(" ", 1)[1]
        assert windows.decode(encoded) == windows.script("0123456789abcdef0123456789abcdef", tool)
    script = windows.script("abc", "windows-netstat")
    assert "$T='windows-netstat'" in script and "#" not in script.splitlines()[0]
    with pytest.raises(ValueError):
        windows.script("abc", "ss")
    with pytest.raises(ValueError):
        windows.script("a'b")


def test_windows_is_recognised_from_inventory_or_refusal() -> None:
    host = PlannedHost(name="w", address="w", groups=(), policies=(), shell_type="PowerShell")
    assert windows.pinned(host, None)
    assert windows.pinned(PlannedHost(name="w", address="w", groups=(), policies=()), "windows")
    assert windows.refused_posix(9009, "", "")
    assert windows.refused_posix(1, "", "  + FullyQualifiedErrorId : CommandNotFoundException")
    assert not windows.refused_posix(127, "", "sh: 1: ss: not found")
    german = ('Der Befehl "sh" ist entweder falsch geschrieben oder\r\n'
              "konnte nicht gefunden werden.\r\n")
    assert windows.refused_posix(0, '"$M begin ss"\r\n', german)  # cmd ran the line's echo
    assert not windows.refused_posix(1, "", "sudo: a password is required\n")
    assert not windows.refused_posix(9009, "@@fleetcheck:abc os Linux\n", "")


def _s(name: str, body: str, rc: int | None = 0) -> Section:
    return Section(name, body, rc)


def test_combine_takes_the_last_attempt() -> None:
    netstat = read(FIXTURES / "freebsd" / "netstat-anW-13.out")
    got = combine([_s("sockstat", "", 127), _s("bsd-netstat", netstat)], "freebsd")
    assert got.collector == "bsd-netstat" and len(got.listeners) == 7
    with pytest.raises(NoTool, match=r"sockstat \(exit 127\), bsd-netstat \(exit 1\)"):
        combine([_s("sockstat", "", 127), _s("bsd-netstat", "", 1)], "freebsd")
    with pytest.raises(NoTool):
        combine([])


def test_combine_notes_what_a_failed_owner_table_costs() -> None:
    openbsd = read(FIXTURES / "openbsd" / "netstat-an-7.4.out")
    got = combine([_s("openbsd-netstat.netstat", openbsd), _s("openbsd-netstat.fstat", "", 1)],
                  "openbsd")
    assert all(li.process is None for li in got.listeners) and got.listeners
    assert "fstat failed" in got.notes[0]
    netstat = read(FIXTURES / "windows" / "netstat-ano-de.out")
    got = combine([_s("windows-netstat.netstat", netstat)], "windows")
    assert got.notes == ["tasklist failed: only process ids are known"]
    with pytest.raises(NoTool):
        combine([_s("hpux-netstat.inet", "", 1)], "hpux")


def test_combine_a_failed_family_is_incomplete_not_a_note() -> None:
    """HP-UX lists IPv6 with a command of its own: when it fails, nothing covered IPv6."""
    inet = read(FIXTURES / "hpux" / "netstat-an-finet-11.31.out")
    for family in ("hpux", None):  # the part means the same whoever asks
        with pytest.raises(Incomplete, match=r"tcp/IPv6, udp/IPv6 not listed "
                                             r"\(hpux-netstat.inet6: exit 1\)"):
            combine([_s("hpux-netstat.inet", inet), _s("hpux-netstat.inet6", "bad", 1)], family)
    # The probe went on to plain netstat -an, which on HP-UX lists IPv4 only.
    with pytest.raises(Incomplete, match=r"tcp/IPv6, udp/IPv6 not listed "
                                         r"\(hpux-netstat.inet6: exit 1\)"):
        combine([_s("hpux-netstat.inet", inet), _s("hpux-netstat.inet6", "", 1),
                 _s("bsd-netstat", inet)], "hpux")
    # netstat -an is the whole host elsewhere.
    assert combine([_s("bsd-netstat", inet)], "macos").collector == "bsd-netstat"


def test_combine_a_failed_protocol_is_covered_by_the_next_attempt() -> None:
    """macOS lsof lists TCP and UDP apart; a failed UDP run sends the probe on to netstat."""
    lsof = read(FIXTURES / "macos" / "lsof-F-listen.out")
    netstat = read(FIXTURES / "macos" / "netstat-anv-14.out")
    got = combine([_s("lsof-fields.tcp", lsof), _s("lsof-fields.udp", "", 1),
                   _s("bsd-netstat", netstat)], "macos")
    assert got.collector == "bsd-netstat" and got.listeners
    with pytest.raises(Incomplete, match=r"udp/IPv4, udp/IPv6 not listed "
                                         r"\(lsof-fields.udp: exit 1, bsd-netstat: exit 1\)"):
        combine([_s("lsof-fields.tcp", lsof), _s("lsof-fields.udp", "", 1),
                 _s("bsd-netstat", "", 1)], "macos")
    both = combine([_s("lsof-fields.tcp", lsof), _s("lsof-fields.udp", "")], "macos")
    assert both.collector == "lsof-fields" and both.listeners


def test_combine_proc_tables_absent_versus_failed() -> None:
    """A table the kernel lacks (no IPv6) is nothing to cover; one it has but that could not
    be read leaves the host incomplete, naming the table."""
    tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  " \
          "timeout inode\n   0: 00000000:0783 00000000:0000 0A 00000000:00000000 00:00000000 " \
          "00000000     0        0 4242 1 0 100 0 0 10 0\n"
    udp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  " \
          "timeout inode ref pointer drops\n"
    v4 = [_s("proc-net-tcp", tcp), _s("proc-net-udp", udp), _s("proc-stat", "")]
    got = combine(v4, "linux", ["proc-net-tcp6", "proc-net-udp6"])
    assert (got.collector, [li.port for li in got.listeners]) == ("proc", [1923])
    with pytest.raises(Incomplete, match=r"tcp/IPv6, udp/IPv6 not listed; "):
        combine(v4, "linux")  # the probe did not say the tables were absent
    with pytest.raises(Incomplete, match=r"tcp/IPv4, tcp/IPv6 not listed \(ss: exit 1, "
                                         r"/proc/net/tcp: exit 1, /proc/net/tcp6: exit 1\)"):
        combine([_s("ss", "", 1), _s("proc-net-tcp", "", 1), _s("proc-net-tcp6", "", 1),
                 _s("proc-net-udp", udp), _s("proc-net-udp6", udp)], "linux")


def test_combine_merges_owner_tables() -> None:
    got = combine([_s("windows-netstat.netstat", read(FIXTURES / "windows/netstat-ano-de.out")),
                   _s("windows-netstat.tasklist",
                      read(FIXTURES / "windows/tasklist-csv-nh.out"))])
    by_port = {(li.proto, li.port, li.family): li for li in got.listeners}
    assert by_port[("tcp", 1923, 4)].process == "spiced.exe"
    assert by_port[("tcp", 3389, 4)].process is None  # pid 1196 had exited by tasklist time
    aix_rows = read(FIXTURES / "aix/netstat-Aan-7.2.out")
    rmsock = ("f1000e00005323b8 The socket 0xf1000e0000532008 is being held by proccess "
              "4325546 (sshd).\n")
    got = combine([_s("aix-netstat.netstat", aix_rows), _s("aix-netstat.rmsock", rmsock)])
    assert [li.process for li in got.listeners if li.port == 22] == ["sshd", None]


def test_bad_tool_pin_is_the_hosts_error_not_a_crash() -> None:
    from fleetcheck.collect import CollectOptions, collect
    from fleetcheck.transport.local import LocalTransport

    host = PlannedHost(name="h", address="h", groups=(), policies=(), connection="local",
                       tool="ss;reboot")
    with pytest.raises(HostFailure) as info:
        collect(host, LocalTransport(), CollectOptions())
    assert info.value.kind is ErrorKind.NO_TOOL
    assert "not a tool name" in info.value.message


def _stat_line(pid: int, comm: str) -> str:
    """A real /proc/PID/stat record (this process's), given another pid and name."""
    with open("/proc/self/stat", encoding="utf-8") as f:
        real = f.read()
    return f"{pid} ({comm}){real[real.rfind(')') + 1:]}"


@pytest.mark.parametrize("tool", ["busybox-netstat", "netstat"])
def test_combine_names_netstat_listeners_by_comm(tool: str) -> None:
    """netstat prints the command line (a retitled daemon's title); the probe's `names`
    part, each listed pid's /proc/PID/stat, gives the kernel's name instead. A pid it
    does not have (the process ended meanwhile) keeps what netstat printed."""
    fixture = {"busybox-netstat": "busybox-netstat-tulnp", "netstat": "netstat-tulnpe"}[tool]
    listing = (REPO / "tests" / "fixtures" / "linux" / f"{fixture}.out").read_text()
    printed = {li.pid: li.process for li in PARSERS[tool](listing) if li.pid is not None}
    first, *others = sorted(printed)
    names = "".join(_stat_line(pid, f"k{pid}") for pid in others)
    got = combine([_s(tool, listing), _s(f"{tool}.names", names)], "linux")
    assert got.collector == tool
    by_pid = {li.pid: li.process for li in got.listeners if li.pid is not None}
    assert by_pid == {first: printed[first], **{pid: f"k{pid}" for pid in others}}
    unnamed = combine([_s(tool, listing), _s(f"{tool}.names", "", None)], "linux")
    assert {li.pid: li.process for li in unnamed.listeners if li.pid is not None} == printed
