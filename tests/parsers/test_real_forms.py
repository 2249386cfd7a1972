"""Forms found in real captures from public repositories, rewritten with our own values.

Each test names the form it reproduces: the shape is the tools' fact; the hosts,
addresses, processes and numbers are ours.
"""

from __future__ import annotations

import pytest

from fleetcheck.parsers import PARSERS, ParseError, guess

LSOF_WARNING = ("lsof: WARNING: can't stat() fuse.gvfsd-fuse file system /run/user/1001/doc\n"
                "      Output information may be incomplete.\n")


def _brief(tool: str, text: str) -> list[tuple[object, ...]]:
    return [(li.proto, li.family, li.address, li.port, li.process, li.pid)
            for li in PARSERS[tool](text)]


def test_lsof_warning_with_its_indented_second_line_is_no_row() -> None:
    """lsof's "can't stat()" warning (2>&1) goes on in an indented line, before the header
    or among the rows; neither line is refused, and `--tool auto` still sees lsof."""
    text = (LSOF_WARNING + "lsof: avoiding stat(/srv): -b was specified.\n"
            "COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n"
            "exim4    4410    0    3u  IPv4  52110      0t0  TCP 127.0.0.1:25 (LISTEN)\n"
            + LSOF_WARNING +
            "chronyd   733  110    5u  IPv6  18230      0t0  UDP [::1]:323\n"
            "exim4    4410    0    4u  IPv4  52111      0t0  TCP 10.1.2.3:25->10.1.2.9:40112"
            " (ESTABLISHED)\n")
    assert _brief("lsof", text) == [("tcp", 4, "127.0.0.1", 25, "exim4", 4410),
                                    ("udp", 6, "::1", 323, "chronyd", 733)]
    assert guess(text).tool == "lsof"
    with pytest.raises(ParseError):  # before the header, only lsof's messages are passed over
        PARSERS["lsof"]("      Output information may be incomplete.\n" + text)


def test_a_process_named_like_lsofs_messages_is_a_row() -> None:
    """Any user may name a process 'lsof:' (lsof writes a space inside a name as \\x20, so
    no other name starts a row so): its row is read, a PID after it, not passed over."""
    text = ("COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n"
            "lsof:    7001 1000    3u  IPv4  61120      0t0  TCP *:1923 (LISTEN)\n"
            + LSOF_WARNING)
    assert _brief("lsof", text) == [("tcp", 4, "0.0.0.0", 1923, "lsof:", 7001)]


def test_lsof_field_output_after_lsof_warnings() -> None:
    """`lsof -F` captured with 2>&1: the warning lines are no fields ('l' is lsof's lock
    field, whose value is one character), and the guess is lsof-fields."""
    text = LSOF_WARNING + "p4410\ncexim4\nu0\nf3\ntIPv4\nPTCP\nn127.0.0.1:25\nTST=LISTEN\n"
    assert _brief("lsof-fields", text) == [("tcp", 4, "127.0.0.1", 25, "exim4", 4410)]
    assert guess(text).tool == "lsof-fields"


def test_windows_offload_state_column_does_not_hide_the_pid() -> None:
    """`netstat -anot` prints the Offload State ('InHost') after the PID, `-ant` in its
    place; the pid is still read, and the state word is not taken for one."""
    head = ("\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address"
            "        State           PID     Offload State\r\n\r\n")
    text = head + (
        "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1180     InHost\r\n"
        "  TCP    10.20.0.7:3389         10.20.0.99:51022       ESTABLISHED     1180     InHost\r\n"
        "  TCP    [::]:5985              [::]:0                 LISTENING       4        InHost\r\n"
        "  UDP    0.0.0.0:5353           *:*                                    2044\r\n")
    assert _brief("windows-netstat", text) == [("tcp", 4, "0.0.0.0", 3389, None, 1180),
                                               ("tcp", 6, "::", 5985, None, 4),
                                               ("udp", 4, "0.0.0.0", 5353, None, 2044)]
    no_pid = "  TCP    127.0.0.1:9101         0.0.0.0:0              LISTENING       InHost\n"
    assert _brief("windows-netstat", no_pid) == [("tcp", 4, "127.0.0.1", 9101, None, None)]


# ss drops the Netid column only for one protocol: UDP and TCP rows come with it.
SS_MEM = ("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
          'udp   UNCONN 0      0      127.0.0.1:514      0.0.0.0:*     users:(("rsyslogd",pid=611,'
          "fd=7)) ino:30211 sk:3 <->\n"
          "{pad}skmem:(r0,rb425984,t0,tb425984,f0,w0,o0,bl0,d0)\n"
          "tcp   LISTEN 0      128    [::]:2222          [::]:*        users:((\"sshd\",pid=702,"
          "fd=4)) ino:30377 sk:5 v6only:1 <->\n"
          "{pad}cubic rto:1000 mss:536 cwnd:10 lastsnd:1893224 lastrcv:1893224\n")


