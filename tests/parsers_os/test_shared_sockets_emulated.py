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
from tests.lab.emulate import EMULATIONS, Emulation, Replay, ShellConnector, install

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
  - {id: nginx, proto: tcp, port: 443, process: nginx}
  - {id: lb, proto: tcp, port: 8443, process: haproxy}
"""


def _run(tmp_path: Path, *emulations: Emulation, policy: str = POLICY) -> RunResult:
    path = tmp_path / "web.yml"
    path.write_text(policy)
    policies = tuple(load_policies([path]))
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


def test_emulated_freebsd_prefork_socket_is_one_listener(tmp_path: Path) -> None:
    """sockstat prints a row per holding process; -i's socket ID makes them one listener."""
    host = _scan(tmp_path, EMULATIONS["freebsd"])
    assert "begin sockstat" in host.commands[0].stdout
    https = [li for li in host.listeners if li.listener.port == 443]
    assert len(https) == 1
    li = https[0].listener
    assert (li.process, li.pid, li.user) == ("nginx", 1041, "www")
    assert li.other_processes == ("nginx/1063", "nginx/1064")
    assert https[0].verdict.value == "allowed"


SOCKSTAT = """\
USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS{ids}
root     sshd         812 4   tcp4   *:22                  *:*{a}
www      haproxy     2202 5   tcp4   *:8443                *:*{b}
www      haproxy     2201 5   tcp4   *:8443                *:*{c}
"""
REFUSED = ("sockstat: illegal option -- i\nusage: sockstat [-46cLlSsUuvw] [-j jid] "
           "[-p ports] [-P protocols]\n")


def test_emulated_freebsd_reuseport_sockets_stay_apart(tmp_path: Path) -> None:
    """Two haproxy processes, each its own SO_REUSEPORT socket: two IDs, two listeners."""
    text = SOCKSTAT.format(ids="       ID", a="      1713", b="      2050", c="      2049")
    host = _scan(tmp_path, Emulation("freebsd-reuseport", "FreeBSD", "14.1-RELEASE", tools={
        "sockstat": (Replay("-46li", text),)}))
    lb = sorted((li.listener.pid, li.listener.other_processes, li.verdict.value)
                for li in host.listeners if li.listener.port == 8443)
    assert lb == [(2201, (), "allowed"), (2202, (), "allowed")]


def test_emulated_freebsd_without_socket_ids_keeps_sockstats_rows(tmp_path: Path) -> None:
    """A sockstat that refuses -i (older FreeBSD, DragonFly): nothing tells one shared
    socket from SO_REUSEPORT sockets, so each row stays a listener, as docs say."""
    text = SOCKSTAT.format(ids="", a="", b="", c="")
    host = _scan(tmp_path, Emulation("freebsd-13", "FreeBSD", "13.2-RELEASE", tools={
        "sockstat": (Replay("-46li", REFUSED, 1), Replay("-46l", text))}))
    assert " end sockstat 1" in host.commands[0].stdout
    assert host.collector == "sockstat"
    assert sorted(li.listener.pid or 0 for li in host.listeners
                  if li.listener.port == 8443) == [2201, 2202]


# lsof -F on macOS (root): launchd opened port 8080 for a service it started, which
# holds it too (made up in lsof's field format; d is the socket's kernel address).
MACOS_LSOF = ("p1\nclaunchd\nu0\nLroot\nf9\ntIPv4\nd0x2f0e1e5b1f7c9a05\nPTCP\nn*:8080\n"
              "TST=LISTEN\np700\ncnginx\nu70\nL_www\nf3\ntIPv4\nd0x2f0e1e5b1f7c9a05\nPTCP\n"
              "n*:8080\nTST=LISTEN\np22\ncsshd\nu0\nLroot\nf4\ntIPv4\nd0x2f0e1e5b1f7c1111\n"
              "PTCP\nn*:22\nTST=LISTEN\n")
LSOF_TCP = "-nP +c0 -iTCP -sTCP:LISTEN -p PID -F pcuLtPnTd"
LSOF_UDP = "-nP +c0 -iUDP -p PID -F pcuLtPnTd"


def test_emulated_macos_launchd_socket_is_the_services_and_roots(tmp_path: Path) -> None:
    """launchd (pid 1) and the service it activated: one listener, the service's, allowed
    by `process: nginx`; its user is root, who opened it (as ss shows systemd's on Linux)."""
    policy = POLICY + "  - {id: alt, proto: tcp, port: 8080, process: nginx, user: root}\n"
    host = _run(tmp_path, Emulation("macos-launchd", "Darwin", "23.4.0", tools={
        "lsof": (Replay(LSOF_TCP, MACOS_LSOF), Replay(LSOF_UDP, "", 1)),
        "netstat": (Replay("-anv", ""),)}), policy=policy).hosts[0]
    assert host.collector == "lsof-fields"
    [alt] = [li for li in host.listeners if li.listener.port == 8080]
    li = alt.listener
    assert (li.process, li.pid, li.user, li.other_processes) == ("nginx", 700, "root",
                                                                 ("launchd/1",))
    assert alt.verdict.value == "allowed"
