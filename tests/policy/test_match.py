"""Matching one rule against one listener: every condition, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from fleetcheck.addresses import address_scope
from fleetcheck.model import Container, Listener
from fleetcheck.parsers import PARSERS
from fleetcheck.policy.match import MatchResult
from fleetcheck.policy.wording import owner_of
from tests.policy.helpers import rule

YES, NO = MatchResult.YES, MatchResult.NO
WB, WP, UNK = MatchResult.WRONG_BIND, MatchResult.WRONG_PROCESS, MatchResult.UNKNOWN_OWNER


def L(proto: str = "tcp", address: str = "0.0.0.0", port: int = 80,
      **kw: Any) -> Listener:
    """A listener; family follows the address."""
    return Listener(proto=proto, family=6 if ":" in address else 4, address=address, port=port,
                    **kw)


@pytest.mark.parametrize(("address", "scope"), [
    ("0.0.0.0", "wildcard"), ("::", "wildcard"), ("*", "wildcard"),
    ("127.0.0.1", "loopback"), ("127.8.9.1", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("localhost", "loopback"),
    ("169.254.10.1", "link-local"), ("fe80::1", "link-local"), ("fe80::1%eth0", "link-local"),
    ("10.1.2.3", "private"), ("192.168.1.1", "private"), ("172.16.0.9", "private"),
    ("fd00::1", "private"), ("8.8.8.8", "public"), ("2001:4860::8888", "public"),
    ("224.0.0.251", "multicast"), ("ff02::fb", "multicast"), ("db.example", None),
])
def test_address_scope(address: str, scope: str | None) -> None:
    assert address_scope(address) == scope


# Where Python's own `is_private` answers differently by version (3.11.10, 3.12.4, 3.13.0
# changed its table): the scope is IANA's "not globally reachable" on every interpreter.
@pytest.mark.parametrize(("address", "scope"), [
    ("192.0.0.8", "private"), ("192.0.0.9", "public"), ("192.0.0.10", "public"),
    ("192.0.0.171", "private"), ("::ffff:192.0.0.8", "private"), ("2001:20::1", "public"),
    ("2001:1::1", "public"), ("2001:1::3", "private"), ("2001:4:112::1", "public"),
    ("2001:10::1", "private"), ("2002::1", "private"), ("64:ff9b:1::1", "private"),
    ("64:ff9b::8.8.8.8", "public"), ("100::1", "private"), ("2001:db8::1", "private"),
    ("198.18.0.1", "private"), ("203.0.113.9", "private"), ("240.0.0.1", "private"),
    ("100.64.0.1", "public"), ("192.0.2.1", "private"), ("11.0.0.1", "public"),
])
def test_private_is_the_same_on_every_python(address: str, scope: str) -> None:
    assert address_scope(address) == scope
    cond = "port: 80\naddress: private"
    expected = YES if scope == "private" else WB
    assert rule(cond).match.check(L(address=address), covering=True) is expected



def test_ipv4_mapped_addresses_in_a_rule_are_written_dotted() -> None:
    """A rule's addresses read back as ss writes them (Python before 3.13: `::ffff:7f00:1`)."""
    r = rule("port: 80\naddress: ['::ffff:127.0.0.1', '::ffff:10.0.0.0/104', 10.0.0.0/8]")
    assert [s.text for s in r.match.addresses or ()] == [
        "::ffff:127.0.0.1", "::ffff:10.0.0.0/104", "10.0.0.0/8"]
    assert r.match.check(L(address="::ffff:10.1.2.3"), covering=True) is YES