@pytest.mark.parametrize("pad", ["\t ", "         "], ids=["tab", "spaces"])
def test_ss_detail_lines_indented_with_spaces_are_no_rows(pad: str) -> None:
    """`ss -m`/`-i` put details on an indented line under each row: a tab as ss prints
    it, or spaces where a terminal's copy turned the tab into them."""
    assert _brief("ss", SS_MEM.format(pad=pad)) == [("udp", 4, "127.0.0.1", 514, "rsyslogd", 611),
                                                    ("tcp", 6, "::", 2222, "sshd", 702)]


def test_ss_listing_indented_as_a_whole_keeps_every_row() -> None:
    """A listing indented as a whole (pasted into a note) is rows, not details."""
    rows = ("\tLISTEN 0 128 0.0.0.0:2222 0.0.0.0:*\n"
            "\tLISTEN 0 128 [::]:2222 [::]:*\n"
            "\tLISTEN 0 128 127.0.0.1:5353 0.0.0.0:*\n")  # no Netid: one protocol's rows
    assert [li.port for li in PARSERS["ss"](rows)] == [2222, 2222, 5353]


def test_headerless_ss_without_netid_is_guessed() -> None:
    """`ss -tlnH`, or ss piped to grep: the state leads each row, and auto still sees ss."""
    text = ("LISTEN 0      4096   127.0.0.53%lo:53     0.0.0.0:*    uid:101 ino:51230 sk:1 <->\n"
            "LISTEN 0      511    *:8443               *:*          ino:51302 sk:4 v6only:0 <->\n")
    assert guess(text).tool == "ss"
    assert _brief("ss", text) == [("tcp", 4, "127.0.0.53", 53, None, None),
                                  ("tcp", 6, "::", 8443, None, None)]


def test_powershell_objects_cut_to_address_port_and_pid_are_not_taken_for_udp() -> None:
    """`Get-NetTCPConnection -State Listen | Select-Object LocalAddress, LocalPort,
    OwningProcess | ConvertTo-Json` drops every TCP-only property: the objects may be TCP
    or UDP, so they are refused, not listed as UDP. State or the CIM class decides."""
    cut = ('[{"LocalAddress": "0.0.0.0", "LocalPort": 3389, "OwningProcess": 1180},\n'
           ' {"LocalAddress": "::", "LocalPort": 3389, "OwningProcess": 1180}]\n')
    with pytest.raises(ParseError, match="cannot tell a TCP connection from a UDP endpoint"):
        PARSERS["powershell"](cut)
    udp = ('{"LocalAddress": "::", "LocalPort": 5355, "OwningProcess": 2044,'
           ' "CimClass": "ROOT/StandardCimv2:MSFT_NetUDPEndpoint"}')
    assert _brief("powershell", udp) == [("udp", 6, "::", 5355, None, 2044)]
    named = cut.replace('"OwningProcess": 1180}', '"OwningProcess": 1180, "State": 2}')
    assert _brief("powershell", named) == [("tcp", 4, "0.0.0.0", 3389, None, 1180),
                                           ("tcp", 6, "::", 3389, None, 1180)]


FREEBSD_T = ("Active Internet connections (including servers)\n"
             "Proto Rexmit OOORcv 0-win  Local Address          Foreign Address\n"
             "tcp4       0      0      0 10.9.8.7.22            10.9.8.1.51514\n"
             "tcp6       0      0      0 *.22                   *.*\n"
             "udp4                       *.514                  *.*\n")


def test_freebsd_netstat_T_is_bsd_and_refused_for_its_missing_state() -> None:
    """FreeBSD `netstat -aT` prints retransmit counters where the queues were and no
    state: auto names it BSD (tcp4 is no Linux word), and the parser refuses it saying why
    (its UDP rows, with blank counters, were 'not a BSD netstat line')."""
    assert guess(FREEBSD_T).tool == "bsd-netstat"
    for text in (FREEBSD_T, FREEBSD_T.replace("tcp6", "udp6").replace("tcp4", "udp4")):
        with pytest.raises(ParseError, match=r"no \(state\) column \(as with -x or -T\)"):
            PARSERS["bsd-netstat"](text)


