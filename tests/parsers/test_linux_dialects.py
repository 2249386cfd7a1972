"""Dialect corners the captures cannot show here, written from the tools' documented formats."""

from __future__ import annotations

import pytest

from fleetcheck.collect.procnet import merge_proc_sections
from fleetcheck.collect.sections import Section
from fleetcheck.model import Listener
from fleetcheck.parsers import PARSERS, ParseError

SS_HEAD = "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
NETSTAT_HEAD = ("Active Internet connections (only servers)\n"
                "Proto Recv-Q Send-Q Local Address           Foreign Address         State"
                "       PID/Program name\n")
LSOF_HEAD = "COMMAND     PID   USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n"


def one(tool: str, text: str) -> Listener:
    found = PARSERS[tool](text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("rows", "address", "family", "dual"), [
    # Modern ss: IPv4 any is 0.0.0.0, so a lone '*' is an IPv6 socket taking IPv4 too.
    ("tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\ntcp LISTEN 0 128 *:80 *:*\n", "::", 6, True),
    # Old ss: an IPv4 socket's peer is '*:*', so '*' is IPv4 any.
    ("tcp LISTEN 0 128 127.0.0.1:25 *:*\ntcp LISTEN 0 128 *:80 *:*\n", "0.0.0.0", 4, False),
    # Old ss, nothing but the listeners: '*:80' beside '[::]:80' is IPv4 any beside IPv6 any
    # (CentOS 7's `ss -tnl` of an nginx and an sshd).
    ("tcp LISTEN 0 128 [::]:80 [::]:*\ntcp LISTEN 0 128 *:80 *:*\n", "0.0.0.0", 4, False),
    ("tcp LISTEN 0 128 *:22 *:*\ntcp LISTEN 0 128 [::]:22 [::]:*\ntcp LISTEN 0 128 *:80 *:*\n",
     "0.0.0.0", 4, False),
    # Oldest ss: IPv6 without brackets.
    ("tcp LISTEN 0 128 :::22 :::*\ntcp LISTEN 0 128 *:80 *:*\n", "0.0.0.0", 4, False),
    # -e settles it per row: v6only: is printed for IPv6 sockets only.
    ("tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\ntcp LISTEN 0 128 *:80 *:* ino:1 sk:2\n",
     "0.0.0.0", 4, False),
    ("tcp LISTEN 0 128 *:80 *:* ino:1 sk:2 v6only:0\n", "::", 6, True),
    ("tcp LISTEN 0 128 :::80 :::* ino:1 sk:2 v6only:0\n", "::", 6, True),
    ("tcp LISTEN 0 128 [::]:80 [::]:* ino:1 sk:2 v6only:1\n", "::", 6, False),
])
def test_ss_star_means_what_the_version_means(rows: str, address: str, family: int,
                                              dual: bool) -> None:
    last = PARSERS["ss"](SS_HEAD + rows)[-1]
    assert (last.address, last.family, last.dual_stack, last.port) == (address, family, dual, 80)


def test_ss_users_with_odd_names_and_old_form() -> None:
    li = one("ss", SS_HEAD + 'tcp LISTEN 0 5 0.0.0.0:8443 0.0.0.0:* users:(("live config/x"'
                             ',pid=7,fd=3),("a\\"b",pid=8,fd=3))\n')
    assert (li.process, li.pid, li.other_processes) == ("live config/x", 7, ('a\\"b/8',))
    old = one("ss", SS_HEAD + 'tcp 0 128 *:25 *:* users:(("sendmail",3965,4))\n')
    assert (old.address, old.process, old.pid) == ("0.0.0.0", "sendmail", 3965)


def test_ss_header_only_is_empty_and_header_less_rows_parse() -> None:
    assert PARSERS["ss"](SS_HEAD) == []
    li = one("ss", "LISTEN 0 128 [::1]:631 [::]:*\nESTAB 0 0 10.0.0.1:22 10.0.0.2:5000\n")
    assert (li.proto, li.address, li.port) == ("tcp", "::1", 631)
    with pytest.raises(ParseError) as err:
        PARSERS["ss"]("")
    assert "no ss header" in str(err.value)


