# ruff: noqa: E501  (rows as wide as the tools print them)
"""Dialect corners seen in real captures of other systems, written here from their formats
(column layouts and words as the tools print them; the rows are this project's own)."""

from __future__ import annotations

from fleetcheck.parsers import PARSERS


def _rows(tool: str, text: str) -> list[tuple[object, ...]]:
    return [(li.proto, li.family, li.address, li.port, li.process, li.pid, li.user, li.service)
            for li in PARSERS[tool](text)]


SOLARIS_114 = """
UDP: IPv4
   Local Address        Remote Address      User    Pid      Command      State       Send Buf     TxOverflows     Recv Buf     RxOverflows
-------------------- -------------------- -------- ------ ------------- ----------  ------------ --------------- ------------ ---------------
      *.*                                 root        101 in.mpathd      Unbound           57344               0        57344               0
      *.68                                netadm      402 dhcpagent      Idle              57344               0        57344               0
192.0.2.7.123                             _ntp        733 ntpd           Idle              57344               0        57344               0

UDP: IPv6
   Local Address                     Remote Address                   User    Pid      Command       State      If    Send Buf     TxOverflows     Recv Buf     RxOverflows
--------------------------------- --------------------------------- -------- ------ -------------- ---------- ----- ------------ --------------- ------------ ---------------
fe80::1.546                                                         netadm      402 dhcpagent      Idle       net0          57344               0        57344               0

TCP: IPv4
   Local Address        Remote Address      User     Pid     Command     Swind  Send-Q  Rwind  Recv-Q    State
-------------------- -------------------- -------- ------ ------------- ------- ------ ------- ------ -----------
      *.22                 *.*            root        650 sshd                0      0  256000      0 LISTEN
192.0.2.7.22         198.51.100.9.50123   root        650 sshd           131072      0  256320      0 ESTABLISHED

TCP: IPv6
   Local Address                     Remote Address                   User    Pid      Command      Swind  Send-Q  Rwind  Recv-Q   State      If
--------------------------------- --------------------------------- -------- ------ -------------- ------- ------ ------- ------ ----------- -----
      *.22                              *.*                         root        650 sshd                 0      0  256000      0 LISTEN
"""


def test_solaris_11_4_buffers_interfaces_and_owners() -> None:
    """11.4 prints UDP's buffer counts after the state; with -u each socket's owner."""
    assert _rows("solaris-netstat", SOLARIS_114) == [
        ("udp", 4, "0.0.0.0", 68, "dhcpagent", 402, "netadm", None),
        ("udp", 4, "192.0.2.7", 123, "ntpd", 733, "_ntp", None),
        ("udp", 6, "fe80::1", 546, "dhcpagent", 402, "netadm", None),
        ("tcp", 4, "0.0.0.0", 22, "sshd", 650, "root", None),
        ("tcp", 6, "::", 22, "sshd", 650, "root", None)]
    (scoped,) = [li for li in PARSERS["solaris-netstat"](SOLARIS_114) if li.port == 546]
    assert scoped.iface == "net0"


def test_freebsd_15_sockstat_unknown_owner_is_two_question_marks() -> None:
    """FreeBSD 15 prints '??' where older sockstat prints '?' for an owner it does not know."""
    text = ("USER     COMMAND      PID FD PROTO LOCAL ADDRESS   FOREIGN ADDRESS    PATH STATE\n"
            "ntpd     ntpd        1201 21 udp4  *:123           *:*                ??\n"
            "??       ??            ?? ?? tcp4  192.0.2.5:65000  198.51.100.2:443  TIME_WAIT\n"
            "??       ??            ?? ?? udp4  *:5353          *:*                ??\n")
    assert _rows("sockstat", text) == [("udp", 4, "0.0.0.0", 123, "ntpd", 1201, "ntpd", None),
                                       ("udp", 4, "0.0.0.0", 5353, None, None, None, None)]


def test_windows_b_takes_only_the_word_above_the_image_as_a_service() -> None:
    """A localised 'no owner' sentence without spaces (Chinese, Japanese) and -v's module
    paths are no service; the bare word right above '[image.exe]' is."""
    text = ("活动连接\n\n  协议  本地地址          外部地址        状态           PID\n"
            "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900\n"
            "  RpcSs\n [svchost.exe]\n"
            "  TCP    0.0.0.0:445            0.0.0.0:0              LISTENING       4\n"
            " 无法获取所有权信息\n"
            "  UDP    0.0.0.0:500            *:*                                    612\n"
            "  c:\\windows\\system32\\WS2_32.dll\n  C:\\WINDOWS\\system32\\lsass.exe\n"
            "  -- unknown component(s) --\n  [lsass.exe]\n")
    assert _rows("windows-netstat", text) == [
        ("tcp", 4, "0.0.0.0", 135, "svchost.exe", 900, None, "RpcSs"),
        ("tcp", 4, "0.0.0.0", 445, None, 4, None, None),
        ("udp", 4, "0.0.0.0", 500, "lsass.exe", 612, None, None)]
