"""Emulated: a socket several processes hold, on every other OS's collector, through a scan.

A pre-fork server (a master and its workers) holds one socket; a scan must show it as
one listener, named by its oldest holder, its user the owner's, the others in
`other_processes` in pid order, and judge it right under `process: <service>`. The
hosts run the real probe through shims replaying each tool's format
(tests/lab/emulate.py); the rows are made up in the formats of the captures.
"""

from __future__ import annotations

from pathlib import Path

from fleetcheck.engine.options import ScanOptions
from fleetcheck.engine.scan import scan
from fleetcheck.model import HostResult
from fleetcheck.plan import PlannedHost
from fleetcheck.policy.load import load_policies
from tests.lab.emulate import Emulation, Replay, ShellConnector, install

OPENBSD_NETSTAT = """\
Active Internet connections (including servers)
Proto   Recv-Q Send-Q  Local Address          Foreign Address        (state)
tcp          0      0  *.22                   *.*                    LISTEN
tcp          0      0  *.80                   *.*                    LISTEN
Active Internet connections (including servers)
Proto   Recv-Q Send-Q  Local Address          Foreign Address
"""
# fstat lists the newest process first: the workers (www) before their master (root);
# one worker holds the socket at two descriptors.
OPENBSD_FSTAT = """\
USER     CMD          PID   FD MOUNT        INUM  MODE         R/W    SZ|DV
www      httpd        30412    3* internet stream tcp 0xfffffd8001c21a18 *:80
www      httpd        30412    7* internet stream tcp 0xfffffd8001c21a18 *:80
www      httpd        30411    3* internet stream tcp 0xfffffd8001c21a18 *:80
root     httpd        30410    3* internet stream tcp 0xfffffd8001c21a18 *:80
root     sshd         71234    3* internet stream tcp 0xfffffd8001c21c30 *:22
"""

POLICY = """\
name: web
hosts: all
default: deny
allow:
  - {id: ssh, proto: tcp, port: 22}
  - {id: web, proto: tcp, port: 80, process: httpd, user: root}
"""


def _scan(tmp_path: Path, emulation: Emulation) -> HostResult:
    policy = tmp_path / "web.yml"
    policy.write_text(POLICY)
    shell = install(emulation, tmp_path / "emulated").shell
    host = PlannedHost(name=emulation.name, address="x", groups=(),
                       policies=tuple(load_policies([policy])), connection="local")
    result = scan([host], options=ScanOptions(),
                  connect=ShellConnector({emulation.name: shell})).hosts[0]
    assert result.error is None, result.error
    return result


def test_emulated_openbsd_prefork_socket_is_its_masters(tmp_path: Path) -> None:
    """fstat names every holder: the master owns the socket, and its user is root's."""
    host = _scan(tmp_path, Emulation("openbsd-prefork", "OpenBSD", "7.4", tools={
        "netstat": (Replay("-an", OPENBSD_NETSTAT),), "fstat": (Replay("", OPENBSD_FSTAT),)}))
    [web] = [li for li in host.listeners if li.listener.port == 80]
    li = web.listener
    assert (li.process, li.pid, li.user) == ("httpd", 30410, "root")
    assert li.other_processes == ("httpd/30411", "httpd/30412")
    assert web.verdict.value == "allowed"
