"""Forms of other systems' outputs seen in public captures, rewritten with our own values.

The fixtures (tests/fixtures/<os>/) hold whole outputs of these forms with their
listeners; these tests pin what the fixtures cannot: the refusals and the edges.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetcheck.parsers import PARSERS, ParseError, guess
from tests.conftest import run_cli
from tests.parsers_os.cases import FIXTURES, read

UDP_TABLE = ("LocalAddress                             LocalPort\n"
             "------------                             ---------\n"
             "::                                       5355\n"
             "0.0.0.0                                  5353\n")


def _brief(tool: str, text: str) -> list[tuple[object, ...]]:
    return [(li.proto, li.family, li.address, li.port, li.pid, li.truncated)
            for li in PARSERS[tool](text)]


def test_a_table_of_address_and_port_alone_is_refused_unless_its_prompt_names_the_cmdlet() -> None:
    """Get-NetUDPEndpoint's default table and a Select-Object cut of Get-NetTCPConnection
    look alike: refused, unless the captured prompt says which cmdlet printed it."""
    assert guess(UDP_TABLE).tool == "powershell"
    with pytest.raises(ParseError, match="cannot tell a TCP connection from a UDP endpoint"):
        PARSERS["powershell"](UDP_TABLE)
    udp = "PS C:\\> Get-NetUDPEndpoint\n\n" + UDP_TABLE
    assert _brief("powershell", udp) == [("udp", 6, "::", 5355, None, False),
                                         ("udp", 4, "0.0.0.0", 5353, None, False)]
    tcp = "PS C:\\> Get-NetTCPConnection -State Listen | Select LocalAddress,LocalPort\n\n"
    with pytest.raises(ParseError, match="State None is not a TCP state"):
        PARSERS["powershell"](tcp + UDP_TABLE)


def test_a_table_cut_where_no_cut_can_be_trusted_is_refused() -> None:
    """An address PowerShell cut is marked truncated; a cut pid is refused, never read
    as the digits left of it."""
    head = ("LocalAddress LocalPort RemoteAddress RemotePort State  OwningProcess\n"
            "------------ --------- ------------- ---------- -----  -------------\n")
    cut_pid = head + "0.0.0.0      3389      0.0.0.0       0          Listen 11...\n"
    with pytest.raises(ParseError, match="OwningProcess cut to fit the console"):
        PARSERS["powershell"](cut_pid)
    cut_addr = head + "fe80::5c1... 3389      ::            0          Listen 1180\n"
    assert _brief("powershell", cut_addr) == [("tcp", 6, "fe80::5c1", 3389, 1180, True)]


def test_a_row_out_of_line_with_its_header_is_an_error_naming_the_line() -> None:
    """A table whose rows lost their alignment (tabs, a reflowed paste) is not read by
    guesswork: the row is named."""
    text = ("LocalAddress LocalPort RemoteAddress RemotePort State\n"
            "------------ --------- ------------- ---------- -----\n"
            "0.0.0.0 3389 0.0.0.0 0 Listen\n")
    with pytest.raises(ParseError, match="line 3: table row not aligned"):
        PARSERS["powershell"](text)


def test_terminal_colours_around_powershell_7_headers_are_no_part_of_them() -> None:
    """PowerShell 7.2+ writes its table header in colour to a terminal."""
    table = read(FIXTURES / "windows" / "get-nettcpconnection-table.out")
    head, rule, *rows = table.split("\r\n")[1:]
    coloured = "\x1b[32;1m" + head.replace("   ", "\x1b[0m   \x1b[32;1m", 1) + "\x1b[0m"
    text = "\n".join([coloured, rule, *rows])
    assert guess(text).tool == "powershell"
    assert _brief("powershell", text) == _brief("powershell", table)


def test_windows_q_with_an_unknown_language_is_refused_not_read_as_all_listening() -> None:
    """-q's BOUND in a language this parser does not know, beside a listening word it
    does not know either: which rows listen cannot be told, so the output is refused;
    one word alone (no -q) is listening, whatever the language."""
    rows = ("  TCP    0.0.0.0:135            0.0.0.0:0              NASLUCHUJE      1012\n"
            "  TCP    0.0.0.0:49702          0.0.0.0:0              POWIAZANY       3388\n")
    with pytest.raises(ParseError, match="several state words"):
        PARSERS["windows-netstat"](rows)
    assert [li.port for li in PARSERS["windows-netstat"](rows.splitlines()[0])] == [135]
    known = rows.replace("NASLUCHUJE", "LISTENING ")
    assert [li.port for li in PARSERS["windows-netstat"](known)] == [135]


def test_sockstat_columns_after_the_addresses_are_passed_over() -> None:
    """FreeBSD's -f (FIB), -i (ID), -s (states), -S (STACK) and -C (CC) print columns
    after the foreign address, some only for TCP rows: they were 'expected 2 address
    columns'. The TCP state is read among them wherever it stands."""
    text = ("USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS"
            "       FIB    ID       PATH STATE   CONN STATE   STACK    CC\n"
            "root     sshd        1017 4   tcp6   *:22                  *:*"
            "                   0      4103                  LISTEN       freebsd  cubic\n"
            "root     sshd        2210 6   tcp4   10.0.2.15:22          10.0.2.2:52301"
            "        0      5120                  ESTABLISHED  freebsd  cubic\n"
            "ntpd     ntpd         901 21  udp4   *:123                 *:*"
            "                   0      4011\n"
            "root     sshd        1017 5   tcp4   192.168.100.200:22222*:*"
            "                   0      4104                  LISTEN       rack     newreno\n")
    assert [(li.proto, li.address, li.port, li.pid) for li in PARSERS["sockstat"](text)] == [
        ("tcp", "::", 22, 1017), ("udp", "0.0.0.0", 123, 901),
        ("tcp", "192.168.100.200", 22222, 1017)]