def test_ss_connected_and_unbound_udp_are_not_listeners() -> None:
    text = SS_HEAD + ("udp ESTAB 0 0 10.0.0.1:5000 10.0.0.2:53\n"
                      "udp UNCONN 0 0 0.0.0.0:* 0.0.0.0:*\n"
                      "udp UNCONN 0 0 127.0.0.1:323 0.0.0.0:*\n")
    assert [(li.proto, li.port) for li in PARSERS["ss"](text)] == [("udp", 323)]


def test_netstat_piped_through_grep_has_no_header() -> None:
    rows = ("tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      "
            "0          21699      1/sshd: /usr/sbin\n"
            "tcp6       0      0 :::80                   :::*                    LISTEN      "
            "33         2170       -\n")
    found = PARSERS["netstat"](rows)
    assert [(li.address, li.port, li.user, li.pid, li.process) for li in found] == [
        ("0.0.0.0", 22, "0", 1, "sshd: /usr/sbin"), ("::", 80, "33", None, None)]


def test_netstat_notes_of_a_non_root_run_and_old_star_names() -> None:
    text = ("(Not all processes could be identified, non-owned process info\n"
            " will not be shown, you would have to be root to see it all.)\n" + NETSTAT_HEAD +
            "tcp        0      0 *:ssh                   *:*                     LISTEN      -\n"
            "tcp6       0      0 *:ssh                   *:*                     LISTEN      -\n")
    found = PARSERS["netstat"](text)
    assert [(li.family, li.address, li.port, li.port_name) for li in found] == [
        (4, "0.0.0.0", 22, "ssh"), (6, "::", 22, "ssh")]
    assert PARSERS["netstat"](NETSTAT_HEAD) == []


def test_netstat_udp_with_a_peer_is_connected() -> None:
    text = NETSTAT_HEAD + ("udp        0      0 10.0.0.1:5000           10.0.0.2:53"
                           "                         9/dig\n")
    assert PARSERS["netstat"](text) == []


def test_busybox_cuts_nothing_but_old_builds_did() -> None:
    whole = one("busybox-netstat", NETSTAT_HEAD + "tcp        0      0 fd00:1234:5678::10:8088"
                                                  " :::*                    LISTEN      7/x\n")
    assert (whole.address, whole.truncated) == ("fd00:1234:5678::10", False)
    cut = one("busybox-netstat", NETSTAT_HEAD + "tcp        0      0 2001:db8:aaaa:bbbb::443"
                                                " :::*                    LISTEN      7/x\n")
    assert (cut.address, cut.truncated) == ("2001:db8:aaaa:bbbb:", True)


def test_lsof_warnings_escapes_threads_and_unbound_sockets() -> None:
    text = ("lsof: WARNING: can't stat() fuse.gvfsd-fuse file system /run/user/1000/gvfs\n"
            "COMMAND     PID   TID TASKCMD   USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n"
            "web\\x20d  10           root    3u  IPv6  7      0t0  TCP *:8080 (LISTEN)\n"
            "web\\x20d  10    11 worker     root    3u  IPv6  7      0t0  TCP *:8080 (LISTEN)\n"
            "dig       12           root    3u  IPv4  8      0t0  UDP *:* \n"
            "tcpd      13           root    4u  IPv4  9      0t0  TCP 10.0.0.1:22->10.0.0.2:9 "
            "(ESTABLISHED)\n")
    li = one("lsof", text)
    assert (li.process, li.pid, li.family, li.address, li.port) == ("web d", 10, 6, "::", 8080)
    with pytest.raises(ParseError):
        PARSERS["lsof"]("lsof: WARNING: only warnings\n")
    assert PARSERS["lsof"](LSOF_HEAD) == []


def test_proc_tables_concatenated_and_connected_udp() -> None:
    tcp = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"
           "  timeout inode\n"
           "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
           "        0 100 1 0 100 0 0 10 0\n")
    udp = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"
           "  timeout inode ref pointer drops\n"
           "  10: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101"
           "        0 200 2 0 0\n"
           "  11: 0100007F:9C40 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0"
           "        0 300 2 0 0\n")
    found = PARSERS["proc-net"](tcp + udp)
    assert [(li.proto, li.address, li.port, li.uid, li.inode) for li in found] == [
        ("tcp", "0.0.0.0", 22, 0, 100), ("udp", "127.0.0.1", 53, 101, 200)]