CASES = [
    # (rule conditions, listener, covering result, touching result)
    ("proto: tcp\nport: 80", L(), YES, YES),
    ("proto: udp\nport: 80", L(), NO, NO),
    ("proto: [tcp, udp]\nport: 80", L("udp"), YES, YES),
    ("proto: any\nport: 80", L("udp"), YES, YES),
    ("port: [22, 80]", L(), YES, YES),
    ("port: 8000-8100", L(port=8100), YES, YES),
    ("port: 8000-8100", L(port=8101), NO, NO),
    ("port: '22,80,443'", L(port=443), YES, YES),
    ("service: spice", L(port=1923), YES, YES),
    ("service: spice", L("udp", port=1923), YES, YES),
    ("service: https\nproto: tcp", L(port=443), YES, YES),
    ("service: [ssh, postgresql]", L(port=5432), YES, YES),
    ("service: ssh", L("udp", port=22), NO, NO),
    ("port: 8080\nservice: https", L(port=443), YES, YES),
    ("address: loopback", L(address="127.0.0.1"), YES, YES),
    ("address: loopback", L(address="0.0.0.0"), NO, NO),
    ("port: 5432\naddress: loopback", L(address="0.0.0.0", port=5432), WB, WB),
    ("port: 80\naddress: 10.0.0.0/8", L(address="10.2.3.4"), YES, YES),
    ("port: 80\naddress: 10.0.0.0/8", L(address="192.168.1.1"), WB, WB),
    ("port: 80\naddress: '::1'", L(address="::1"), YES, YES),
    ("port: 80\naddress: '[::1]'", L(address="0:0:0:0:0:0:0:1"), YES, YES),
    ("port: 80\naddress: [private, public]", L(address="8.8.4.4"), YES, YES),
    ("port: 80\naddress: link-local", L(address="fe80::1", iface="eth0"), YES, YES),
    # Family and dual stack belong to the bind: a rule naming the port that they miss is
    # a near miss (wrong_bind), as docs/policies.md says ("the bind address or family").
    ("family: 4\nport: 80", L(address="::"), WB, WB),
    ("family: 4", L(address="::"), NO, NO),
    ("family: 6\nport: 80", L(address="::"), YES, YES),
    # A dual-stack [::] takes IPv4 as well: an allow must cover both families,
    # a forbid hits it through either.
    ("family: 6\nport: 80", L(address="::", dual_stack=True), WB, YES),
    ("family: 4\nport: 80", L(address="::", dual_stack=True), WB, YES),
    ("family: [4, 6]\nport: 80", L(address="::", dual_stack=True), YES, YES),
    ("port: 80\naddress: 0.0.0.0/0", L(address="::", dual_stack=True), WB, YES),
    ("port: 80\naddress: wildcard", L(address="::", dual_stack=True), YES, YES),
    ("port: 80\naddress: '*'", L(address="::", dual_stack=True), YES, YES),  # as ss prints it
    ("port: 80\naddress: '*'", L(address="*"), YES, YES),
    ("port: 80\naddress: ['*']", L(address="127.0.0.1"), WB, WB),
    ("dual_stack: true\nport: 80", L(address="::", dual_stack=True), YES, YES),
    ("dual_stack: true\nport: 80", L(address="::"), WB, WB),
    ("dual_stack: true", L(address="::"), NO, NO),
    ("dual_stack: false\nport: 80", L(address="::"), YES, YES),
    ("port: 22\nprocess: sshd", L(port=22, process="sshd"), YES, YES),
    ("port: 22\nprocess: sshd", L(port=22, process="dropbear"), WP, WP),
    ("port: 22\nprocess: sshd", L(port=22), UNK, UNK),
    ("port: 22\nprocess: 'ssh*'", L(port=22, process="sshd"), YES, YES),
    ("port: 22\nprocess: '~ssh(d|-agent)'", L(port=22, process="sshd"), YES, YES),
    ("port: 22\nprocess: '~ssh'", L(port=22, process="sshd"), WP, WP),  # regexes are whole-name
    ("port: 22\nprocess: [sshd, dropbear]", L(port=22, process="dropbear"), YES, YES),
    # Several processes share the socket: an allow must vouch for every one.
    ("port: 80\nprocess: nginx", L(process="nginx", other_processes=("nginx/8", "nginx/9")),
     YES, YES),
    ("port: 80\nprocess: nginx", L(process="nginx", other_processes=("nc/10",)), WP, YES),
    # ...but pid 1 (systemd, launchd) beside a service is the socket's activator: an allow
    # of the service covers it; alone, or with a process not allowed, it is as any other.
    ("port: 22\nprocess: sshd", L(port=22, process="sshd", pid=812,
                                   other_processes=("systemd/1",)), YES, YES),
    ("port: 22\nprocess: sshd", L(port=22, process="systemd", pid=1), WP, WP),
    ("port: 22\nprocess: sshd", L(port=22, process="nc", pid=9,
                                   other_processes=("systemd/1",)), WP, WP),
    ("port: 22\nprocess: systemd", L(port=22, process="sshd", pid=812,
                                      other_processes=("systemd/1",)), WP, YES),
    ("port: 22\nprocess: sshd", L(port=22, process="sshd", pid=812,
                                   other_processes=("systemd/7",)), WP, YES),
    ("process: chronyd", L("udp", port=323, process="ntpd"), NO, NO),
    ("port: 5432\nuser: postgres", L(port=5432, process="postgres", user="postgres"), YES, YES),
    ("port: 5432\nuser: postgres", L(port=5432, process="postgres", user="nobody"), WP, WP),
    ("port: 5432\nuser: postgres", L(port=5432, process="postgres", uid=101), UNK, UNK),
    ("port: 5432\nuser: 101", L(port=5432, process="postgres", uid=101), YES, YES),
    ("port: 5432\nuser: 101", L(port=5432, process="postgres", uid=102), WP, WP),
    ("port: 22\nuser: root", L(port=22, process="sshd", uid=0), YES, YES),
    ("port: 22\nuser: 0", L(port=22, process="sshd", user="root"), YES, YES),
    ("port: 22\nuser: 0", L(port=22, process="sshd", user="daemon"), UNK, UNK),
    ("port: 22\nuser: '~(root|sshd)'", L(port=22, process="sshd", user="sshd"), YES, YES),
    # A condition that fails outright decides before one that cannot be seen: the rule
    # cannot match whatever the owner (or the container's name) turns out to be.
    ("port: 22\naddress: loopback\nprocess: sshd", L(port=22), WB, WB),
    ("port: 22\nprocess: sshd\nuser: www-data", L(port=22, user="nobody"), WP, WP),
    ("port: 22\nuser: root", L(port=22, uid=33), WP, WP),  # root is uid 0, nobody else
    ("port: 22\nuser: root\nprocess: sshd", L(port=22, process="nc"), WP, WP),
    # Bound to the loopback device (ss: 0.0.0.0%lo, *%lo, 127.0.0.53%lo; BSD fe80::1%lo0):
    # only the host reaches it, so scope words see loopback, for allows and forbids alike;
    # an address or network written out still matches its address.
    ("address: loopback", L(address="0.0.0.0", iface="lo"), YES, YES),
    ("address: loopback", L(address="::", iface="lo", dual_stack=True), YES, YES),
    ("address: loopback", L(address="::", iface="lo", dual_stack=None), YES, YES),
    ("address: loopback", L(address="10.0.0.5", iface="lo"), YES, YES),
    ("port: 80\naddress: loopback", L(address="fe80::1", iface="lo0"), YES, YES),
    ("port: 80\naddress: link-local", L(address="fe80::1", iface="lo0"), WB, WB),
    ("address: [wildcard, private, public]", L(address="0.0.0.0", iface="lo"), NO, NO),
    ("port: 80\naddress: wildcard", L(address="::", iface="lo", dual_stack=True), WB, WB),
    ("port: 80\naddress: 10.0.0.5", L(address="10.0.0.5", iface="lo"), YES, YES),
    ("port: 80\naddress: 0.0.0.0/0", L(address="0.0.0.0", iface="lo"), YES, YES),
    ("address: loopback", L(address="0.0.0.0", iface="loop"), NO, NO),  # only lo and lo0
    # Bound to another device: its address's scope, as before (the device's networks are
    # not known to be private or public).
    ("port: 80\naddress: wildcard", L(address="0.0.0.0", iface="virbr0"), YES, YES),
    ("port: 80\naddress: private", L(address="0.0.0.0", iface="virbr0"), WB, WB),
    ("address: [wildcard, public]", L(address="0.0.0.0", iface="virbr0"), YES, YES),
    # interface: only a listener known to be bound to one of the devices named.
    ("port: 67\ninterface: virbr0", L("udp", port=67, iface="virbr0"), YES, YES),
    ("port: 67\ninterface: virbr0", L("udp", port=67, iface="virbr1"), WB, WB),
    ("interface: virbr0", L("udp", port=67, iface="virbr1"), NO, NO),
    ("port: 67\ninterface: virbr0", L("udp", port=67, device_shown=True), WB, WB),  # no device
    ("port: 67\ninterface: virbr0", L("udp", port=67), WB, WB),  # its tool does not show it
    ("interface: virbr0", L("udp", port=67), NO, NO),
    ("port: 67\ninterface: 'virbr*'", L("udp", port=67, iface="virbr12"), YES, YES),
    ("port: 67\ninterface: 'virbr?'", L("udp", port=67, iface="virbr12"), WB, WB),
    ("port: 67\ninterface: '~virbr[0-9]+'", L("udp", port=67, iface="virbr12"), YES, YES),
    ("port: 67\ninterface: '~virbr'", L("udp", port=67, iface="virbr0"), WB, WB),  # whole name
    ("port: 67\ninterface: [eth0, virbr0]", L("udp", port=67, iface="virbr0"), YES, YES),
    ("port: 67\ninterface: virbr0\naddress: wildcard", L("udp", port=67, iface="virbr0"),
     YES, YES),
    ("port: 67\ninterface: virbr0\naddress: 10.0.0.0/8", L("udp", port=67, iface="virbr0"),
     WB, WB),
    ("port: 53\ninterface: lo\naddress: loopback", L(port=53, iface="lo"), YES, YES),
    ("port: 80\ninterface: eth0", L(address="::", dual_stack=None, iface="eth0"), YES, YES),
    ("port: 1900\ninterface: 9", L("udp", address="fe80::1", port=1900, iface="9"), YES, YES),
    ("address: multicast\npod: 'coredns-*'",
     L(netns=1, container=Container(id="c1"), exposure="container-only"), NO, NO),
    ("port: 80\ncontainer: web\nimage: 'nginx*'",
     L(netns=1, container=Container(id="c1", image="redis:7"), exposure="published"), NO, NO),
    ("port: 80\ncontainer: web\nimage: 'nginx*'",
     L(netns=1, container=Container(id="c1", image="nginx:1"), exposure="published"), UNK, UNK),
]


