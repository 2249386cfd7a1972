"""Unrecognised text is a ParseError naming its first offending line, never an empty list."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck.parsers import PARSERS, ParseError, owners, windows_netstat
from tests.conftest import CORPUS
from tests.parsers_os.cases import FIXTURES, fixture, fixture_cases, read

MINE = ("bsd-netstat", "sockstat", "lsof-fields", "solaris-netstat", "windows-netstat",
        "powershell")


def _texts() -> list[tuple[str, Path]]:
    """(the dialect of a text, its path) for every fixture and corpus output."""
    out = [(fixture(p)["parser"], p.with_suffix(".out")) for p in fixture_cases()]
    out += [(f"corpus:{p.parent.name}", p) for p in sorted(CORPUS.glob("*/*.out"))]
    return out


@pytest.mark.parametrize("tool", MINE)
def test_another_dialect_is_never_silently_empty(tool: str) -> None:
    """Every other tool's text either raises or yields listeners, never []."""
    for dialect, path in _texts():
        if dialect == tool:
            continue
        try:
            got = PARSERS[tool](read(path))
        except ParseError:
            continue
        assert got, f"{tool} read {path} as 'nothing listening'"


@pytest.mark.parametrize(("tool", "text", "line_no"), [
    ("bsd-netstat", "Active Internet connections\ntcp4 0 0 *.22 *.* LISTEN\nbogus line here\n", 3),
    ("bsd-netstat", "tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN\n", 1),
    ("sockstat", "USER COMMAND PID FD PROTO LOCAL ADDRESS FOREIGN ADDRESS\n"
                 "root sshd 1 3 tcp4\n", 2),
    ("lsof-fields", "p123\ncsshd\n!oops\n", 3),
    ("lsof-fields", "csshd\n", 1),
    ("solaris-netstat", "TCP: IPv4\n   Local Address   Remote Address  State\n"
                        "*.22 *.* LISTEN\n", 3),
    ("windows-netstat", "  Proto  Local Address  Foreign Address  State\ntcp 0 0 x\n", 2),
    ("powershell", "[{\"LocalAddress\": \"::\", \"LocalPort\": 22,\n", 2),
])
def test_parse_error_names_the_line(tool: str, text: str, line_no: int) -> None:
    with pytest.raises(ParseError) as info:
        PARSERS[tool](text)
    assert info.value.line_no == line_no
    assert f"line {line_no}:" in str(info.value)


@pytest.mark.parametrize("tool", MINE)
@pytest.mark.parametrize("text", ["", "   \n", "random words\nmore words\n"])
def test_garbage_is_an_error(tool: str, text: str) -> None:
    # lsof -F prints nothing both when nothing matched and when it failed: empty is an
    # error there too (the probe adds `-p $$` so that a working lsof always prints).
    with pytest.raises(ParseError):
        PARSERS[tool](text)


def test_powershell_rejects_objects_that_are_not_endpoints() -> None:
    with pytest.raises(ParseError, match="no LocalAddress/LocalPort"):
        PARSERS["powershell"]('[{"Name": "svchost", "Id": 4}]')
    with pytest.raises(ParseError, match="unknown State"):
        PARSERS["powershell"]('{"LocalAddress": "::", "LocalPort": 1, "State": "Lauschen"}')


def test_fstat_names_holders_of_unconnected_sockets() -> None:
    table = owners.parse_fstat(read(FIXTURES / "openbsd" / "fstat-7.4.out"))
    assert table[("tcp", 4, "0.0.0.0", 22)] == [owners.Owner(71234, "sshd", "root")]
    assert table[("tcp", 6, "::", 22)] == [owners.Owner(71234, "sshd", "root")]
    assert table[("tcp", 6, "::1", 25)][0].process == "smtpd"
    assert table[("udp", 6, "fe80::1", 123)][0].user == "_ntp"
    assert ("tcp", 4, "10.0.2.15", 22) not in table  # connected
    assert ("udp", 4, "10.0.2.15", 31337) not in table
    with pytest.raises(ParseError):
        owners.parse_fstat("USER CMD PID\nsomething else entirely\n")


def test_rmsock_lines_name_the_holder_by_kernel_address() -> None:
    text = ("f1000e00005323b8 The socket 0xf1000e0000532008 is being held by proccess "
            "4325546 (sshd).\n"
            "f1000e0000a7c600 The socket 0xf1000e0000a7c408 is being held by process 2900 "
            "(rpcbind).\n"
            "f1000e0000c4ebb8 Wait for exiting processes to be cleaned up before removing "
            "the socket\n")
    assert owners.parse_rmsock(text) == {
        "f1000e00005323b8": owners.Owner(4325546, "sshd"),
        "f1000e0000a7c600": owners.Owner(2900, "rpcbind"),
    }


def test_tasklist_csv_with_and_without_header() -> None:
    body = read(FIXTURES / "windows" / "tasklist-csv-nh.out")
    names = windows_netstat.parse_tasklist(body)
    assert names == {1012: "svchost.exe", 4: "System", 6140: "spiced.exe",
                     2148: "Code Helper.exe"}
    header = '"Abbildname","PID","Sitzungsname","Sitz.-Nr.","Speichernutzung"\r\n'
    assert windows_netstat.parse_tasklist(header + body) == names
    with pytest.raises(ParseError):
        windows_netstat.parse_tasklist("not,csv,of,tasklist\nreally,not\n")


def test_a_table_without_states_is_refused_not_emptied_of_tcp() -> None:
    """FreeBSD's `netstat -Aax` prints buffer counters where the state goes: no TCP row can
    be told listening, so the text is refused, naming the row and what to run instead."""
    text = ("Active Internet connections (including servers)\n"
            "Tcpcb            Proto Recv-Q Send-Q Local Address      Foreign Address    "
            "R-MBUF S-MBUF R-CLUS S-CLUS   rexmt persist\n"
            "fffff80003aa1000 udp4       0      0 *.514              *.*                "
            "     0      0      0      0    0.00    0.00\n"
            "fffff80003aa2000 tcp4       0      0 *.22               *.*                "
            "     0      0      0      0    0.00    0.00\n")
    with pytest.raises(ParseError) as err:
        PARSERS["bsd-netstat"](text)
    assert err.value.line_no == 4 and "no (state) column" in str(err.value)
    assert "netstat -an" in str(err.value)
