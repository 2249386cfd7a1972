"""collect/holders.py: one listener a socket, its holders in owner order, its user named."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from fleetcheck.collect.holders import (
    Lineage,
    comm_names,
    one_per_socket,
    owner_first,
    owner_order,
    user_named,
)
from fleetcheck.collect.procnet import merge_proc_sections, one_per_inode, stat_names
from fleetcheck.collect.sections import Section
from fleetcheck.model import Listener
from fleetcheck.parsers import lsof_fields
from fleetcheck.parsers import procnet as procnet_parser

TCP = Listener("tcp", 4, "0.0.0.0", 8080)


def test_the_oldest_holder_but_init_owns_a_shared_socket_whatever_order_a_tool_printed(
        ) -> None:
    # ss prints the newest holder first: a worker, then the master (a name may hold '/')
    ss = Listener("tcp", 4, "0.0.0.0", 8080, "w/k", 30, other_processes=("w/k/20", "master/10"))
    assert owner_first([ss]) == [Listener("tcp", 4, "0.0.0.0", 8080, "master", 10,
                                          other_processes=("w/k/20", "w/k/30"))]
    # socket activation: the service owns it, pid 1 (systemd, launchd) is the activator
    netstat_like = Listener("tcp", 6, "::", 22, "systemd", 1, other_processes=("sshd/812",))
    assert owner_first([netstat_like]) == [Listener("tcp", 6, "::", 22, "sshd", 812,
                                                    other_processes=("systemd/1",))]
    unnamed = Listener("tcp", 4, "0.0.0.0", 8080, None, 9, other_processes=("a/3",))
    assert owner_first([unnamed])[0].other_processes == ("?/9",)
    odd = Listener("tcp", 4, "0.0.0.0", 8080, "a", 9, other_processes=("b/x",))
    assert owner_first([odd, TCP]) == [odd, TCP]  # not a pid: left as the tool said


def test_lsof_rows_of_one_socket_are_one_listener() -> None:
    rows = [("77", Listener("tcp", 4, "0.0.0.0", 8080, "worker", 12, user="nobody")),
            ("78", Listener("udp", 4, "0.0.0.0", 53, "dns", 5)),
            ("77", Listener("tcp", 4, "0.0.0.0", 8080, "master", 11, user="root")),
            ("", TCP), ("", TCP)]  # no inode: nothing says they are one socket
    assert one_per_socket(rows) == [
        Listener("tcp", 4, "0.0.0.0", 8080, "master", 11, user="root",
                 other_processes=("worker/12",)),
        Listener("udp", 4, "0.0.0.0", 53, "dns", 5), TCP, TCP]


def test_a_uid_without_a_passwd_entry_is_its_number() -> None:
    assert [user_named(u, {1000: "ann"}) for u in (0, 1000, 54321)] == ["root", "ann", "54321"]


def test_macos_lsof_fields_of_launchd_and_its_service_are_one_listener() -> None:
    # lsof -F on macOS: d is the socket's kernel address; launchd (pid 1) opened port 22
    # and the sshd it started holds it too (a made-up listing in lsof's field format)
    text = ("p1\nclaunchd\nu0\nLroot\nf8\nd0xabc1\ntIPv4\nPTCP\nn*:22\nTST=LISTEN\n"
            "p812\ncsshd\nu0\nLroot\nf3\nd0xabc1\ntIPv4\nPTCP\nn*:22\nTST=LISTEN\n"
            "f4\nd0xabc2\ntIPv6\nPTCP\nn*:22\nTST=LISTEN\n")
    assert len(lsof_fields.parse(text)) == 3  # parse: as lsof printed it
    [v4, v6] = one_per_socket(lsof_fields.parse_rows(text))
    assert (v4.family, v4.process, v4.pid, v4.other_processes) == (4, "sshd", 812,
                                                                   ("launchd/1",))
    assert (v6.family, v6.process, v6.other_processes) == (6, "sshd", ())


def test_age_not_pid_tells_the_oldest_holder_after_the_pid_counter_wrapped() -> None:
    # a master (pid 500) whose workers, forked in its clock tick, got pids 20 and 30
    lineages = {500: Lineage(1, 7000), 30: Lineage(500, 7000), 20: Lineage(500, 7000),
                1: Lineage(0, 5)}
    ss = Listener("tcp", 4, "0.0.0.0", 8080, "worker", 30,
                  other_processes=("worker/20", "master/500", "systemd/1"))
    [got] = owner_first([ss], lineages)
    assert (got.process, got.pid, got.other_processes) == (
        "master", 500, ("worker/20", "worker/30", "systemd/1"))
    # a worker forked later (a later tick) comes after one forked earlier, whatever its pid
    assert owner_order([500, 30, 20], {**lineages, 20: Lineage(500, 7100)}) == [500, 30, 20]
    # an unrelated process the socket was passed to: by start time alone
    assert owner_order([40, 900], {40: Lineage(1, 9000), 900: Lineage(1, 8000)}) == [900, 40]
    # a holder whose stat was not read (gone meanwhile) comes after those known, by pid
    assert owner_order([30, 500, 20], {500: Lineage(1, 7000), 30: Lineage(500, 7000)}) == [
        500, 30, 20]
    # nothing known (another system's tool): by pid, pid 1 last, as before
    assert owner_order([500, 1, 30], {}) == [30, 500, 1]
    assert owner_first([ss]) == owner_first([ss], {})
    # a parent loop (a pid reused between the reads) ends the walk
    assert owner_order([7, 8], {7: Lineage(8, 1), 8: Lineage(7, 1)}) == [7, 8]


def test_the_probes_comm_lines_give_names_and_lineage() -> None:
    body = "500 1 7000 nginx: master\n30 500 7000 \n44 - - lsof\nnot a line\n9 1 x y\n"
    names, lineages = comm_names(body)
    # 30's comm is empty; 44's stat was not read (or was another process's)
    assert names == {500: "nginx: master", 30: "", 44: "lsof", 9: "y"}
    assert lineages == {500: Lineage(1, 7000), 30: Lineage(500, 7000)}


def test_stat_records_give_each_process_its_parent_and_start_time() -> None:
    """Real /proc/PID/stat records, this process's and its parent's."""
    body = "".join(Path(f"/proc/{pid}/stat").read_text() for pid in (os.getpid(), os.getppid()))
    names, lineages = stat_names(body)
    assert names[os.getpid()] == Path("/proc/self/comm").read_text().rstrip("\n")
    me, parent = lineages[os.getpid()], lineages[os.getppid()]
    assert me.ppid == os.getppid() and parent.start <= me.start
    boot_ticks = time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK")
    assert 0 < me.start <= boot_ticks + 1


def test_a_socket_a_changing_kernel_table_showed_twice_is_one_listener() -> None:
    """/proc/net/tcp read while sockets come and go can repeat an entry: it is one socket
    (its inode), in the /proc fallback and in the table beside lsof alike."""
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
        "       0 4242 1 0000000000000000 100 0 0 10 0\n"
        "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
        "       0 4343 1 0000000000000000 100 0 0 10 0\n"
        "   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
        "       0 4242 1 0000000000000000 100 0 0 10 0\n")
    parsed = procnet_parser.parse(table)
    assert [li.port for li in parsed] == [8080, 22, 8080]  # the parser keeps what it read
    assert [li.port for li in one_per_inode(parsed)] == [8080, 22]
    sections = [Section("proc-net-tcp", table, 0)]
    assert [li.port for li in merge_proc_sections(sections)] == [8080, 22]
    no_inode = replace(parsed[0], inode=None)
    assert one_per_inode([no_inode, no_inode]) == [no_inode, no_inode]
