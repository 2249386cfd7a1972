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
