"""From the probe's namespace sections to listeners: which namespaces count, fail-closed rules.

The section bodies are as a lab host printed them (ss run through nsenter, `ls -l` of
/proc/PID/ns/net, grep of /proc/*/cgroup); each test changes one thing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fleetcheck.collect.combine import Incomplete
from fleetcheck.collect.netns import UNPRIVILEGED, attribute, is_ns_section
from fleetcheck.collect.sections import Section
from fleetcheck.model import CONTAINER_ONLY, HOST, PUBLISHED, Listener, Namespaces

ID = "a1" * 32
SS = ("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
      "tcp   LISTEN 0      16           0.0.0.0:80        0.0.0.0:*    "
      'users:(("nginx",pid=501,fd=3)) ino:2229755 sk:ae3 cgroup:/ <->\n'
      "tcp   LISTEN 0      16           0.0.0.0:1923      0.0.0.0:*    "
      'users:(("spiced",pid=502,fd=3)) ino:2229756 sk:ae4 cgroup:/ <->\n')
ADDRS = ("Main:\n  +-- 0.0.0.0/1 2 0 2\n     |-- 10.99.1.2\n        /32 host LOCAL\n")
INODES = "lrwxrwxrwx 1 root root 0 Dec  4 13:25 /proc/501/ns/net -> net:[4026532306]\n"
DNAT = "*nat\n-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.99.1.2:80\n"
HOST_LISTENERS = [Listener("tcp", 4, "0.0.0.0", 22, "sshd", 100),
                  Listener("tcp", 4, "0.0.0.0", 9100,
                                                                  "node_exporter", 600)]


def _sections(cgroup: str = f"/system.slice/docker-{ID}.scope",
              changes: dict[str, str | None] | None = None) -> list[Section]:
    bodies: dict[str, str | None] = {
        "cgroups": f"/proc/501/cgroup:0::{cgroup}\n/proc/502/cgroup:0::{cgroup}\n"
                   f"/proc/600/cgroup:0::/kubepods/besteffort/pod1/{'c3' * 32}\n",
        "netns.members": "501 501\n502 501\n", "netns.inodes": INODES,
        "ns-501.addrs": ADDRS, "ns-501.ss": SS, "nat.iptables": DNAT,
        "docker-proxy": "\n", **(changes or {})}
    rcs = {"nat.iptables": 0}
    return [Section(name, body, rcs.get(name, 0)) for name, body in bodies.items()
            if body is not None]


def _by_port(listeners: list[Listener]) -> dict[int, Listener]:
    return {li.port: li for li in listeners}


def test_a_container_namespace_is_read_attributed_and_exposed() -> None:
    got = attribute(_sections(), {"uid": "0"}, list(HOST_LISTENERS), [])
    ports = _by_port(got.listeners)
    assert (ports[80].netns, ports[80].exposure, ports[80].published_port) == (
        4026532306, PUBLISHED, 8080)
    spice, node = ports[1923].container, ports[9100].container
    assert spice is not None and node is not None
    assert (ports[1923].exposure, spice.runtime, spice.id) == (CONTAINER_ONLY, "docker", ID)
    # hostNetwork: the host's namespace, the pod's container
    assert (ports[9100].netns, ports[9100].exposure, node.id) == (None, HOST, "c3" * 32)
    assert ports[22].container is None
    assert got.namespaces == Namespaces(1) and got.notes == []


def test_unreadable_nat_rules_never_make_a_listener_container_only() -> None:
    sections = [replace(s, rc=4) if s.name == "nat.iptables" else s for s in _sections()]
    got = attribute(sections, {"uid": "0"}, list(HOST_LISTENERS), [])
    assert {li.exposure for li in got.listeners if li.netns} == {PUBLISHED}
    assert _by_port(got.listeners)[1923].published_port is None
    assert "NAT rules could not be read" in got.notes[0]


def test_a_namespace_of_no_container_here_is_not_reported() -> None:
    # another lab host's container: its cgroup is outside this host's cgroup namespace
    got = attribute(_sections(f"/../../fclab1/system.slice/docker-{ID}.scope"),
                    {"uid": "0"}, list(HOST_LISTENERS), [])
    assert [li.port for li in got.listeners] == [22, 9100]
    assert got.namespaces == Namespaces(0)


def test_a_namespace_listed_in_part_is_incomplete() -> None:
    failed = _sections(changes={"ns-501.ss": "nsenter: cannot open /proc/501/ns/net\n"})
    failed = [replace(s, rc=1) if s.name == "ns-501.ss" else s for s in failed]
    failed += [Section("ns-501.proc-net-tcp", "", 1), Section("ns-501.proc-net-tcp6", "", 0),
               Section("ns-501.proc-net-udp", "", 0), Section("ns-501.proc-net-udp6", "", 0)]
    with pytest.raises(Incomplete, match=r"network namespace of process 501.*tcp/IPv4"):
        attribute(failed, {"uid": "0"}, list(HOST_LISTENERS), [])


def test_a_namespace_that_ended_meanwhile_is_a_note() -> None:
    gone: dict[str, str | None] = {"ns-501.ss": None, "ns-501.addrs": None}
    got = attribute(_sections(changes=gone),
                    {"uid": "0", "nsgone": "501"}, list(HOST_LISTENERS), [])
    assert got.namespaces == Namespaces(0) and "ended while the probe ran" in got.notes[0]


def test_without_root_the_host_says_its_namespaces_could_not_be_read() -> None:
    got = attribute([], {"uid": "1000", "netns": "unread"}, list(HOST_LISTENERS), [])
    assert got.namespaces == Namespaces(0, UNPRIVILEGED) and got.notes == [UNPRIVILEGED]
    # no container cgroup at all: nothing to say
    assert attribute([], {"uid": "1000"}, list(HOST_LISTENERS), []).namespaces is None
    assert attribute([], {"uid": "0"}, list(HOST_LISTENERS), []).namespaces == Namespaces(0)


def test_namespace_sections_are_kept_apart_from_the_host_tool() -> None:
    assert all(is_ns_section(s.name) for s in _sections())
    assert not any(is_ns_section(n) for n in ("ss", "ss.users", "proc-net-tcp", "proc-stat",
                                               "lsof.tables", "netstat"))


def test_the_namespace_step_changes_and_loads_nothing() -> None:
    from fleetcheck.collect.probe import build_probe

    for tool in (None, "ss", "netstat", "busybox-netstat", "proc", "lsof"):
        script = build_probe("nonce", tool=tool, os="linux")
        assert "fc_ns() {" in script
        # no socket-killing mode, no rule change, no NAT table asked for by name (that
        # loads modules on a legacy iptables host)
        for word in (" -K", "--kill", "-t nat", " -D ", " -F ", "nft add", "nft delete"):
            assert word not in script, word
