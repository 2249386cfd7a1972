"""The Linux probe picks the best working tool, records it, and falls through failures.

The broken tools here are stand-ins on PATH (a script named `ss` that fails as ss does
without netlink, a `netstat` that is really BusyBox): everything else is the real probe,
real tools and real sockets in a lab namespace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from fleetcheck.collect import CollectFailure, CollectOptions, collect
from fleetcheck.collect.probe import LINUX_TOOLS, build_probe
from fleetcheck.engine.options import ScanOptions
from fleetcheck.engine.scan import scan
from fleetcheck.errors import ErrorKind
from fleetcheck.model import Listener
from fleetcheck.plan import PlannedHost
from fleetcheck.render import FORMATS, RenderOptions
from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT, Answer, CommandResult
from fleetcheck.transport.local import LocalTransport
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns
from tests.lab.prereq import require
from tests.runschema import schema_errors

pytestmark = pytest.mark.lab

SOCKS = [Sock("tcp", "0.0.0.0", 1923, process="spiced"),
         Sock("udp", "::", 5353, process="mdnsd")]


class PathFirst(LocalTransport):
    """The local transport with `directory` put first on the probe's PATH."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def run(self, command: str, *, timeout: float, stdin: bytes | Answer | None = None,
            max_output: int = DEFAULT_MAX_OUTPUT) -> CommandResult:
        """Run `command` with the stand-ins ahead of the real tools."""
        return super().run(f"PATH={self.directory}:$PATH; export PATH; {command}",
                           timeout=timeout, stdin=stdin, max_output=max_output)