@pytest.mark.parametrize(("name", "encoding", "bom"), [
    ("windows/netstat-anoq-de", "utf-16-le", b"\xff\xfe"),  # netstat -anoq > out.txt
    ("windows/get-nettcpconnection-table", "utf-16-le", b"\xff\xfe"),  # Out-File
    ("windows/netstat-anoq-de", "utf-16-le", b""),  # UTF-16LE with no mark
    ("windows/get-nettcpconnection-list", "utf-16-be", b"\xfe\xff"),
    ("windows/get-netudpendpoint-table", "utf-8", b"\xef\xbb\xbf"),  # -Encoding utf8BOM
], ids=["netstat-bom", "table-bom", "netstat-no-bom", "list-be", "utf8-bom"])
def test_a_capture_windows_powershell_wrote_as_utf_16_is_read(
        name: str, encoding: str, bom: bytes, tmp_path: Path) -> None:
    """Windows PowerShell 5.1 saves `>` and Out-File as UTF-16LE: `parse` reads the file
    as the text it holds, named by --tool auto, with the fixture's listeners."""
    source = FIXTURES / f"{name}.out"
    capture = tmp_path / "capture.txt"
    capture.write_bytes(bom + read(source).encode(encoding))
    res = run_cli(["parse", "--tool", "auto", str(capture)], cwd=tmp_path)
    assert res.code == 0, res.err
    expected = json.loads(source.with_suffix(".json").read_text())
    assert json.loads(res.out) == expected["listeners"]
    assert f"guessed --tool {expected['parser']}" in res.err


def test_netstat_L_rows_are_tcp_listeners_and_a_stray_line_is_an_error() -> None:
    """netstat -L (FreeBSD with a Proto column and -A's socket column, macOS without
    either) was refused as having no 'Active Internet connections' section."""
    freebsd_a = ("Current listen queue sizes (qlen/incqlen/maxqlen)\n"
                 "Socket   Proto Listen         Local Address\n"
                 "fffff80012345678 tcp4  0/0/128        *.22\n")
    assert [(li.address, li.port) for li in PARSERS["bsd-netstat"](freebsd_a)] == [
        ("0.0.0.0", 22)]
    broken = "Current listen queue sizes (qlen/incqlen/maxqlen)\nListen Local Address\n*.22\n"
    with pytest.raises(ParseError, match="line 3: not a netstat -L line"):
        PARSERS["bsd-netstat"](broken)


def test_windows_netstat_without_a_is_refused_not_read_as_nothing_listening() -> None:
    """Plain `netstat` (or -n, -no) lists established connections only: no listening
    and no UDP socket. It read as 'nothing listens'; it is refused, as ss without -l is."""
    text = ("\r\nActive Connections\r\n\r\n"
            "  Proto  Local Address          Foreign Address        State\r\n"
            "  TCP    127.0.0.1:1031         gw01:1032              ESTABLISHED\r\n"
            "  TCP    10.20.0.7:49702        web-cache:https        ESTABLISHED\r\n")
    with pytest.raises(ParseError, match=r"line 5: lists only connections.*without -a"):
        PARSERS["windows-netstat"](text)
    bound = text + "  TCP    0.0.0.0:49703          gw01:0                 BOUND\r\n"
    assert PARSERS["windows-netstat"](bound) == []  # -aq: unconnected rows, none listening


