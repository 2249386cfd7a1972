"""Live: each Linux tool run with the flags people really type, read exactly as what was bound.

One lab namespace holds tests/lab/linux_scenario.py's awkward sockets plus more (an
IPv4-mapped bind, a name with spaces and non-ASCII letters, SO_REUSEPORT TCP twins, a
dual-stack UDP socket, port 65535, UDP 1923), established TCP connections and a connected
UDP socket (no listeners), and a unix socket. Each (tool, flags) capture must parse, with
its tool named and with `--tool auto`, to the oracle's listeners minus what those flags
hide (no -p: no owner, never a wrong one). An output that cannot show listeners (no -l,
only -x, no protocol field) must be a parse error, never an empty list.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from fleetcheck.model import Listener
from fleetcheck.parsers import PARSERS, ParseError, guess
from fleetcheck.parsers.common import is_ip
from fleetcheck.parsers.lsof import unescape
from tests.lab import linux_scenario
from tests.lab.netns import Held, Namespace, Sock

pytestmark = pytest.mark.lab

UNICODE = "wëb sérvér"  # 13 bytes: the kernel keeps all of it
EXTRA = (
    Sock("tcp", "::ffff:127.0.0.1", 7001, process="mapped", v6only=False),
    Sock("tcp", "::1", 7002, process=UNICODE),
    Sock("udp", "::", 7003, process="dualudp", v6only=False),
    Sock("udp", "::1", 65535, process="hiport"),
    Sock("tcp", "0.0.0.0", 7004, process="rpa", reuseport=True),
    Sock("tcp", "0.0.0.0", 7004, process="rpb", reuseport=True),
    Sock("udp", "0.0.0.0", 1923, process="spiceu"),
)
# Held after the listeners they connect to: established TCP (v4, v6), connected UDP.
CLIENTS = (
    Sock("tcp", "127.0.0.1", 41000, process="client", connect_to=("127.0.0.1", 6379)),
    Sock("tcp", "::1", 41002, process="client", connect_to=("::1", 7002)),
    Sock("udp", "::1", 41001, process="client", connect_to=("::1", 65535)),
)
UNIX = "import socket,sys;s=socket.socket(socket.AF_UNIX);s.bind('\\0fc unix');s.listen();" \
       "sys.stdin.read()"


@dataclass(frozen=True)
class Case:
    """One capture: the parser, the command line, and what its flags let it show."""

    tool: str
    command: str  # run inside the namespace by sh
    dialect: str = ""  # linux_scenario's oracle dialect ('' : the tool's own)
    protos: tuple[str, ...] = ("tcp", "udp")
    families: tuple[int, ...] = (4, 6)
    owners: bool = True  # the output names the process (-p; lsof always)
    user: str = ""  # 'uid': netstat -e's numeric User; 'login': lsof -F L
    names: bool = False  # host names instead of addresses (no -n): compared without them
    port_names: bool = False  # service names instead of ports (ss without -n)


def _ss(flags: str, **kw: Any) -> Case:
    return Case("ss", f"ss {flags}", **kw)


def _netstat(flags: str, **kw: Any) -> Case:
    return Case("netstat", f"netstat {flags}", **kw)


def _lsof(flags: str, **kw: Any) -> Case:
    return Case("lsof-fields" if " -F" in flags else "lsof", f"lsof {flags}", **kw)


TCP, UDP, V4, V6 = ("tcp",), ("udp",), (4,), (6,)
CASES = (
    _ss("-tulpn"), _ss("-tlnp", protos=TCP), _ss("-ulnp", protos=UDP),
    _ss("-lntu", owners=False), _ss("-an", owners=False), _ss("-tan", protos=TCP, owners=False),
    _ss("-a", owners=False, port_names=True), _ss("-tuap", port_names=True), _ss("-tulpen"),
    _ss("-ltnpe", protos=TCP), _ss("-tulpno"), _ss("-tulpnm"), _ss("-tulpni"),
    _ss("-tulpn4", families=V4), _ss("-tulpn6", families=V6), _ss("-Htulpn"), _ss("-Otulpn"),
    _ss("-tulpneO"), _ss("--no-header -nltp", protos=TCP), _ss("-tulpnx"), _ss("-anp"),
    _ss("-tul", owners=False, port_names=True), _ss("-lnt4", protos=TCP, families=V4,
                                                    owners=False),
    _ss("-tulpnT"), _ss("-Htln", protos=TCP, owners=False),
    _netstat("-tulpn"), _netstat("-tlnp", protos=TCP), _netstat("-an", owners=False),
    _netstat("-anp"), _netstat("-lnp"), _netstat("-tulpen", user="uid"),
    _netstat("-tulnpee", user="uid"), _netstat("-tulnpo"), _netstat("-tan", protos=TCP,
                                                                     owners=False),
    _netstat("-tulpnW", dialect="netstat-wide"), _netstat("-nlpW", dialect="netstat-wide"),
    _netstat("-A inet -lnp", families=V4), _netstat("-A inet6 -lnp", families=V6),
    _netstat("-tulnp4", families=V4), _netstat("-tulnp6", families=V6),
    _netstat("-l", dialect="netstat-names", owners=False),
    _netstat("-tul", dialect="netstat-names", owners=False),
    _netstat("-lp", dialect="netstat-names"), _netstat("-a", dialect="netstat-names",
                                                       owners=False),
    _netstat("--numeric-ports -tulp", names=True),
    _netstat("-tulpn | grep LISTEN", protos=TCP),
    Case("busybox-netstat", "busybox netstat -tuln", "busybox-netstat-nopid"),
    Case("busybox-netstat", "busybox netstat -an", "busybox-netstat-nopid"),
    Case("busybox-netstat", "busybox netstat -tul", "busybox-netstat-nopid", names=True),
    Case("busybox-netstat", "busybox netstat -l", "busybox-netstat-nopid", names=True),
    _lsof("-nP -i"), _lsof("-i", names=True), _lsof("-i -P", names=True),
    _lsof("-i -n", port_names=True),
    _lsof("-nP -iTCP -sTCP:LISTEN", protos=TCP), _lsof("-nP -i -sTCP:LISTEN", protos=TCP),
    _lsof("-nP -iUDP", protos=UDP), _lsof("-nP -i4", families=V4),
    _lsof("-nP -i6", families=V6), _lsof("+c0 -nP -i"), _lsof("-nP -i -w"), _lsof("-nPi"),
    _lsof("-nP -i -T"), _lsof("-nP -i -Tqs"), _lsof("-nP -i -Tf"),
    _lsof("-nP -i | grep LISTEN", protos=TCP),
    _lsof("-nP -i -F pcnPtT"), _lsof("-nP -i -F pcnPt"), _lsof("-nP -i -F", user="login"),
    _lsof("-nP +c0 -i -F pcuLtPnTd", user="login"), _lsof("-i -F pcnPtT", names=True),
    _lsof("-nP -iTCP -sTCP:LISTEN -F pcnPt", protos=TCP),
    Case("proc-net", "cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6"),
    Case("proc-net", "cat /proc/net/tcp6", protos=TCP, families=V6),
    Case("proc-net", "cat /proc/net/udp /proc/net/udp6", protos=UDP),
)
# Outputs that cannot show the listeners: a parse error naming why, with --tool auto too.
REFUSED = (
    ("ss", "ss -tn", "only connections"), ("ss", "ss -t", "only connections"),
    ("ss", "ss -u", "no Netid and no State"), ("ss", "ss -un", "no Netid and no State"),
    ("ss", "ss -tln state listening", "no Netid and no State"),
    ("ss", "ss -lnpx", "no TCP or UDP"),
    ("netstat", "netstat -tn", "w/o servers"), ("netstat", "netstat -lnpx", "no netstat"),
    ("busybox-netstat", "busybox netstat -tn", "w/o servers"),
    ("lsof-fields", "lsof -nP -i -F pcn", "no P (protocol)"),
    ("lsof-fields", "lsof -nP -i -F pcnP", "no t (type)"),
    ("proc-net", "tail -q -n +2 /proc/net/tcp /proc/net/udp", "no 'sl local_address'"),
)


@dataclass(frozen=True)
class Lab:
    """The namespace and the sockets its holders bound."""

    ns: Namespace
    held: list[Held]

    def run(self, command: str) -> str:
        out = subprocess.run(self.ns.exec_argv(["sh", "-c", command]), capture_output=True,
                             check=False)
        return out.stdout.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with linux_scenario.held(EXTRA) as (ns, holders):
        holders.hold(CLIENTS)
        unix = subprocess.Popen(ns.exec_argv([sys.executable, "-c", UNIX]),
                                stdin=subprocess.PIPE)
        try:
            yield Lab(ns, list(holders.held))
        finally:
            assert unix.stdin is not None
            unix.stdin.close()
            unix.wait(timeout=10)


def _lsof_cuts(name: str, width: int | None) -> set[str]:
    """What lsof's COMMAND column may show of `name`: it escapes each byte that is no
    printable ASCII (a space too) as \\xNN and cuts the escaped text at whole escapes, to
    `width` characters (default 9), or to a width of its own choosing with +c0."""
    units = [chr(b) if 0x20 < b < 0x7f else f"\\x{b:02x}" for b in name.encode()]
    cuts = ["".join(units[:n]) for n in range(1, len(units) + 1)]
    if width is not None:
        cuts = [cut for cut in cuts if len(cut) <= width][-1:]
    return {unescape(cut) for cut in cuts}


def _mapped(li: Listener, case: Case) -> Listener:
    """How a tool prints an IPv4-mapped bind: net-tools as plain IPv4 (read as family 4, as
    the shared corpus reads it), lsof as IPv4 under TYPE IPv6; ss, BusyBox and /proc whole."""
    v4 = li.address.removeprefix("::ffff:")
    if v4 == li.address:
        return li
    if case.tool == "netstat":
        return replace(li, address=v4, family=4)
    if case.tool.startswith("lsof"):
        return replace(li, address=v4)
    return li


def expected(case: Case, held: list[Held]) -> list[Listener]:
    """The oracle's listeners for `case`, as its flags show them."""
    dialect = case.dialect or {"lsof": "lsof-short", "lsof-fields": "lsof"}.get(case.tool,
                                                                                case.tool)
    if "+c0" in case.command and case.tool == "lsof":
        dialect = "lsof"
    wanted = [li for li in linux_scenario.expected(dialect, held, protos=case.protos)
              if li.family in case.families]
    return [_shown(_mapped(li, case), case) for li in wanted]


