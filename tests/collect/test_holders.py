"""collect/holders.py: one listener a socket, its holders in owner order, its user named."""

from __future__ import annotations

from fleetcheck.collect.holders import one_per_socket, owner_first, user_named
from fleetcheck.model import Listener
from fleetcheck.parsers import lsof_fields

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