@pytest.mark.parametrize(("conditions", "listener", "covering", "touching"), CASES)
def test_match_table(conditions: str, listener: Listener, covering: MatchResult,
                     touching: MatchResult) -> None:
    r = rule(conditions)
    assert r.match.check(listener, covering=True) is covering
    assert r.match.check(listener, covering=False) is touching


def test_check_detail_names_the_failing_condition() -> None:
    r = rule("proto: tcp\nport: 5432\naddress: loopback\nprocess: postgres")
    assert r.match.check_detail(L(port=5432, process="postgres")) == (WB, "address")
    assert r.match.check_detail(L(port=5433)) == (NO, "port")
    assert r.match.check_detail(L("udp", port=5432)) == (NO, "proto")
    assert r.match.check_detail(L(address="127.0.0.1", port=5432)) == (UNK, "process")
    assert r.match.check_detail(L(address="127.0.0.1", port=5432, process="x")) == (WP, "process")


def test_check_detail_names_the_interface_and_describe_says_it() -> None:
    r = rule("proto: udp\nport: 67\ninterface: [virbr0, 'br-*']")
    assert r.match.check_detail(L("udp", port=67, iface="eth0")) == (WB, "interface")
    assert r.match.check_detail(L("udp", port=67)) == (WB, "interface")
    assert r.match.describe() == "proto udp, port 67, interface virbr0 or br-*"


