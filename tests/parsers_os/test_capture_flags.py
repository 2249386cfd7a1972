"""Captures made without -n or -a, in the forms real macOS, BSD and Windows netstats print.

Without -n these tools name ports by service (a macOS `/etc/services` holds names such as
`ldgateway` that fleetcheck's port table does not); without -a the BSD-style tables leave
listening TCP sockets out. The hosts, addresses and numbers below are ours.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck.parsers import PARSERS, ParseError, caveats
from tests.conftest import run_cli

BSD_TITLE = "Active Internet connections (including servers)\n"
BSD_HEAD = "Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)\n"
WIN_HEAD = ("\r\nActive Connections\r\n\r\n"
            "  Proto  Local Address          Foreign Address        State\r\n")


def _brief(tool: str, text: str) -> list[tuple[object, ...]]:
    return [(li.proto, li.address, li.port, li.port_name) for li in PARSERS[tool](text)]


# A capture without -n: (tool, header, a listener named by a known service, connections
# and a connected UDP socket named by services the port table does not hold, another
# listener, the two listeners as (proto, address, port, port_name)).
NAMED = [
    ("bsd-netstat", BSD_TITLE + BSD_HEAD,
     "tcp4       0      0  *.ssh                  *.*                    LISTEN\n",
     "tcp4       0      0  localhost.ldgateway    localhost.58110        CLOSE_WAIT\n"
     "tcp4       0      0  10.20.0.5.51544        10.20.0.9.xserveraid   ESTABLISHED\n"
     "udp4       0      0  10.20.0.5.62001        10.20.0.9.ldgateway\n",
     "udp4       0      0  *.syslog               *.*\n",
     [("tcp", "0.0.0.0", 22, "ssh"), ("udp", "0.0.0.0", 514, "syslog")]),
    ("windows-netstat", WIN_HEAD,
     "  TCP    0.0.0.0:epmap          WS-0042:0              LISTENING\r\n",
     "  TCP    10.20.0.5:ldgateway    10.20.0.9:51544        ESTABLISHED\r\n"
     "  TCP    10.20.0.5:51545        10.20.0.9:xserveraid   TIME_WAIT\r\n"
     "  UDP    10.20.0.5:62001        10.20.0.9:ldgateway\r\n",
     "  UDP    0.0.0.0:snmp           *:*\r\n",
     [("tcp", "0.0.0.0", 135, "epmap"), ("udp", "0.0.0.0", 161, "snmp")]),
]
# The other parsers read a connection's row before its ports' names, so they passed these
# over already: kept here so that every parser that reads names answers alike.
NAMED += [
    ("netstat", "Active Internet connections (servers and established)\nProto Recv-Q Send-Q "
     "Local Address           Foreign Address         State\n",
     "tcp        0      0 0.0.0.0:ssh             0.0.0.0:*               LISTEN\n",
     "tcp        0      0 10.20.0.5:ldgateway     10.20.0.9:51544         ESTABLISHED\n"
     "udp        0      0 10.20.0.5:62001         10.20.0.9:xserveraid    ESTABLISHED\n",
     "udp        0      0 0.0.0.0:syslog          0.0.0.0:*\n",
     [("tcp", "0.0.0.0", 22, "ssh"), ("udp", "0.0.0.0", 514, "syslog")]),
    ("ss", "Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n",
     "tcp   LISTEN 0      128          0.0.0.0:ssh         0.0.0.0:*\n",
     "tcp   ESTAB  0      0          10.20.0.5:ldgateway 10.20.0.9:51544\n"
     "udp   ESTAB  0      0          10.20.0.5:62001     10.20.0.9:xserveraid\n",
     "udp   UNCONN 0      0            0.0.0.0:syslog      0.0.0.0:*\n",
     [("tcp", "0.0.0.0", 22, "ssh"), ("udp", "0.0.0.0", 514, "syslog")]),
    ("lsof", "COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n",
     "sshd      310 root    3u  IPv4  12345      0t0  TCP *:ssh (LISTEN)\n",
     "agent     411 root    4u  IPv4  12346      0t0  TCP 10.20.0.5:ldgateway->10.20.0.9:51544 "
     "(ESTABLISHED)\n"
     "agent     411 root    5u  IPv4  12347      0t0  UDP 10.20.0.5:62001->10.20.0.9:xserveraid\n",
     "rsyslogd  512 root    6u  IPv4  12348      0t0  UDP *:syslog\n",
     [("tcp", "0.0.0.0", 22, "ssh"), ("udp", "0.0.0.0", 514, "syslog")]),
]
# Listeners named by services the port table does not hold, in each tool's form.
UNKNOWN_LISTENERS = [
    ("bsd-netstat", BSD_TITLE + BSD_HEAD,
     "tcp4       0      0  *.ldgateway            *.*                    LISTEN\n"),
    ("bsd-netstat", BSD_TITLE + BSD_HEAD, "udp4       0      0  *.xserveraid           *.*\n"),
    ("windows-netstat", WIN_HEAD,
     "  TCP    0.0.0.0:ldgateway      WS-0042:0              LISTENING\r\n"),
    ("windows-netstat", WIN_HEAD, "  UDP    0.0.0.0:xserveraid     *:*\r\n"),
    ("netstat", "Proto Recv-Q Send-Q Local Address           Foreign Address         State\n",
     "tcp        0      0 0.0.0.0:ldgateway       0.0.0.0:*               LISTEN\n"),
    ("ss", "Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n",
     "tcp   LISTEN 0      128          0.0.0.0:ldgateway   0.0.0.0:*\n"),
    ("lsof", "COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n",
     "sshd      310 root    3u  IPv4  12345      0t0  TCP *:ldgateway (LISTEN)\n"),
    ("solaris-netstat", "\nTCP: IPv4\n   Local Address        Remote Address    Swind Send-Q "
     "Rwind Recv-Q    State\n-------------------- -------------------- ----- ------ ----- "
     "------ -----------\n",
     "      *.ldgateway          *.*                0      0 128000      0 LISTEN\n"),
]


@pytest.mark.parametrize(("tool", "head", "first", "connections", "last", "expected"), NAMED)
def test_connections_named_by_unknown_services_are_passed_over(
        tool: str, head: str, first: str, connections: str, last: str,
        expected: list[tuple[object, ...]]) -> None:
    """A connection's row is no listener whatever its port's name stands for: one named by
    a service the port table does not know no longer refuses the whole capture."""
    assert _brief(tool, head + first + connections + last) == expected


@pytest.mark.parametrize(("tool", "head", "row"), UNKNOWN_LISTENERS)
def test_listener_named_by_an_unknown_service_is_refused(tool: str, head: str,
                                                         row: str) -> None:
    """A listener's port must be known: an unknown name is refused, pointing at -n."""
    with pytest.raises(ParseError, match=r"unknown service name .*-n") as caught:
        PARSERS[tool](head + row)
    assert caught.value.line_no == head.count("\n") + 1


