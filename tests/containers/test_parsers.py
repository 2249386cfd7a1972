"""Pure readers of what a host prints about containers: cgroup paths, runtime listings, NAT.

The iptables-save and nft texts are as the lab's hosts printed them (tests/containers/
test_lab.py makes the same rules for real); runtime listings are written in each tool's
documented format.
"""

from __future__ import annotations

import json

import pytest

from fleetcheck.model import Container
from fleetcheck.parsers import containers, nat
from fleetcheck.parsers.containers import CgroupMatch, cgroup_container

ID = "0123456789abcdef" * 4


@pytest.mark.parametrize(("path", "expected"), [
    (f"/system.slice/docker-{ID}.scope", CgroupMatch("docker", ID)),
    (f"/docker/{ID}", CgroupMatch("docker", ID)),
    (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1_2.slice/"
     f"cri-containerd-{ID}.scope", CgroupMatch("containerd", ID)),
    (f"/kubepods.slice/kubepods-pod1_2.slice/crio-{ID}.scope", CgroupMatch("cri-o", ID)),
    (f"/kubepods/besteffort/pod0f3c2a8e-5d1b-4c7a-9e2f-6b8d1a4c3e21/{ID}",
     CgroupMatch(None, ID)),
    (f"/machine.slice/libpod-{ID}.scope", CgroupMatch("podman", ID)),
    (f"/machine.slice/libpod-{ID}.scope/container", CgroupMatch("podman", ID)),
    (f"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope",
     CgroupMatch("podman", ID)),
    (f"/libpod_parent/libpod-{ID}", CgroupMatch("podman", ID)),
    ("/machine.slice/systemd-nspawn@web\\x2d1.service/payload",
     CgroupMatch("systemd-nspawn", name="web-1")),
    ("/machine.slice/machine-db\\x2d2.scope", CgroupMatch("systemd-nspawn", name="db-2")),
    ("/lxc.payload.c1", CgroupMatch("lxc", name="c1")),
    ("/lxc.payload/c2", CgroupMatch("lxc", name="c2")),
    ("/lxc/c3/init.scope", CgroupMatch("lxc", name="c3")),
    (f"/system.slice/nerdctl-{ID}.scope", CgroupMatch("containerd", ID)),
])
def test_each_runtime_layout_is_recognised(path: str, expected: CgroupMatch) -> None:
    assert cgroup_container(path) == expected


@pytest.mark.parametrize("path", [
    "/", "/system.slice/ssh.service", "/user.slice/user-0.slice/session-3.scope",
    f"/fclab1234/system.slice/docker-{ID}.scope",  # not where docker puts containers
    f"/../../fclab1234/system.slice/docker-{ID}.scope",  # outside this cgroup namespace
    "/system.slice/docker-nothex.scope", f"/machine.slice/libpod-conmon-{ID}.scope",
    "/docker/short", "lxc", "",
])
def test_other_paths_belong_to_no_container(path: str) -> None:
    assert cgroup_container(path) is None


def test_cgroup_lines_of_a_process_must_read_as_one_hierarchy_each() -> None:
    body = (f"/proc/10/cgroup:0::/system.slice/docker-{ID}.scope\n"
            f"/proc/11/cgroup:9:name=systemd:/docker/{ID}\n"
            f"/proc/11/cgroup:0::/docker/{ID}\n"
            # a delegated cgroup named with a newline forges a second v2 line: distrusted
            f"/proc/12/cgroup:0::/user.slice/evil\n/proc/12/cgroup:0::/docker/{ID}\n"
            "/proc/13/cgroup:not a cgroup line\n"
            "garbage\n")
    assert containers.parse_cgroups(body) == {10: CgroupMatch("docker", ID),
                                              11: CgroupMatch("docker", ID)}


def test_docker_listing_rows_are_json_arrays() -> None:
    body = "\n".join([json.dumps([ID, "web", "nginx:1.25", "", "", ""]),
                      json.dumps(["b" * 64, "k8s_app_pod", "app:2", "pod-1", "prod", "app"]),
                      "Cannot connect to the Docker daemon", json.dumps(["short"])])
    got = containers.parse_docker_ps(body)
    assert got == {ID: Container(ID, "web", "nginx:1.25", "docker"),
                   "b" * 64: Container("b" * 64, "app", "app:2", "docker", "pod-1", "prod")}


def test_crictl_listing_names_pods_and_prefers_an_image_reference_to_an_id() -> None:
    body = json.dumps({"containers": [
        {"id": ID, "metadata": {"name": "meta-name"}, "image": {"image": "sha256:" + "1" * 64},
         "imageRef": "docker.io/library/redis@sha256:" + "2" * 64,
         "labels": {"io.kubernetes.container.name": "redis",
                    "io.kubernetes.pod.name": "cache-0",
                    "io.kubernetes.pod.namespace": "shop"}},
        {"id": "c" * 64, "metadata": {"name": "sidecar"}, "image": {"image": "envoy:1.30"},
         "labels": {}}, {"no": "id"}, "junk"]})
    got = containers.parse_crictl_ps(body)
    assert got[ID] == Container(ID, "redis", "docker.io/library/redis@sha256:" + "2" * 64,
                                None, "cache-0", "shop")
    assert got["c" * 64] == Container("c" * 64, "sidecar", "envoy:1.30")
    assert containers.parse_crictl_ps("crictl: command failed") == {}