def test_describe_speaks_the_file_words() -> None:
    r = rule("proto: tcp\nport: [80, 443]\naddress: [wildcard, private]\nprocess: nginx\n"
             "service: spice")
    assert r.match.describe() == ("proto tcp, port 80,443, service spice (tcp/1923, udp/1923), "
                                  "address wildcard or private, process nginx")


# As ss prints a Java server bound to 127.0.0.1 on an IPv6 socket (captured live:
# `tcp LISTEN 0 1 [::ffff:127.0.0.1]:8005 *:* users:(("java",pid=..,fd=..)) ... v6only:0`);
# net-tools netstat prints the same socket as 127.0.0.1 on a tcp6 row.
MAPPED_SS = ('tcp   LISTEN 0      1      [::ffff:127.0.0.1]:8005            *:*    '
             'users:(("java",pid=4242,fd=41)) ino:2980 sk:558c cgroup:/ v6only:0 <->\n')
MAPPED_NETSTAT = ("Active Internet connections (only servers)\n"
                  "Proto Recv-Q Send-Q Local Address           Foreign Address         State"
                  "       User       Inode      PID/Program name    \n"
                  "tcp6       0      0 127.0.0.1:8005          :::*                    LISTEN"
                  "      0          2980       4242/java           \n")


@pytest.mark.parametrize("conditions, expected", [
    ("address: 127.0.0.1", MatchResult.YES),
    ("address: loopback", MatchResult.YES),
    ("address: 127.0.0.0/8", MatchResult.YES),
    ("family: 4", MatchResult.YES),  # it takes IPv4 connections only
    ("family: 6", MatchResult.WRONG_BIND),  # the rule names its port: a near miss
])
def test_an_ipv4_mapped_bind_is_judged_as_the_ipv4_address(conditions: str,
                                                            expected: MatchResult) -> None:
    """A socket bound to ::ffff:127.0.0.1 is reached as 127.0.0.1 over IPv4 only: ss's
    and netstat's views of it are judged alike."""
    rule_ = rule(f"proto: tcp\nport: 8005\n{conditions}")
    for tool, text in (("ss", MAPPED_SS), ("netstat", MAPPED_NETSTAT)):
        (seen,) = PARSERS[tool](text)
        assert rule_.match.check(seen) is expected, (tool, seen.address, conditions)