def test_ss_with_a_state_filter_and_one_protocol_is_refused_not_empty() -> None:
    """`ss -tlnp state listening` (or `ss -tn state established`) prints neither Netid nor
    State: nothing tells what each row is, so the output is refused (it gave no listener).
    With two protocols the Netid column is back and the rows are read."""
    one = ("Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
           '0      128          0.0.0.0:2222      0.0.0.0:*    users:(("sshd",pid=702,fd=3))\n')
    with pytest.raises(ParseError, match="no Netid and no State column"):
        PARSERS["ss"](one)
    two = ("Netid Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
           'tcp   0      128    0.0.0.0:2222 0.0.0.0:*    users:(("sshd",pid=702,fd=3))\n'
           "udp   0      0            0.0.0.0:5353      0.0.0.0:*\n")
    assert _brief("ss", two) == [("tcp", 4, "0.0.0.0", 2222, "sshd", 702),
                                 ("udp", 4, "0.0.0.0", 5353, None, None)]


@pytest.mark.parametrize(("tool", "text"), [
    ("ss", "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port\r\n"
           "tcp   LISTEN 0      128    0.0.0.0:2222       0.0.0.0:*\r\n"),
    ("netstat", "Active Internet connections (only servers)\r\nProto Recv-Q Send-Q Local Address"
                "           Foreign Address         State\r\ntcp        0      0 0.0.0.0:2222"
                "            0.0.0.0:*               LISTEN\r\n"),
    ("lsof", "COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\r\n"
             "sshd    702 root 3u IPv4 30377 0t0 TCP *:2222 (LISTEN)\r\n"),
    ("sockstat", "USER     COMMAND    PID   FD PROTO  LOCAL ADDRESS         FOREIGN ADDRESS\r\n"
                 "root     sshd       702   3  tcp4   *:2222                *:*\r\n"),
    ("bsd-netstat", "Active Internet connections (including servers)\r\nProto Recv-Q Send-Q  "
                    "Local Address          Foreign Address        (state)\r\ntcp4       0      0"
                    "  *.2222                 *.*                    LISTEN\r\n"),
])
def test_a_byte_order_mark_before_the_first_line_is_no_part_of_it(tool: str, text: str) -> None:
    """A capture saved with a UTF-8 BOM (a Windows editor, PowerShell's Out-File): auto
    stripped it and named the tool, whose parser then refused the first line."""
    marked = "\ufeff" + text
    assert guess(marked).tool == tool
    assert [(li.proto, li.port) for li in PARSERS[tool](marked)] == [("tcp", 2222)]


LINUX_SOCKSTAT = (
    "USER     PROCESS              PID      PROTO  SOURCE ADDRESS            FOREIGN ADDRESS"
    "           STATE\n"
    "root     sshd                 702      tcp4   *:2222                    *:*"
    "                       LISTEN\n"
    "www-data nginx                1310     tcp6   :::8443                   :::*"
    "                      LISTEN\n"
    "root     sshd                 702      tcp4   10.1.2.3:2222             10.1.2.9:40112"
    "            ESTABLISHED\n"
    "avahi    avahi-daemon         611      udp4   *:5353                    *:*"
    "                       CLOSED\n"
    "_chrony  chronyd              733      udp6   ::1:323                   :::*"
    "                      CLOSED\n"
    "root     unbound              820      udp4   127.0.0.1:40000           127.0.0.1:53"
    "              ESTABLISHED\n"
    "root     unbound              820      raw    *:1                       *:*"
    "                       CLOSED\n"
    "root     unbound              820      unix   /run/unbound ctl.sock\n")


def test_linux_sockstat_is_read_and_its_l_and_c_outputs_refused() -> None:
    """Linux's sockstat (USER PROCESS PID PROTO ...: no FD column, a state column, CLOSED
    for a bound UDP socket) was guessed as BSD netstat and refused as no sockstat line.
    It is read (raw rows, and -u's unix rows, are passed over); an output of listening TCP
    rows alone (-l, which leaves UDP out) and one of connections alone (-c) are refused,
    never read as all that listens."""
    assert guess(LINUX_SOCKSTAT).tool == "sockstat"
    assert _brief("sockstat", LINUX_SOCKSTAT) == [
        ("tcp", 4, "0.0.0.0", 2222, "sshd", 702), ("tcp", 6, "::", 8443, "nginx", 1310),
        ("udp", 4, "0.0.0.0", 5353, "avahi-daemon", 611), ("udp", 6, "::1", 323, "chronyd", 733)]
    assert [li.user for li in PARSERS["sockstat"](LINUX_SOCKSTAT)][:2] == ["root", "www-data"]
    rows = LINUX_SOCKSTAT.splitlines(keepends=True)
    with pytest.raises(ParseError, match="line 2: every row is a listening TCP socket"):
        PARSERS["sockstat"]("".join(rows[:3]))
    with pytest.raises(ParseError, match="line 2: lists only connections"):
        PARSERS["sockstat"]("".join([rows[0], rows[3], rows[6], rows[8]]))


