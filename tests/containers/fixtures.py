"""What the container lab tests share: emulated runtime listings, policies, a scan helper.

The namespaces, cgroups, sockets and DNAT rules of the lab's containers are real
(tests/lab/containers.py); what `docker ps` and `crictl ps` would say about them cannot
be had without those runtimes, so the lab host's `docker` and `crictl` are emulated:
they print listings written in each tool's format for the lab's container ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import run_cli, run_files
from tests.lab.netns import in_netns
from tests.lab.sshlab import SshLab
from tests.runschema import commands_written_out

WEB_ID = "a1" * 32  # docker: the web container
POD_ID = "b2" * 32  # containerd: a pod's container (monitoring/prometheus-7d4b9c8f6-xk2lp)
NODE_ID = "c3" * 32  # containerd: a hostNetwork pod's container (node-exporter)
POD_UID = "0f3c2a8e-5d1b-4c7a-9e2f-6b8d1a4c3e21"
NODE_UID = "7e6d5c4b-3a29-4817-8f6e-5d4c3b2a1908"

# `docker ps --no-trunc --format '[{{json .ID}},...]'` as the probe asks for it.
DOCKER_PS = json.dumps([WEB_ID, "web", "nginx:1.25", "", "", ""])
# `crictl ps -o json` (CRI ListContainers as crictl prints it).
CRICTL_PS = json.dumps({"containers": [
    {"id": POD_ID, "podSandboxId": "d4" * 32, "metadata": {"name": "prometheus", "attempt": 0},
     "image": {"image": "sha256:" + "e5" * 32},
     "imageRef": "quay.io/prometheus/prometheus@sha256:" + "f6" * 32,
     "state": "CONTAINER_RUNNING", "createdAt": "1764848400000000000",
     "labels": {"io.kubernetes.container.name": "prometheus",
                "io.kubernetes.pod.name": "prometheus-7d4b9c8f6-xk2lp",
                "io.kubernetes.pod.namespace": "monitoring",
                "io.kubernetes.pod.uid": POD_UID}, "annotations": {}},
    {"id": NODE_ID, "podSandboxId": "a7" * 32, "metadata": {"name": "node-exporter", "attempt": 1},
     "image": {"image": "quay.io/prometheus/node-exporter:v1.8.2"},
     "imageRef": "sha256:" + "b8" * 32,
     "state": "CONTAINER_RUNNING", "createdAt": "1764848400000000000",
     "labels": {"io.kubernetes.container.name": "node-exporter",
                "io.kubernetes.pod.name": "node-exporter-4kzq9",
                "io.kubernetes.pod.namespace": "monitoring",
                "io.kubernetes.pod.uid": NODE_UID}, "annotations": {}},
]})


def emulated_tool(output: str) -> str:
    """A shim that prints `output` (whatever its arguments: the probe calls it once)."""
    return f"cat <<'FCEOF'\n{output}\nFCEOF"


# Judges container-only listeners, allows the monitoring pods' metrics port, forbids
# publishing nginx images.
JUDGE_POLICY = """\
name: containers
default: deny
containers: judge
allow:
  - id: ssh
    proto: tcp
    port: 22
  - id: metrics
    namespace: container
    k8s_namespace: monitoring
    port: 9090
forbid:
  - id: spice
    proto: tcp
    port: 1923
    severity: critical
  - id: published-nginx
    image: "nginx*"
    exposure: published
    severity: high
"""
WAIVERS = """\
waivers:
  - id: W-WEB
    hosts: all
    container: web
    port: 1923
    reason: The web container's remote display, until the image is rebuilt.
    owner: alice
    approved_by: bob
    created: 2030-01-01
    expires: 2030-12-31
"""


@dataclass
class Scan:
    """One scan: exit code, hosts by name, the run JSON."""

    code: int
    hosts: dict[str, dict[str, Any]]
    run: dict[str, Any]
    out: Path
    stdout: str


def scan(lab: SshLab, tmp: Path, *, user: str = "fcops", become: bool = True,
         policy: str | None = None, waivers: str | None = None,
         hosts: tuple[str, ...] | None = None, formats: str = "json") -> Scan:
    """Scan the lab's hosts (over real SSH) as `user`, with `policy` text if given."""
    tmp.mkdir(parents=True, exist_ok=True)
    names = hosts or tuple(lab.hosts)
    inventory = {name: {"ansible_host": lab.hosts[name].address, "ansible_user": user,
                        "ansible_become": become,
                        "ansible_ssh_private_key_file": str(lab.key)} for name in names}
    inv = tmp / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": inventory}}))
    (tmp / "home" / ".ssh").mkdir(parents=True, exist_ok=True)
    argv = ["scan", "-i", str(inv), "-o", str(tmp / "out"), "--format", formats,
            "--known-hosts", str(lab.known_hosts), "--workers", "1", "--today", "2030-06-01"]
    if policy is not None:
        (tmp / "policy.yml").write_text(policy)
        argv += ["-p", str(tmp / "policy.yml")]
    if waivers is not None:
        (tmp / "waivers.yml").write_text(waivers)
        argv += ["-w", str(tmp / "waivers.yml")]
    with in_netns(lab.controller.name):
        res = run_cli(argv, cwd=tmp, environ={"HOME": str(tmp / "home")})
    report, = run_files(tmp / "out")
    run = commands_written_out(json.loads(report.read_text()))
    return Scan(res.code, {h["name"]: h for h in run["hosts"]}, run, tmp / "out", res.out)


def by_port(host: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """A host's listeners by port (the lab gives each port to one listener)."""
    out: dict[int, dict[str, Any]] = {}
    for li in host["listeners"]:
        out.setdefault(li["port"], li)
    return out
