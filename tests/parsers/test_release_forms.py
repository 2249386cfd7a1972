"""Forms other releases' tools print, from the project's own captures of Debian bullseye's,
trixie's and sid's ss, net-tools, BusyBox and lsof (tests/fixtures/capture_linux.py
--tools), cut down to the rows that show each form.
"""

from __future__ import annotations

import pytest

from fleetcheck.parsers import PARSERS, ParseError, guess


def _brief(tool: str, text: str) -> list[tuple[object, ...]]:
    return [(li.proto, li.family, li.address, li.port) for li in PARSERS[tool](text)]


def test_busybox_names_a_host_whose_family_only_its_peer_column_shows() -> None:
    """BusyBox prints 'tcp' for IPv6 sockets too; without -n an address may be a name
    (trixie's libc names the IPv4-mapped ::ffff:127.0.0.1 'localhost'): the peer column,
    ':::*' or '0.0.0.0:*', says which family the socket is."""
    text = ("Active Internet connections (only servers)\n"
            "Proto Recv-Q Send-Q Local Address           Foreign Address         State       \n"
            "tcp        0      0 localhost:7001          :::*                    LISTEN      \n"
            "tcp        0      0 localhost:redis         0.0.0.0:*               LISTEN      \n"
            "tcp        1      0 ::1:7002                :::*                    LISTEN      \n"
            "udp        0      0 0.0.0.0:mdns            0.0.0.0:*                           \n"
            "udp        0      0 :::mdns                 :::*                                \n")
    want = [("tcp", 6, "localhost", 7001), ("tcp", 4, "localhost", 6379),
            ("tcp", 6, "::1", 7002), ("udp", 4, "0.0.0.0", 5353), ("udp", 6, "::", 5353)]
    assert _brief("busybox-netstat", text) == want
    assert _brief(guess(text).tool, text) == want


def test_net_tools_names_an_ipv6_socket_by_its_protocol() -> None:
    """net-tools says the family in the protocol: 'tcp6 localhost:7001' is an IPv6 socket
    (IPv4-mapped, named by the resolver), even though numeric output shows it as 127.0.0.1."""
    text = ("Active Internet connections (only servers)\n"
            "Proto Recv-Q Send-Q Local Address           Foreign Address         State      \n"
            "tcp6       0      0 localhost:7001          [::]:*                  LISTEN     \n"
            "tcp        0      0 localhost:6379          0.0.0.0:*               LISTEN     \n")
    assert _brief("netstat", text) == [("tcp", 6, "localhost", 7001),
                                       ("tcp", 4, "localhost", 6379)]


def test_ss_resolving_names_tells_each_family_by_the_peer() -> None:
    """ss -r prints names; the peer column still tells the family: '0.0.0.0:*' IPv4,
    '[::]:*' IPv6, and in modern ss '*:*' a dual-stack IPv6 socket."""
    text = ("Netid State  Recv-Q Send-Q   Local Address:Port  Peer Address:PortProcess\n"
            "udp   UNCONN 0      0                    *:7003             *:*    "
            'users:(("dualudp",pid=8496,fd=3))\n'
            "tcp   LISTEN 1      16           localhost:6379       0.0.0.0:*    "
            'users:(("redis-server",pid=8392,fd=3))\n'
            "tcp   LISTEN 0      16           localhost:7001             *:*    "
            'users:(("mapped",pid=8442,fd=3))\n'
            "tcp   LISTEN 1      16       ip6-localhost:7002          [::]:*    "
            'users:(("web",pid=8485,fd=3))\n'
            "tcp   LISTEN 0      16             0.0.0.0:9000       0.0.0.0:*    "
            'users:(("userapp",pid=8390,fd=3))\n')
    assert _brief("ss", text) == [("udp", 6, "::", 7003), ("tcp", 4, "localhost", 6379),
                                  ("tcp", 6, "localhost", 7001),
                                  ("tcp", 6, "ip6-localhost", 7002), ("tcp", 4, "0.0.0.0", 9000)]
    # Old ss prints IPv4's peer as '*:*': there a name beside it is IPv4.
    old = ("State      Recv-Q Send-Q   Local Address:Port     Peer Address:Port\n"
           "LISTEN     0      128                  *:22                  *:*\n"
           "LISTEN     0      128          localhost:25                  *:*\n"
           "LISTEN     0      128                 :::22                 :::*\n")
    assert _brief("ss", old) == [("tcp", 4, "0.0.0.0", 22), ("tcp", 4, "localhost", 25),
                                 ("tcp", 6, "::", 22)]


# lsof -F0 (sid's lsof 4.99.4, default fields): each field ends in a NUL, each set of
# them in a newline; bullseye's 4.93.2 the same.
F0 = ("p8380\0g8281\0R8325\0cspiced\0u0\0Lroot\0\n"
      "f3\0au\0l \0tIPv4\0G0x80002;0x0\0d136737\0o0t0\0PTCP\0n*:1923\0TST=LISTEN\0TQR=0\0"
      "TQS=0\0\n"
      "p8384\0g8281\0R8325\0cweb d\0u0\0Lroot\0\n"
      "f3\0au\0l \0tIPv6\0G0x80002;0x0\0d136746\0o0t0\0PTCP\0n*:8080\0TST=LISTEN\0TQR=0\0"
      "TQS=0\0\n"
      "f4\0au\0l \0tIPv6\0G0x2;0x0\0d136747\0o0t0\0PUDP\0n[::1]:65535\0TQR=0\0TQS=0\0\n")


def test_lsof_fields_ending_in_nuls_are_read() -> None:
    want = [("tcp", 4, "0.0.0.0", 1923, "spiced", 8380, "root"),
            ("tcp", 6, "::", 8080, "web d", 8384, "root"),
            ("udp", 6, "::1", 65535, "web d", 8384, "root")]
    got = [(li.proto, li.family, li.address, li.port, li.process, li.pid, li.user)
           for li in PARSERS["lsof-fields"](F0)]
    assert got == want
    assert guess(F0).tool == "lsof-fields"


@pytest.mark.parametrize("text", ["", "\n", "  \n\n"])
def test_empty_lsof_fields_output_is_no_listing(text: str) -> None:
    """lsof prints nothing when it matched no file and when it failed (a mistyped -F0
    takes the field letters as a file name): that is no 'nothing listens', as no other
    parser takes an empty text for one."""
    for tool in PARSERS:
        with pytest.raises(ParseError):
            PARSERS[tool](text)


def test_ss_masks_names_as_iproute2_7_prints_them() -> None:
    from fleetcheck.parsers.ss import masked

    assert masked("wëb sérvér") == "w??b s??rv??r"  # 'ë' is two bytes
    assert masked("t\tab\x7f") == "t.ab."
    assert masked("pa(re)n") == "pa(re"  # every ss stops at the first ')'
    assert masked("bad\ufffd") == "bad?"  # a byte the output's decoding replaced