def _stat(pid: int, name: str, state: str = "S") -> str:
    """A /proc/PID/stat line as the kernel prints it (52 fields)."""
    return f"{pid} ({name}) {state} 1 {pid} {pid} 0 -1 " + " ".join(["0"] * 45) + "\n"


PROC_TABLE = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"
              "  timeout inode\n"
              "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
              "        0 100 1 0 100 0 0 10 0\n")
PROC_OWNERS = ("dr-xr-xr-x 9 root root 0 Nov 26 14:36 /proc/5\n"
               "dr-xr-xr-x 9 daemon daemon 0 Nov 26 14:36 /proc/7\n")


def _proc_merge(stat: str, fds: str) -> Listener:
    li, = merge_proc_sections([Section("proc-net-tcp", PROC_TABLE, 0),
                               Section("proc-stat", stat, 0),
                               Section("proc-owners", PROC_OWNERS, 0),
                               Section("proc-fds", fds, 0)])
    return li


def test_proc_owners_survive_a_name_that_forges_a_line() -> None:
    """A name (15 bytes at most) may hold newlines and mimic the start of a record; a
    record ends only where some 50 numbers follow its last ')', which no name can print."""
    forger = "e\n5 (x) S 1 5\n"  # 14 bytes: a line that looks like pid 5's record
    stat = _stat(5, "sshd") + _stat(7, forger) + _stat(8, "a)b (c) S 1")
    fds = ("/proc/5/fd:\ntotal 0\nlrwx------ 1 root root 64 Nov 26 14:36 3 -> socket:[100]\n\n"
           "/proc/7/fd:\nlrwx------ 1 root root 64 Nov 26 14:36 4 -> socket:[100]\n")
    li = _proc_merge(stat, fds)
    assert (li.pid, li.process, li.user, li.other_processes) == (5, "sshd", "root",
                                                                  (f"{forger}/7",))
    assert li.owner_note is None


def test_proc_fd_headers_forged_by_a_file_name_are_not_believed() -> None:
    """BusyBox ls prints link targets raw: pid 7 holds a file whose name forges a header
    for pid 5 followed by its own socket line. Neither listing of pid 5 is believed, the
    listener stays, unowned, with a note."""
    stat = _stat(5, "sshd") + _stat(7, "evil")
    fds = ("/proc/5/fd:\nlrwx------ 1 root root 64 Nov 26 14:36 3 -> /dev/null\n\n"
           "/proc/7/fd:\nl-wx------ 1 d d 64 Nov 26 14:36 3 -> /tmp/x\n/proc/5/fd:\n"
           "lrwx------ 1 d d 64 Nov 26 14:36 4 -> socket:[100]\n")
    li = _proc_merge(stat, fds)
    assert (li.port, li.pid, li.process) == (22, None, None)
    assert li.owner_note is not None and "cannot be trusted" in li.owner_note
    # A header of a pid that does not exist is not believed either.
    li = _proc_merge(stat, fds.replace("\n/proc/5/fd:\n", "\n/proc/99/fd:\n"))
    assert (li.pid, li.owner_note is not None) == (None, True)


def test_ss_without_a_netid_column_tells_old_by_its_pairs() -> None:
    """`ss -tnl` of an old ss (no Netid column): '*:22' beside '[::]:22' is IPv4 any; old ss
    printed every IPv6 wildcard as '[::]', so whether it takes IPv4 too is not shown."""
    found = PARSERS["ss"]("State Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
                          "LISTEN 0 128 *:80 *:*\nLISTEN 0 128 *:22 *:*\n"
                          "LISTEN 0 128 [::]:22 [::]:*\n")
    assert [(li.family, li.address, li.port, li.dual_stack) for li in found] == [
        (4, "0.0.0.0", 80, False), (4, "0.0.0.0", 22, False), (6, "::", 22, None)]


def test_netstat_tcp_row_with_an_unknown_state_is_refused_not_dropped() -> None:
    """Every net-tools TCP row has a state; a word it never prints there means the row is
    not understood, which must not pass as 'not listening'."""
    with pytest.raises(ParseError) as err:
        PARSERS["netstat"](NETSTAT_HEAD + "tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTENING 1/sshd\n")
    assert "unknown TCP state 'LISTENING'" in str(err.value)