@pytest.mark.parametrize(("conditions", "named"), [
    ("proto: tcp\nport: 443", ("tcp", 443)),
    ("proto: [udp, tcp]\nport: 53", ("tcp/udp", 53)),
    ("service: ssh", ("tcp", 22)),
    ("service: domain", ("tcp/udp", 53)),
    ("port: 8000-8100", ("any", None)),
    ("proto: tcp\nport: [80, 443]", ("tcp", None)),
    ("process: sshd", ("any", None)),
])
def test_findings_about_a_rule_name_proto_and_port_as_documented(
        conditions: str, named: tuple[str, int | None]) -> None:
    """docs/policies.md: protocols joined by '/', the port only when the rule names one."""
    from fleetcheck.policy.judge import rule_proto_port

    assert rule_proto_port(rule(conditions, "require")) == named


def test_a_wrong_process_names_the_holder_the_rule_refuses_first() -> None:
    """Among a pre-fork server's many holders the one an allow refused is named, not cut."""
    workers = tuple(f"httpd/{pid}" for pid in range(2, 70))
    held = L(process="httpd", user="root", other_processes=(*workers, "php-fpm/99"))
    said = owner_of(held, rule("port: 80\nprocess: httpd"))
    assert said == ("httpd (user root) and by php-fpm/99, httpd/2, httpd/3, httpd/4, "
                    "httpd/5 and 64 more")
    assert owner_of(held).endswith("httpd/6 and 64 more")  # no rule: as held