@pytest.mark.parametrize("text", [
    "LocalAddress   LocalPort RemoteAddress  RemotePort State       OwningProcess\n"
    "------------   --------- -------------  ---------- -----       -------------\n"
    "10.20.0.7      49702     10.20.0.40     443        Established 3388\n"
    "10.20.0.7      49711     10.20.0.41     443        TimeWait    0\n",
    '[{"LocalAddress": "10.20.0.7", "LocalPort": 49702, "RemoteAddress": "10.20.0.40",'
    ' "RemotePort": 443, "State": 5, "OwningProcess": 3388}]',
], ids=["table", "json"])
def test_powershell_connections_only_are_refused(text: str) -> None:
    """`Get-NetTCPConnection -State Established` shows no listener by its filter: refused,
    like netstat without -a; a Bound socket alone still reads as nothing listening."""
    with pytest.raises(ParseError, match="lists only TCP connections"):
        PARSERS["powershell"](text)
    bound = text.replace("Established", "Bound      ").replace('"State": 5', '"State": 100')
    assert PARSERS["powershell"](bound) == []


TOYBOX_NAMES = ("Active Internet connections (only servers)\n"
                "Proto Recv-Q Send-Q Local Address           Foreign Address         State      \n"
                "tcp        0      0 localhost:ipp           0.0.0.0:*               LISTEN     \n"
                "tcp        0      0 localhost:ipp:5000      0.0.0.0:*               LISTEN     \n"
                "tcp6       0      0 [::]:9100               [::]:*                  LISTEN     \n"
                "tcp6       0      0 [::]:9100:6010          [::]:*                  LISTEN     \n")


def test_toybox_netstat_without_n_is_refused_not_read_as_other_addresses() -> None:
    """toybox netstat (Android 6 and later) without -n prints, for an address it cannot
    name, the previous row's 'host:port' with the row's own port after it: that row read
    as an IPv6 listener on 'localhost:ipp'. It is refused, naming the line; names, and
    an address cut to the column, still read."""
    with pytest.raises(ParseError, match=r"line 4: .*'localhost:ipp:5000' holds no address"):
        PARSERS["netstat"](TOYBOX_NAMES)
    with pytest.raises(ParseError, match=r"line 4: .*'localhost:ipp:5000' holds no address"):
        PARSERS["busybox-netstat"](TOYBOX_NAMES)  # the same rows, whichever netstat read them
    after_number = TOYBOX_NAMES.replace("localhost:ipp:5000 ", "127.0.0.1:8080:5000 ")
    with pytest.raises(ParseError, match=r"'127.0.0.1:8080:5000' holds no address"):
        PARSERS["netstat"](after_number)  # hex digits, dots and colons, but not cut
    ipv6 = "\n".join(TOYBOX_NAMES.splitlines()[:2] + TOYBOX_NAMES.splitlines()[4:])
    with pytest.raises(ParseError, match=r"line 4: .*'\[::\]:9100:6010' holds no address"):
        PARSERS["netstat"](ipv6)
    named = "\n".join(TOYBOX_NAMES.splitlines()[:3] + TOYBOX_NAMES.splitlines()[4:5])
    assert [(li.family, li.address, li.port) for li in PARSERS["netstat"](named)] == [
        (4, "localhost", 631), (6, "::", 9100)]
    cut = TOYBOX_NAMES.splitlines()[1] + f"\ntcp6       0      0 {'2001:db8:4a1:2:0:f:9100':23} ::"
    assert [(li.address, li.port, li.truncated) for li in PARSERS["netstat"](cut + ":*  LISTEN")] \
        == [("2001:db8:4a1:2:0:f", 9100, True)]