def _shown(li: Listener, case: Case) -> Listener:
    """`li` with only the owner and names the case's flags print."""
    if not case.owners:
        li = replace(li, process=None, pid=None, other_processes=())
    if (case.tool, case.user) in (("netstat", ""), ("lsof-fields", "")):
        li = replace(li, user=None)
    if case.port_names:
        with contextlib.suppress(OSError):  # a port /etc/services does not name
            li = replace(li, port_name=socket.getservbyport(li.port, li.proto))
    return li


def _comparable(li: Listener, case: Case) -> Listener:
    """`li` without what the case cannot compare exactly: names, lsof's cut names."""
    if case.names:
        li = replace(li, address="", port_name=None, truncated=False)
    return li


def _check(case: Case, got: list[Listener], held: list[Held]) -> None:
    want = expected(case, held)
    if case.tool == "lsof":  # lsof's COMMAND column: match the cut it made, then compare
        width = None if "+c0" in case.command else 9
        full: dict[tuple[int | None, int], str] = {
            (pid, h.sock.port): h.sock.process for h in held for pid in h.pids}
        got = [replace(li, process=full[(li.pid, li.port)])
               if li.process in _lsof_cuts(full.get((li.pid, li.port), ""), width) else li
               for li in got]
        want = [replace(li, process=full[(li.pid, li.port)]) for li in want]
    if case.names:  # a name stands for some address of the lab: compared without it
        addresses = {li.address for li in want}
        assert all(li.address in addresses or not is_ip(li.address) for li in got), got
    assert Counter(_comparable(li, case) for li in got) == Counter(
        _comparable(li, case) for li in want)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.command)
def test_each_flag_variant_reads_what_was_bound(lab: Lab, case: Case) -> None:
    text = lab.run(case.command)
    _check(case, PARSERS[case.tool](text), lab.held)
    found = guess(text).tool
    # BusyBox's table is net-tools' table; either parser must read it the same.
    assert found == case.tool or (case.tool, found) == ("busybox-netstat", "netstat")
    assert PARSERS[found](text) == PARSERS[case.tool](text)


@pytest.mark.parametrize(("tool", "command", "why"), REFUSED, ids=str)
def test_outputs_that_cannot_show_listeners_are_refused(lab: Lab, tool: str, command: str,
                                                        why: str) -> None:
    text = lab.run(command)
    assert text.strip(), f"{command} printed nothing"
    with pytest.raises(ParseError) as err:
        PARSERS[tool](text)
    assert why in str(err.value)
    with pytest.raises(ParseError):
        PARSERS[guess(text).tool](text)