def test_podman_listing() -> None:
    body = json.dumps([{"Id": ID, "Names": ["web"], "Image": "localhost/app:1",
                        "PodName": "shop"}, {"Names": ["no-id"]}])
    assert containers.parse_podman_ps(body) == {
        ID: Container(ID, "web", "localhost/app:1", "podman", "shop")}
    assert containers.parse_podman_ps("[") == {}


def test_listings_are_found_by_full_or_unique_prefix() -> None:
    known = {ID[:12]: Container(ID[:12], "web")}
    assert containers.by_prefix(known, ID) == Container(ID[:12], "web")
    assert containers.by_prefix(known, "f" * 64) is None


IPTABLES_SAVE = """\
# Generated by iptables-save v1.8.9 (nf_tables) on Fri Dec  4 13:25:11 2026
*nat
:PREROUTING ACCEPT [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.99.1.2:80
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A CNI-DN-431080a7096476b144e7e -p tcp -m tcp --dport 18080 -j DNAT --to-destination 10.88.0.9:80
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"podman\\"" -m multiport \
--dports 18080 -j CNI-DN-4310
-A DOCKER ! -i docker0 -p udp -m udp --dport 5000:5002 -j DNAT --to-destination 172.17.0.3:6000-6002
-A DOCKER -p tcp -m tcp ! --dport 22 -j DNAT --to-destination 172.17.0.4:22
-A KUBE-SEP-X -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080
-A DOCKER -p tcp -m tcp --dport 9000 -j DNAT --to-destination [fd00::5]:90
COMMIT
"""
NFT = """\
table ip nat {
	chain PREROUTING {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 8080 counter packets 0 bytes 0 dnat to 10.99.1.2:80
	}
}
table ip fcnat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 30443 dnat to 10.99.2.2:8443
		meta l4proto udp th dport 53 dnat ip to 10.99.3.2
		tcp dport != 22 dnat to 10.99.4.2
		tcp dport { 80, 443 } dnat to 10.99.5.2
	}
}
"""


def test_iptables_dnat_rules_with_a_port_are_read() -> None:
    got = nat.parse_iptables_save(IPTABLES_SAVE)
    assert got == [nat.Forward("tcp", 8080, 8080, "10.99.1.2", 80),
                   nat.Forward("tcp", 18080, 18080, "10.88.0.9", 80),
                   nat.Forward("udp", 5000, 5002, "172.17.0.3", 6000),
                   nat.Forward("tcp", 9000, 9000, "fd00::5", 90)]
    assert got[2].host_port("172.17.0.3", 6001) == 5001
    assert got[2].host_port("172.17.0.3", 6003) is None
    assert got[0].host_port("10.99.1.3", 80) is None


def test_nft_dnat_rules_are_read() -> None:
    got = nat.parse_nft(NFT)
    assert got == [nat.Forward("tcp", 8080, 8080, "10.99.1.2", 80),
                   nat.Forward("tcp", 30443, 30443, "10.99.2.2", 8443),
                   nat.Forward("udp", 53, 53, "10.99.3.2", None)]
    assert got[2].host_port("10.99.3.2", 53) == 53


def test_docker_proxy_command_lines() -> None:
    body = ("/usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8081 "
            "-container-ip 172.17.0.2 -container-port 80 \n\n/usr/bin/docker-proxy -proto sctp\n")
    assert nat.parse_docker_proxy(body) == [nat.Forward("tcp", 8081, 8081, "172.17.0.2", 80)]


def test_a_namespace_addresses_come_from_fib_trie_and_if_inet6() -> None:
    body = """\
Main:
  +-- 0.0.0.0/1 2 0 2
     +-- 10.99.2.0/24 2 0 2
        |-- 10.99.2.0
           /24 link UNICAST
        |-- 10.99.2.2
           /32 host LOCAL
        |-- 10.99.2.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
00000000000000000000000000000001 01 80 10 80       lo
fe80000000000000d465a9fffe0cc77f 02 40 20 c0     eth0
"""
    assert nat.parse_addresses(body) == {"10.99.2.2", "127.0.0.1", "::1",
                                         "fe80::d465:a9ff:fe0c:c77f"}


def test_ipv4_mapped_destinations_are_written_as_ss_writes_them() -> None:
    """`::ffff:172.17.0.2`, never `::ffff:ac11:2` (Python before 3.13 wrote that): a forward
    must name the address as the listener tables do, on every Python."""
    body = ("/usr/bin/docker-proxy -proto tcp -host-ip :: -host-port 8081 "
            "-container-ip ::ffff:172.17.0.2 -container-port 80\n")
    assert nat.parse_docker_proxy(body) == [
        nat.Forward("tcp", 8081, 8081, "::ffff:172.17.0.2", 80)]
    rule = "-A DOCKER -p tcp -m tcp --dport 9000 -j DNAT --to-destination [::ffff:10.99.1.2]:90\n"
    assert nat.parse_iptables_save(rule)[0].address == "::ffff:10.99.1.2"
    if_inet6 = "00000000000000000000ffff0a630202 02 60 00 80     eth0\n"
    assert nat.parse_addresses(if_inet6) == {"::ffff:10.99.2.2"}
