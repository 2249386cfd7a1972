"""The container view against generated hosts whose truth is known (tests/containers/hunt.py).

Each seed draws a host's containers (runtimes' cgroup layouts, shared pod namespaces,
hostNetwork pods, idle namespaces, listeners on the wildcard, loopback or the container's
address, ports published by iptables, nft or a docker-proxy stand-in, decoy rules), makes
them real on one lab host, scans it as root and compares every listener's namespace,
container, exposure, published port and verdict under a generated policy with the truth.
FC_HUNT_SEEDS=N runs N more seeds (from FC_HUNT_FROM, 1000 by default).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers.fixtures import scan
from tests.containers.hunt import (
    build,
    compare,
    compare_verdicts,
    ended,
    generate,
    nsenter_shim,
    policy,
    write_doomed,
    write_listings,
)
from tests.lab.containers import ContainerHost
from tests.lab.netns import Namespace
from tests.lab.prereq import require_sshd_lab
from tests.lab.sshlab import HostSpec, SshLab, running_lab

pytestmark = pytest.mark.lab

SEEDS = (1, 2, 3, 4, 3002, 1096)  # 3002: only a hostNetwork pod, read from /proc;
# 1096: a pod whose first container ends as the probe enters the namespace with it
# Each seed's host is one of these (seed % 4): the same containers seen through ss,
# net-tools netstat, the /proc tables, or with no NAT rule set readable.
VARIANTS = {"ss": (), "netstat": ("ss",), "proc": ("ss", "netstat", "busybox", "lsof"),
            "nonat": ("iptables-save", "ip6tables-save", "nft")}


@pytest.fixture(scope="module")
def hunt_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SshLab, Path]]:
    require_sshd_lab()
    where = tmp_path_factory.mktemp("listings")
    tools = {tool: f"cat {where}/{tool}.out" for tool in ("docker", "crictl", "podman")}
    real = shutil.which("nsenter")
    assert real is not None
    tools["nsenter"] = nsenter_shim(where, real)
    (where / "doomed").write_text("")
    specs = [HostSpec(name, cgroupns=True, add_tools=tools, hide=hide)
             for name, hide in VARIANTS.items()]
    with running_lab(specs) as lab:
        yield lab, where


def run_seed(lab: SshLab, where: Path, tmp: Path, seed: int) -> list[str]:
    """Make seed's host, scan it, and list every disagreement with its truth."""
    specs = generate(seed)
    name = list(VARIANTS)[seed % len(VARIANTS)]
    rules_read = name != "nonat"
    dual_shown = name not in ("netstat", "proc")  # only ss shows IPV6_V6ONLY
    host = ContainerHost(lab, name)
    ns = lab.hosts[name].ns
    try:
        write_listings(where, specs)
        built = build(host, specs)
        write_doomed(where, specs, built)
        # the policy's rules do not depend on which containers end: only the verdicts do
        text, _ = policy(seed, specs, built, rules_read, dual_shown)
        result = scan(lab, tmp / f"seed{seed}", policy=text, hosts=(name,))
        scanned = result.hosts[name]
        killed = ended(specs, built)  # the doomed whose namespace the probe entered
        _, verdicts = policy(seed, specs, built, rules_read, dual_shown, killed)
        return [f"[{name}] {d}" for d in compare(specs, built, scanned, rules_read,
                                                   dual_shown, killed)
                + compare_verdicts(verdicts, scanned)]
    finally:
        host.stop()
        _flush(ns)


def _flush(ns: Namespace) -> None:
    import subprocess
    subprocess.run(ns.exec_argv(["iptables", "-t", "nat", "-F"]), check=False,
                   capture_output=True)
    subprocess.run(ns.exec_argv(["nft", "flush", "ruleset"]), check=False, capture_output=True)


def _seeds() -> list[int]:
    extra = int(os.environ.get("FC_HUNT_SEEDS", "0"))
    start = int(os.environ.get("FC_HUNT_FROM", "1000"))
    return [*SEEDS, *range(start, start + extra)]


def test_generated_hosts_match_their_truth(hunt_lab: tuple[SshLab, Path],
                                           tmp_path: Path) -> None:
    lab, where = hunt_lab
    failures = {}
    for seed in _seeds():
        bad = run_seed(lab, where, tmp_path, seed)
        if bad:
            failures[seed] = bad
    assert not failures, "\n".join(f"seed {s}: {b}" for s, b in failures.items())