@pytest.mark.parametrize(("tool", "text"), [
    ("ss", "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
           "tcp   LISTEN 0      128    {addr}:5000   0.0.0.0:*\n"),
    ("lsof", "COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\n"
             "sshd    702 root 3u IPv4 30377 0t0 TCP {addr}:5000 (LISTEN)\n"),
    ("lsof-fields", "p702\ncsshd\nf3\ntIPv4\nPTCP\nn{addr}:5000\nTST=LISTEN\n"),
    ("sockstat", "USER     COMMAND    PID   FD PROTO  LOCAL ADDRESS         FOREIGN ADDRESS\n"
                 "root     sshd       702   3  tcp4   {addr}:5000    *:*\n"),
    ("windows-netstat", "  TCP    {addr}:5000     0.0.0.0:0              LISTENING       1180\n"),
    ("bsd-netstat", "Active Internet connections (including servers)\n"
                    "Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)\n"
                    "tcp4       0      0  {addr}.5000    *.*                    LISTEN\n"),
])
@pytest.mark.parametrize("addr", ["localhost:ipp", "[::]:9100"])
def test_an_address_no_tool_prints_is_refused_by_every_parser(
        tool: str, text: str, addr: str) -> None:
    """The toybox form's siblings: a local address holding a ':' that is no IPv6 address
    (or a bracketed address with more after it) was read as the host 'localhost:ipp' or
    '::]:9100' by each parser; it is refused. Bracketed and whole addresses still read."""
    with pytest.raises(ParseError, match=r"is no address and no host name|unknown service"):
        PARSERS[tool](text.format(addr=addr))
    assert [li.port for li in PARSERS[tool](text.format(addr="[fe80::1%eth0]"
                                                        if tool != "bsd-netstat" else "::1"))] \
        == [5000]


def test_headerless_sockstat_rows_are_guessed_as_sockstat() -> None:
    """`sockstat -46lq` (FreeBSD's -q drops the header), or sockstat piped to grep, was
    guessed as BSD netstat (tcp4 is a BSD word) and refused as 'not a BSD netstat line'.
    Linux sockstat's rows, which look like BSD rows whose user overflowed, are not."""
    rows = ("root     sshd         812 4   tcp6   *:2222                *:*\n"
            "www      nginx       1041 7   tcp4 6 *:8443               *:*\n"
            "ntpd     ntpd         901 21  udp4   10.9.8.7:123          *:*\n")
    assert guess(rows).tool == "sockstat"
    assert [(li.address, li.port, li.pid) for li in PARSERS["sockstat"](rows)] == [
        ("::", 2222, 812), ("::", 8443, 1041), ("10.9.8.7", 123, 901)]
    linux = "root     sshd                 702      tcp4   *:2222      *:*         LISTEN\n"
    assert guess(linux).tool != "sockstat"  # and that tool then refuses it
    with pytest.raises(ParseError):
        PARSERS[guess(linux).tool](linux)


def _toybox_lsof(rows: list[tuple[str, int, str, str, str, str, str]]) -> str:
    """Rows as toybox lsof (Android's) prints them: its printf widths, no DEVICE for a
    socket, 'TCP local->peer (STATE)' or 'UDP local->peer' as the NAME."""
    head = (f"{'COMMAND':<9} {'PID':>5} {'USER':>10.10} {'FD':>4}   {'TYPE':>7} "
            f"{'DEVICE':>18} {'SIZE/OFF':>9} {'NODE':>10} NAME")
    return "\n".join([head] + [
        f"{cmd:<9} {pid:>5} {user:>10.10} {fd:>4}u  {kind:>7} {'':>18} {'0t0':>9} {node:>10} {name}"
        for cmd, pid, user, fd, kind, node, name in rows]) + "\n"


def test_toybox_lsof_names_a_peer_for_every_socket_and_its_listeners_are_read() -> None:
    """toybox lsof (Android 6 and later) prints '->0.0.0.0:0' ('->[::]:0') after the
    local address of a socket with no peer: every such row was taken for a connection,
    so the output read as 'nothing listens'. A zero peer is no peer."""
    text = _toybox_lsof([
        ("adbd", 612, "root", "3", "IPv4", "31001", "TCP 0.0.0.0:5037->0.0.0.0:0 (LISTEN)"),
        ("adbd", 612, "root", "4", "IPv6", "31002", "TCP [::]:5555->[::]:0 (LISTEN)"),
        ("adbd", 612, "root", "5", "IPv4", "31003",
         "TCP 127.0.0.1:5037->127.0.0.1:40112 (ESTABLISHED)"),
        ("mdnsd", 901, "mdnsr", "6", "IPv4", "31004", "UDP 0.0.0.0:5353->0.0.0.0:0"),
        ("netd", 380, "root", "7", "IPv4", "31005", "UDP 10.1.2.3:40000->10.1.2.9:53"),
        ("ping", 2001, "shell", "3", "IPv4", "31006", "RAW 0.0.0.0:1->0.0.0.0:0")])
    assert guess(text).tool == "lsof"
    assert [(li.proto, li.family, li.address, li.port, li.pid)
            for li in PARSERS["lsof"](text)] == [
        ("tcp", 4, "0.0.0.0", 5037, 612), ("tcp", 6, "::", 5555, 612),
        ("udp", 4, "0.0.0.0", 5353, 901)]