def _stand_in(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def _host(tool: str | None = None) -> PlannedHost:
    return PlannedHost(name="lab", address="localhost", groups=(), policies=(),
                       connection="local", tool=tool)


def _ports(listeners: Sequence[Listener]) -> set[tuple[str, int]]:
    return {(li.proto, li.port) for li in listeners}


def test_linux_tools_in_order_of_preference() -> None:
    assert [name for name, _, _ in LINUX_TOOLS] == ["ss", "netstat", "busybox-netstat"]
    script = build_probe("abc123")
    assert script.index("ss -tulnpe") < script.index("netstat -tulnpe") < script.index(
        "busybox netstat -tulnp") < script.index("/proc/net/$f")
    assert "lsof" not in build_probe("abc123", os="linux")  # only when pinned
    assert "lsof -nP +c 0 -i -p $$ ||" in build_probe("abc123", tool="lsof")


def test_a_failing_ss_falls_through_to_netstat(netns: Namespace, holders: SocketHolders,
                                               tmp_path: Path) -> None:
    require(shutil.which("netstat") is not None, "net-tools netstat")
    holders.hold(SOCKS)
    _stand_in(tmp_path, "ss", 'echo "Cannot open netlink socket: Protocol not supported" >&2\n'
                              "exit 1")
    with in_netns(netns.name):
        got = collect(_host(), PathFirst(tmp_path), CollectOptions())
    assert got.collector == "netstat"
    assert _ports(got.listeners) == {("tcp", 1923), ("udp", 5353)}
    assert {li.process for li in got.listeners} == {"spiced", "mdnsd"}
    evidence = got.commands[0].stdout
    assert " end ss 1\n" in evidence and " end netstat 0\n" in evidence


def test_busybox_posing_as_netstat_is_not_read_as_net_tools(
        netns: Namespace, holders: SocketHolders, tmp_path: Path) -> None:
    busybox = shutil.which("busybox")
    require(busybox is not None, "busybox")
    assert busybox is not None
    holders.hold(SOCKS)
    _stand_in(tmp_path, "ss", "exit 1")
    os.symlink(busybox, tmp_path / "netstat")  # as on Alpine: netstat is BusyBox
    with in_netns(netns.name):
        got = collect(_host(), PathFirst(tmp_path), CollectOptions())
    has_pids = subprocess.run([busybox, "netstat", "-tulnp"], capture_output=True,
                              check=False).returncode == 0
    # Without netstat -p (Debian's build) the /proc fallback, which finds owners, wins.
    assert got.collector == ("busybox-netstat" if has_pids else "proc")
    assert " begin netstat\n" not in got.commands[0].stdout
    assert _ports(got.listeners) == {("tcp", 1923), ("udp", 5353)}
    assert {li.process for li in got.listeners} == {"spiced", "mdnsd"}


def test_a_pinned_tool_that_fails_is_no_tool_not_an_empty_host(
        netns: Namespace, holders: SocketHolders, tmp_path: Path) -> None:
    holders.hold(SOCKS)
    _stand_in(tmp_path, "netstat", 'case "$1" in -V) echo "net-tools 2.10";; *) exit 3;; esac')
    with in_netns(netns.name), pytest.raises(CollectFailure) as failure:
        collect(_host("netstat"), PathFirst(tmp_path), CollectOptions())
    assert failure.value.kind == ErrorKind.NO_TOOL
    assert "netstat (exit 3)" in failure.value.message
    assert "/proc is not mounted" not in failure.value.message  # it is: only a chroot's lacks


# A cat that cannot read the TCP tables, as an LSM or a broken /proc would leave it;
# every other file is read by the real cat.
_CAT_WITHOUT_TCP = ('for f; do case "$f" in /proc/net/tcp|/proc/net/tcp6) '
                    'echo "cat: $f: Permission denied" >&2; exit 1;; esac; done\n'
                    'exec busybox cat "$@"')


def _without_tools(directory: Path) -> None:
    """ss and net-tools netstat there but failing, no BusyBox netstat: /proc is all that is left."""
    _stand_in(directory, "ss", 'echo "Cannot open netlink socket: Permission denied" >&2; exit 1')
    _stand_in(directory, "netstat", 'case "$1" in -V) echo "net-tools 2.10";; *) exit 1;; esac')
    _stand_in(directory, "busybox", 'case "$1" in cat) shift; exec '
              f'{shutil.which("busybox")} cat "$@";; *) exit 1;; esac')


def test_unreadable_tcp_tables_make_the_host_incomplete_never_compliant(
        netns: Namespace, holders: SocketHolders, tmp_path: Path) -> None:
    """ss and netstat fail, /proc/net/tcp and tcp6 cannot be read: the UDP tables alone
    would say nothing listens on TCP. The host is an error naming the missing tables."""
    require(shutil.which("busybox") is not None, "busybox (its cat stands in for the real one)")
    holders.hold(SOCKS)
    _without_tools(tmp_path)
    _stand_in(tmp_path, "cat", _CAT_WITHOUT_TCP)
    with in_netns(netns.name), pytest.raises(CollectFailure) as failure:
        collect(_host(), PathFirst(tmp_path), CollectOptions())
    assert failure.value.kind == ErrorKind.INCOMPLETE_COLLECTION
    message = failure.value.message
    assert "tcp/IPv4, tcp/IPv6 not listed" in message
    assert "/proc/net/tcp: exit 1" in message and "/proc/net/tcp6: exit 1" in message
    assert "ss: exit 1" in message  # what else could have covered them, and failed
    evidence = failure.value.records[0].stdout
    assert " end proc-net-udp 0\n" in evidence and " end proc-net-tcp 1\n" in evidence
    # The same tables read: the /proc fallback is complete and finds both sockets.
    _stand_in(tmp_path, "cat", f'exec {shutil.which("busybox")} cat "$@"')
    with in_netns(netns.name):
        got = collect(_host(), PathFirst(tmp_path), CollectOptions())
    assert got.collector == "proc"
    assert _ports(got.listeners) == {("tcp", 1923), ("udp", 5353)}


def test_incomplete_host_fails_the_run_with_exit_3(netns: Namespace, holders: SocketHolders,
                                                   tmp_path: Path) -> None:
    """Through scan: the incomplete host is `error`, the run exits 3, never 0."""
    require(shutil.which("busybox") is not None, "busybox (its cat stands in for the real one)")
    holders.hold(SOCKS)
    _without_tools(tmp_path)
    _stand_in(tmp_path, "cat", _CAT_WITHOUT_TCP)

    class Connector:
        def __call__(self, host: PlannedHost, deadline: float) -> PathFirst:
            return PathFirst(tmp_path)

        def close(self) -> None:
            """Nothing shared."""

    with in_netns(netns.name):
        run = scan([_host()], options=ScanOptions(), connect=Connector())
    host, = run.hosts
    assert host.status.value == "error" and host.error is not None
    assert host.error.kind == "incomplete_collection"
    assert host.listeners == () and host.collector is None
    assert run.summary.exit_code == 3 and run.summary.error_kinds == {"incomplete_collection": 1}
    assert host.commands and "proc-net-tcp 1" in host.commands[0].stdout
    # Every report format shows the kind (they show error kinds generically); the JSON
    # also passes the published schema (tests/runschema.py validates every JSON render).
    for name, fmt in FORMATS.items():
        if name not in ("register", "csv-groups"):  # rules and problem groups, not hosts
            assert "incomplete_collection" in fmt.render(run, RenderOptions()), name
    assert schema_errors(json.loads(FORMATS["json"].render(run))) == []


# iproute2 7's ss (Debian sid's 7.3.0) prints each byte of a process name that is no
# ASCII as '?' and each control byte as '.'; emulated here by masking the real ss's names
# (`("name",pid=`) as it does. tests/fixtures/linux/*-iproute2-7.3.0-sid.* are its real
# outputs.
_MASKING_SS = ("{ss} \"$@\" | {python} -c \"import re, sys; sys.stdout.buffer.write(re.sub("
               "rb'[(]\\\"(.*?)\\\",pid=', lambda m: b'(\\\"' + bytes(63 if b > 127 else 46 "
               "if b < 32 or b == 127 else b for b in m.group(1)) + b'\\\",pid=', "
               "sys.stdin.buffer.read()))\"")


def test_names_iproute2_7_masked_are_read_from_proc_emulated(
        netns: Namespace, holders: SocketHolders, tmp_path: Path) -> None:
    """A name ss masked ('?' for each byte that is no ASCII, '.' for a control byte) is the
    kernel's again: the probe read its /proc/PID/stat, and the comm masks to what ss printed."""
    holders.hold([Sock("tcp", "0.0.0.0", 7101, process="wëb sérvér"),
                  Sock("tcp", "0.0.0.0", 7102, process="t\tab"),
                  Sock("udp", "::", 7103, process="ünï\tcode", shared_with_child=True),
                  *SOCKS])
    _stand_in(tmp_path, "ss", _MASKING_SS.format(ss=shutil.which("ss"), python=sys.executable))
    with in_netns(netns.name):
        got = collect(_host(), PathFirst(tmp_path), CollectOptions())
        plain = collect(_host(), PathFirst(tmp_path / "none"), CollectOptions())
    assert got.collector == "ss"
    names = {li.port: (li.process, li.other_processes) for li in got.listeners}
    (_, child), = [h.pids for h in holders.held if h.sock.port == 7103]  # parent first
    assert names[7101] == ("wëb sérvér", ())
    assert names[7102] == ("t\tab", ())
    assert names[7103] == ("ünï\tcode", (f"ünï\tcode/{child}",))
    assert names[1923] == ("spiced", ())
    evidence = got.commands[0].stdout
    assert "w??b s??rv??r" in evidence and " end ss.names 0\n" in evidence
    # The real ss prints the names raw, and the probe reads each pid's stat all the same
    # (a name cut at its first ')' cannot be seen in a listing).
    assert {li.port: li.process for li in plain.listeners}[7101] == "wëb sérvér"
    lines = plain.commands[0].stdout.splitlines()
    opened = next(i for i, line in enumerate(lines) if line.endswith(" begin ss.names"))
    assert re.match(r"\d+ \S", lines[opened + 1]), lines[opened + 1]


def _names_lines(stdout: str) -> dict[int, list[str]]:
    """pid -> [PPID, START, COMM] of the ss.names section the probe printed."""
    lines = stdout.splitlines()
    opened = next(i for i, line in enumerate(lines) if line.endswith(" begin ss.names"))
    closed = next(i for i in range(opened, len(lines)) if " end ss.names " in lines[i])
    return {int(p): rest for p, *rest in (line.split(" ", 3) for line in lines[opened + 1:closed])}


def test_holders_ages_are_read_only_where_a_socket_is_shared(
        netns: Namespace, holders: SocketHolders) -> None:
    """Each holder's parent and start time come with its comm where some socket has
    several holders (they tell its oldest: collect/holders.py); a host without a shared
    socket is spared reading the stats (~0.15 ms each in dash)."""
    holders.hold(SOCKS)
    with in_netns(netns.name):
        alone = collect(_host(), LocalTransport(), CollectOptions())
    assert alone.collector == "ss"
    lone = _names_lines(alone.commands[0].stdout)
    assert lone and all(rest[:2] == ["-", "-"] for rest in lone.values()), lone
    holders.hold([Sock("tcp", "0.0.0.0", 7104, process="fcshared", shared_with_child=True)])
    (parent, child), = [h.pids for h in holders.held if h.sock.port == 7104]
    with in_netns(netns.name):
        shared = collect(_host(), LocalTransport(), CollectOptions())
    ages = _names_lines(shared.commands[0].stdout)
    assert ages[child][0] == str(parent) and ages[child][2] == "fcshared"
    assert int(ages[parent][1]) <= int(ages[child][1])
    assert all(rest[0].isdigit() and rest[1].isdigit() for rest in ages.values()), ages
    [li] = [li for li in shared.listeners if li.port == 7104]
    assert (li.pid, li.other_processes) == (parent, (f"fcshared/{child}",))