def test_bsd_v_rows_after_a_named_connection_are_rows_of_their_own() -> None:
    """With -v, a line that does not parse as a row continues the row before it (a process
    name holding a newline): a row naming an unknown service is a row, not such a line."""
    head = ("Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)      "
            "   rxbytes      txbytes  rhiwat  shiwat        process:pid  state  options\n")

    def row(local: str, foreign: str, state: str, owner: str) -> str:
        return (f"tcp4       0      0  {local:<22} {foreign:<22} {state:<11}        0        "
                f"    0  131072  131072  {owner}  00100 00000006\n")

    text = (BSD_TITLE + head + row("*.22", "*.*", "LISTEN", "sshd:310")
            + row("10.20.0.5.ldgateway", "10.20.0.9.51544", "ESTABLISHED", "agent:411")
            + row("*.8080", "*.*", "LISTEN", "httpd:512"))
    assert [(li.port, li.process, li.pid) for li in PARSERS["bsd-netstat"](text)] == [
        (22, "sshd", 310), (8080, "httpd", 512)]


BSD_WITHOUT_A = ("Active Internet connections\n" + BSD_HEAD
                 + "tcp4       0      0  10.20.0.5.51544        10.20.0.9.443          "
                   "ESTABLISHED\n"
                   "udp4       0      0  *.5353                 *.*\n")


def test_bsd_table_without_a_says_what_it_leaves_out(tmp_path: Path) -> None:
    """Without -a the title lacks 'including servers' and no LISTEN row is printed: the UDP
    listeners are still the capture's, and `parse` says on stderr what it cannot show."""
    assert caveats("bsd-netstat", BSD_WITHOUT_A) and not caveats("bsd-netstat", BSD_TITLE)
    hpux = "Active Internet connections (IPv6, including servers)\n"
    assert not caveats("bsd-netstat", hpux) and not caveats("ss", BSD_WITHOUT_A)
    capture = tmp_path / "mac.txt"
    capture.write_text(BSD_WITHOUT_A)
    for tool in ("bsd-netstat", "auto"):
        res = run_cli(["parse", "--tool", tool, str(capture)], cwd=tmp_path)
        assert res.code == 0, res.err
        assert '"port": 5353' in res.out and '"proto": "tcp"' not in res.out
        warning = [line for line in res.err.splitlines() if "warning" in line]
        assert len(warning) == 1 and "without -a" in warning[0] and "netstat -an" in warning[0]
        assert str(capture) in warning[0]
    full = tmp_path / "full.txt"
    full.write_text(BSD_TITLE + BSD_HEAD
                    + "tcp4       0      0  *.22                   *.*                    LISTEN\n")
    res = run_cli(["parse", "--tool", "bsd-netstat", str(full)], cwd=tmp_path)
    assert res.code == 0 and "warning" not in res.err