def test_ss_selinux_contexts_in_holders_keep_the_owner() -> None:
    """`ss -tulpnZ` prints each holder as ("name",pid=1,proc_ctx=CTX,fd=3), `-z` adds
    sock_ctx=CTX after the fd, and an MLS context holds commas ('s0:c12,c345'): every such
    holder was 'cannot be read' and its listener lost its process."""
    text = ("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
            "tcp   LISTEN 0      128    0.0.0.0:2222      0.0.0.0:*    users:((\"sshd\",pid=702,"
            "proc_ctx=system_u:system_r:sshd_t:s0-s0:c0.c1023,fd=3))\n"
            "tcp   LISTEN 0      511    0.0.0.0:8080      0.0.0.0:*    users:((\"nginx\",pid=1310,"
            "proc_ctx=system_u:system_r:container_t:s0:c12,c345,fd=6),(\"nginx\",pid=1311,"
            "proc_ctx=system_u:system_r:container_t:s0:c12,c345,fd=6))\n"
            "udp   UNCONN 0      0      127.0.0.1:323     0.0.0.0:*    users:((\"chronyd\",pid=733,"
            "tid=733,proc_ctx=unavailable,fd=5,sock_ctx=unavailable))\n")
    listeners = PARSERS["ss"](text)
    assert _brief("ss", text) == [("tcp", 4, "0.0.0.0", 2222, "sshd", 702),
                                  ("tcp", 4, "0.0.0.0", 8080, "nginx", 1310),
                                  ("udp", 4, "127.0.0.1", 323, "chronyd", 733)]
    assert listeners[1].other_processes == ("nginx/1311",)
    assert not any(li.owner_note for li in listeners)


def test_ss_tan_bound_tcp_sockets_are_no_udp_listeners() -> None:
    """iproute2 6.9 and later list, with -a, TCP sockets bound but neither listening nor
    connected, as UNCONN: in `ss -tan` (one protocol, so no Netid) such a row read as a
    UDP listener. A table with a state only TCP has is TCP's; a UDP table still reads."""
    tcp = ("State  Recv-Q Send-Q Local Address:Port  Peer Address:Port\n"
           "LISTEN 0      128          0.0.0.0:2222       0.0.0.0:*\n"
           "UNCONN 0      0          10.1.2.3:7444       0.0.0.0:*\n"
           "ESTAB  0      0          10.1.2.3:2222      10.1.2.9:40112\n"
           "LISTEN 0      511                *:8443             *:*\n")
    assert _brief("ss", tcp) == [("tcp", 4, "0.0.0.0", 2222, None, None),
                                 ("tcp", 6, "::", 8443, None, None)]
    waiting = tcp.replace("LISTEN", "TIME-WAIT")
    assert _brief("ss", waiting) == []
    udp = ("State  Recv-Q Send-Q Local Address:Port  Peer Address:Port\n"
           "UNCONN 0      0          10.1.2.3:5353       0.0.0.0:*\n"
           "ESTAB  0      0          10.1.2.3:40000     10.1.2.9:53\n")
    assert _brief("ss", udp) == [("udp", 4, "10.1.2.3", 5353, None, None)]


def test_ss_messages_captured_with_stderr_are_no_rows() -> None:
    """sosreport's `ss -peaonmi` keeps stderr: on a host without cgroup v2, -e writes
    'Failed to find cgroup2 mount' for each socket, and a family the kernel lacks gives
    'RTNETLINK answers: ...'. The output was refused as no ss (and no tool at all)."""
    cgroup = "Failed to find cgroup2 mount\n"
    text = (cgroup * 3 + "RTNETLINK answers: Invalid argument\n"
            "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
            "nl    UNCONN 0      0                 0:0               *      sk=0 cb=0\n"
            "udp   UNCONN 0      0      10.1.2.3:5353      0.0.0.0:*    users:((\"avahi-daemon\","
            "pid=611,fd=12)) ino:40211 sk:3 cgroup:unreachable:1 <->\n"
            "\t skmem:(r0,rb212992,t0,tb212992,f0,w0,o0,bl0,d0)\n" + cgroup +
            "tcp   LISTEN 0      128    0.0.0.0:2222       0.0.0.0:*    users:((\"sshd\",pid=702,"
            "fd=3)) ino:40212 sk:4 cgroup:unreachable:1 <->\n"
            "\t skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0) cubic cwnd:10\n")
    assert guess(text).tool == "ss"
    assert _brief("ss", text) == [("udp", 4, "10.1.2.3", 5353, "avahi-daemon", 611),
                                  ("tcp", 4, "0.0.0.0", 2222, "sshd", 702)]
    with pytest.raises(ParseError, match="unknown Netid 'Failed'"):
        PARSERS["ss"]("Failed to find a thing\n" + text)  # only ss's own words are passed
