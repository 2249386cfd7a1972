"""Emulated: a socket several processes hold, on every other OS's collector, through a scan.

A pre-fork server (a master and its workers) holds one socket; a scan must show it as
one listener, named by its oldest holder, its user the owner's, the others in
`other_processes` in pid order, and judge it right under `process: <service>`. The
hosts run the real probe through shims replaying each tool's format
(tests/lab/emulate.py); the rows are made up in the formats of the captures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck.engine.options import ScanOptions
from fleetcheck.engine.scan import scan
from fleetcheck.model import HostResult, RunResult
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


def _run(tmp_path: Path, *emulations: Emulation) -> RunResult:
    policy = tmp_path / "web.yml"
    policy.write_text(POLICY)
    policies = tuple(load_policies([policy]))
    shells = {e.name: install(e, tmp_path / e.name).shell for e in emulations}
    hosts = [PlannedHost(name=e.name, address="x", groups=(), policies=policies,
                         connection="local") for e in emulations]
    run = scan(hosts, options=ScanOptions(), connect=ShellConnector(shells))
    for result in run.hosts:
        assert result.error is None, result.error
    return run


def _scan(tmp_path: Path, emulation: Emulation) -> HostResult:
    return _run(tmp_path, emulation).hosts[0]


def test_emulated_openbsd_prefork_socket_is_its_masters(tmp_path: Path) -> None:
    """fstat names every holder: the master owns the socket, and its user is root's."""
    host = _scan(tmp_path, Emulation("openbsd-prefork", "OpenBSD", "7.4", tools={
        "netstat": (Replay("-an", OPENBSD_NETSTAT),), "fstat": (Replay("", OPENBSD_FSTAT),)}))
    [web] = [li for li in host.listeners if li.listener.port == 80]
    li = web.listener
    assert (li.process, li.pid, li.user) == ("httpd", 30410, "root")
    assert li.other_processes == ("httpd/30411", "httpd/30412")
    assert web.verdict.value == "allowed"


def test_emulated_openbsd_shared_socket_names_the_holder_a_rule_refuses(tmp_path: Path) -> None:
    """A socket the master shares with a process the rule does not name: the finding
    (what CSV, Markdown and JUnit show of it) says which holder that is."""
    fstat = OPENBSD_FSTAT.replace("www      httpd        30411", "www      php-fpm      30411")
    host = _scan(tmp_path, Emulation("openbsd-mixed", "OpenBSD", "7.4", tools={
        "netstat": (Replay("-an", OPENBSD_NETSTAT),), "fstat": (Replay("", fstat),)}))
    [finding] = host.findings
    assert (finding.kind.value, finding.process, finding.pid) == ("wrong_process", "httpd",
                                                                  30410)
    assert "php-fpm/30411" in finding.message, finding.message


@pytest.mark.parametrize("fmt", ["text", "html", "json", "csv", "junit", "markdown"])
def test_emulated_every_report_shows_the_other_holders(tmp_path: Path, fmt: str) -> None:
    """Each format shows a shared socket's other holders where it shows the socket: the
    listener tables (text, HTML, JSON, JUnit's listener list) and the finding's message."""
    import importlib
    mixed = OPENBSD_FSTAT.replace("www      httpd        30411", "www      php-fpm      30411")
    run = _run(tmp_path, Emulation("prefork", "OpenBSD", "7.4", tools={
        "netstat": (Replay("-an", OPENBSD_NETSTAT),), "fstat": (Replay("", OPENBSD_FSTAT),)}),
        Emulation("mixed", "OpenBSD", "7.4", tools={
            "netstat": (Replay("-an", OPENBSD_NETSTAT),), "fstat": (Replay("", mixed),)}))
    module = {"text": "text", "html": "html", "json": "jsonout", "csv": "csvout",
              "junit": "junit", "markdown": "markdown"}[fmt]
    out = importlib.import_module(f"fleetcheck.render.{module}").render(run)
    if fmt != "markdown":  # its group table names each finding's owner only
        assert "php-fpm/30411" in out  # the refused holder, in the finding's message at least
    if fmt not in ("csv", "markdown"):  # these list findings only, no allowed listener
        assert "httpd/30411" in out and "httpd/30412" in out
