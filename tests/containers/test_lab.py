"""Containers on real sshd lab hosts: every listener found, attributed, judged, reported.

Each host has its own cgroup root and cgroup namespace (HostSpec.cgroupns), so what it
sees of cgroups is what a machine sees of its own. Its "containers" are real: processes
in their own network namespaces joined to the host's by veth pairs, in cgroups named as
docker and containerd name theirs; ports are published by real DNAT rules (iptables on
one, nft on another) in the host's namespace. What `docker ps` and `crictl ps` say
about them is emulated (tests/containers/fixtures.py): those runtimes are not here.

- `dock`: a docker container `web` (TCP 80 published on 8080, TCP 81 by a stand-in
  docker-proxy on 8081, the stray TCP 1923), a
  Kubernetes pod's container (TCP 9090 container-only, TCP 8443 published on 30443 by
  nft) and a hostNetwork pod (TCP 9100 in the host's namespace);
- `procns`: no ss, netstat or BusyBox: the host and its container are read from /proc;
- `halfns`: no nsenter, and `cat` cannot read a container's /proc/PID/net/tcp: that
  namespace is listed only in part, so the host is incomplete, never compliant.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleetcheck.model import RunResult
from fleetcheck.render import RenderOptions, html, text
from tests.conftest import run_cli, run_files
from tests.containers.fixtures import (
    CRICTL_PS,
    DOCKER_PS,
    JUDGE_POLICY,
    NODE_ID,
    NODE_UID,
    POD_ID,
    POD_UID,
    WAIVERS,
    WEB_ID,
    Scan,
    by_port,
    emulated_tool,
    scan,
)
from tests.lab.containers import ContainerHost, LabContainer, containerd_cgroup, docker_cgroup
from tests.lab.netns import Sock, in_netns
from tests.lab.prereq import require, require_sshd_lab
from tests.lab.sshlab import HostSpec, SshLab, running_lab

pytestmark = pytest.mark.lab

CAT_WITHOUT_NS_TCP = (
    'for f; do case "$f" in /proc/[0-9]*/net/tcp) '
    'echo "cat: $f: Permission denied" >&2; exit 1;; esac; done\n'
    'st=0; for f; do dd if="$f" bs=65536 2>/dev/null || st=1; done; exit $st')
SPECS = [
    HostSpec("dock", cgroupns=True, add_tools={"docker": emulated_tool(DOCKER_PS),
                                                "crictl": emulated_tool(CRICTL_PS)}),
    HostSpec("procns", cgroupns=True, hide=("ss", "netstat", "busybox", "lsof")),
    HostSpec("halfns", cgroupns=True, hide=("nsenter",), replace={"cat": CAT_WITHOUT_NS_TCP}),
]


@dataclass
class Lab:
    """The running lab, its containers by name, and the scans made of it."""

    lab: SshLab
    containers: dict[str, LabContainer]
    tmp: Path
    root: Scan  # privileged, the built-in baseline
    judged: Scan  # privileged, a policy that judges containers, a waiver by container name


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_sshd_lab()
    for tool in ("nsenter", "iptables", "nft"):
        require(bool(_which(tool)), f"{tool} (the container lab's namespaces and DNAT rules)")
    with running_lab(SPECS) as sshlab:
        hosts = {name: ContainerHost(sshlab, name) for name in sshlab.hosts}
        try:
            dock = hosts["dock"]
            made = {
                "web": dock.start(docker_cgroup(WEB_ID), [
                    Sock("tcp", "0.0.0.0", 80, process="nginx"),
                    Sock("tcp", "0.0.0.0", 81, process="nginx"),
                    Sock("tcp", "0.0.0.0", 1923, process="spiced")], ident=WEB_ID),
                "prometheus": dock.start(containerd_cgroup(POD_ID, POD_UID), [
                    Sock("tcp", "0.0.0.0", 9090, process="prometheus"),
                    # ss cuts a name at ')' ('hook(v2'): the probe names it by its comm
                    Sock("tcp", "0.0.0.0", 8443, process="hook(v2)x")], ident=POD_ID),
                "node": dock.start(containerd_cgroup(NODE_ID, NODE_UID), [
                    Sock("tcp", "0.0.0.0", 9100, process="node_exporter")], ident=NODE_ID,
                    own_netns=False),
                "proc-app": hosts["procns"].start(docker_cgroup("d4" * 32), [
                    Sock("tcp", "0.0.0.0", 1923, process="spiced"),
                    Sock("udp", "0.0.0.0", 5353, process="mdnsd")]),
                "half-app": hosts["halfns"].start(docker_cgroup("e5" * 32), [
                    Sock("tcp", "0.0.0.0", 7000, process="app")]),
            }
            dock.publish("tcp", 8080, made["web"], 80, tool="iptables")
            dock.publish("tcp", 30443, made["prometheus"], 8443, tool="nft")
            dock.proxy("tcp", 8081, made["web"], 81)
            tmp = tmp_path_factory.mktemp("containers")
            root = scan(sshlab, tmp / "root", formats="json,text,html")
            judged = scan(sshlab, tmp / "judged", policy=JUDGE_POLICY, waivers=WAIVERS,
                          hosts=("dock",))
            yield Lab(sshlab, made, tmp, root, judged)
        finally:
            for host in hosts.values():
                host.stop()


def _which(tool: str) -> str | None:
    from shutil import which
    return which(tool) or which(tool, path="/usr/sbin:/sbin")


def _netns_inode(container: LabContainer) -> int:
    assert container.ns is not None
    return os.stat(f"/run/netns/{container.ns.name}").st_ino


def test_stray_1923_in_a_container_is_found_attributed_and_forbidden(lab: Lab) -> None:
    dock = lab.root.hosts["dock"]
    assert dock["status"] == "noncompliant", dock["error"]
    spice = by_port(dock)[1923]
    web = lab.containers["web"]
    assert (spice["process"], spice["pid"]) == ("spiced", web.holders.held[2].pids[0])
    assert spice["netns"] == _netns_inode(web)
    assert spice["container"] == {"id": WEB_ID, "name": "web", "image": "nginx:1.25",
                                  "runtime": "docker", "pod": None, "k8s_namespace": None}
    assert (spice["exposure"], spice["verdict"], spice["rule"]) == (
        "container-only", "forbidden", "baseline/spice")
    finding, = [f for f in dock["findings"] if f["port"] == 1923]
    assert finding["kind"] == "forbidden" and finding["container"]["name"] == "web"
    assert "in web (docker, image nginx:1.25)" in finding["message"]
    assert lab.root.code == 1


def test_a_real_dnat_rule_makes_a_container_port_published(lab: Lab) -> None:
    dock = by_port(lab.root.hosts["dock"])
    assert (dock[80]["exposure"], dock[80]["published_port"]) == ("published", 8080)
    assert (dock[8443]["exposure"], dock[8443]["published_port"]) == ("published", 30443)
    assert dock[8443]["process"] == "hook(v2)x"  # as the kernel names it, not as ss prints it
    # docker-proxy (a stand-in named and called as dockerd starts it) publishes too
    assert (dock[81]["exposure"], dock[81]["published_port"]) == ("published", 8081)
    # the baseline judges a published container port as it judges the host's own
    assert dock[80]["verdict"] == "stray" and dock[8443]["verdict"] == "stray"
    # and the rules are real: the host's port reaches the container's listener
    address = lab.lab.hosts["dock"].address
    with in_netns(lab.lab.controller.name):
        for port in (8080, 30443):
            with socket.create_connection((address, port), timeout=5):
                pass
        with pytest.raises(OSError):
            socket.create_connection((address, 8081), timeout=5).close()


def test_container_only_listeners_are_listed_not_stray_under_the_baseline(lab: Lab) -> None:
    host = lab.root.hosts["dock"]
    metrics = by_port(host)[9090]
    assert (metrics["exposure"], metrics["verdict"], metrics["rule"]) == (
        "container-only", "listed", None)
    assert metrics["netns"] == _netns_inode(lab.containers["prometheus"])
    assert metrics["container"] == {
        "id": POD_ID, "name": "prometheus",
        "image": "quay.io/prometheus/prometheus@sha256:" + "f6" * 32,
        "runtime": "containerd", "pod": "prometheus-7d4b9c8f6-xk2lp",
        "k8s_namespace": "monitoring"}
    assert not [f for f in host["findings"] if f["port"] == 9090]
    assert host["namespaces"] == {"read": 2, "unread": None}
    report, = run_files(lab.root.out)
    explained = run_cli(["explain", "--run", str(report), "dock", "9090"], cwd=lab.tmp)
    assert "in prometheus-7d4b9c8f6-xk2lp" not in explained.out  # the pod's label, not its name
    assert "in pod monitoring/prometheus-7d4b9c8f6-xk2lp, container prometheus" in explained.out
    assert "verdict: LISTED, no rule decided, and it is container-only: listed, not stray " \
        "(containers: list in baseline)" in explained.out


def test_a_host_network_pod_is_a_host_listener_with_its_pod_named(lab: Lab) -> None:
    node = by_port(lab.root.hosts["dock"])[9100]
    assert "netns" not in node and node["exposure"] == "host"
    assert node["container"]["pod"] == "node-exporter-4kzq9"
    assert node["container"]["name"] == "node-exporter"
    assert node["verdict"] == "stray"  # judged as every host listener is


def test_containers_read_from_proc_when_no_tool_is_there(lab: Lab) -> None:
    host = lab.root.hosts["procns"]
    assert host["collector"] == "proc" and host["status"] == "noncompliant", host["error"]
    listeners = by_port(host)
    app = lab.containers["proc-app"]
    spice = listeners[1923]
    assert (spice["process"], spice["pid"], spice["netns"]) == (
        "spiced", app.holders.held[0].pids[0], _netns_inode(app))
    assert spice["container"]["runtime"] == "docker" and spice["verdict"] == "forbidden"
    assert (listeners[5353]["proto"], listeners[5353]["exposure"]) == ("udp", "container-only")
    assert "ns-" in host["commands"][-1]["stdout"]  # the namespace's own /proc tables


def test_a_namespace_listed_in_part_makes_the_host_incomplete(lab: Lab) -> None:
    host = lab.root.hosts["halfns"]
    assert host["status"] == "error" and host["listeners"] == []
    message = host["error"]["message"]
    assert host["error"]["kind"] == "incomplete_collection"
    assert "network namespace of process" in message and "tcp/IPv4 not listed" in message


def test_policies_match_containers_and_waivers_name_them(lab: Lab) -> None:
    dock = lab.judged.hosts["dock"]
    listeners = by_port(dock)
    assert (listeners[9090]["verdict"], listeners[9090]["rule"]) == ("allowed",
                                                                     "containers/metrics")
    assert (listeners[80]["verdict"], listeners[80]["rule"]) == (
        "forbidden", "containers/published-nginx")
    assert listeners[8443]["verdict"] == "stray"  # published, and nothing allows it
    spice, = [f for f in dock["findings"] if f["port"] == 1923]
    assert (spice["waived"], spice["waiver"]) == (True, "W-WEB")
    web_waiver, = lab.judged.run["waivers"]
    assert web_waiver["status"] == "active"


def test_unprivileged_scan_marks_unread_namespaces_and_exits_3_when_judged(lab: Lab) -> None:
    judged = scan(lab.lab, lab.tmp / "plain-judged", user="fcplain", become=False,
                  policy=JUDGE_POLICY)
    for name in ("dock", "procns", "halfns"):
        host = judged.hosts[name]
        assert host["status"] == "error" and host["error"]["kind"] == "incomplete_collection"
        assert "could not be read" in host["error"]["message"]
        assert "containers: judge in containers" in host["error"]["message"]
    assert judged.code == 3
    listed = scan(lab.lab, lab.tmp / "plain-listed", user="fcplain", become=False,
                  hosts=("dock",))
    host = listed.hosts["dock"]
    assert host["error"] is None and host["namespaces"]["read"] == 0
    assert "could not be read" in host["namespaces"]["unread"]
    assert any("network namespaces other than the host's" in n for n in host["notes"])
    assert all(li.get("netns") is None for li in host["listeners"])


def test_reports_group_listeners_by_namespace_and_the_fleet_by_image(lab: Lab) -> None:
    run = RunResult.from_dict(lab.root.run)
    report = text.render(run, RenderOptions(width=160))
    assert "[host network namespace]" in report
    assert "[web (docker, image nginx:1.25)] network namespace" in report
    assert "[hostNetwork, pod monitoring/node-exporter-4kzq9, container node-exporter" in report
    assert "exposure: container-only, published on host port 8080" in report
    assert "CONTAINER IMAGES (4 images)" in report
    page = html.render(run, RenderOptions(rendered_at="2030-06-01T00:00:00Z"))
    assert page.count('<h4 class="netns">') == 4 + 2  # dock: 4 places; procns: 2; halfns: none
    assert '<section id="images">' in page and "nginx:1.25" in page
    written = {p.suffix for p in lab.root.out.iterdir()}
    assert {".json", ".txt", ".html"} <= written
