"""Hosts that try to pass as compliant, over real SSH (with sudo), next to a healthy one.

On `halfproc` ss, netstat and BusyBox are gone and `cat` cannot read /proc/net/tcp and
tcp6 (a stand-in bind-mounted over it in that host's mount namespace; every other
file it reads with dd): the UDP tables alone would say nothing listens on TCP, so a
forbidden TCP listener there would pass unseen. The host must be an error naming the
missing tables, and the run must exit 3 at least.

On `named` local users' processes call themselves what breaks parsers
(tests/lab/hostile.py), one of them holding the forbidden TCP 1923 as 'ev\nil': every
listener must be judged under its name, so the host is noncompliant, the run exits 1,
and the healthy host stays compliant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import run_cli, run_files
from tests.lab.hostile import NAMES, hostile_socks, shown
from tests.lab.netns import Sock, in_netns
from tests.lab.prereq import require_sshd_lab
from tests.lab.sshlab import HostSpec, SshLab, running_lab

pytestmark = pytest.mark.lab

CAT_WITHOUT_TCP = (
    'for f; do case "$f" in /proc/net/tcp|/proc/net/tcp6) '
    'echo "cat: $f: Permission denied" >&2; exit 1;; esac; done\n'
    'st=0; for f; do dd if="$f" bs=65536 2>/dev/null || st=1; done; exit $st')
SPECS = [
    HostSpec("halfproc", hide=("ss", "netstat", "busybox", "lsof"),
             replace={"cat": CAT_WITHOUT_TCP}),
    HostSpec("named"),
    HostSpec("healthy"),
]
SPICE = Sock("tcp", "0.0.0.0", 1923, process="spiced")
HOSTILE_BASE = 20000


@dataclass
class Scanned:
    """One scan of the lab: exit code, hosts by name, and the pid holding each named port."""

    code: int
    hosts: dict[str, dict[str, Any]]
    pids: dict[int, int]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scanned]:
    require_sshd_lab()
    with running_lab(SPECS) as lab:
        lab.hold("halfproc", [SPICE, Sock("udp", "0.0.0.0", 5353, process="mdnsd")])
        held = lab.hold("named", [replace(SPICE, process=NAMES["newline"]),
                                  *hostile_socks(HOSTILE_BASE)])
        code, hosts = _scan(lab, tmp_path_factory.mktemp("scan"))
        yield Scanned(code, hosts, {h.sock.port: h.pids[0] for h in held.held})


def _scan(lab: SshLab, tmp: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    hosts = {name: {"ansible_host": h.address, "ansible_user": "fcops", "ansible_become": True,
                    "ansible_ssh_private_key_file": str(lab.key)}
             for name, h in lab.hosts.items()}
    inv = tmp / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    (tmp / "home" / ".ssh").mkdir(parents=True)
    argv = ["scan", "-i", str(inv), "-o", str(tmp / "out"), "--format", "json",
            "--known-hosts", str(lab.known_hosts), "--workers", "1"]
    with in_netns(lab.controller.name):
        res = run_cli(argv, cwd=tmp, environ={"HOME": str(tmp / "home")})
    report, = run_files(tmp / "out")
    return res.code, {h["name"]: h for h in json.loads(report.read_text())["hosts"]}


def test_partial_proc_listing_is_incomplete_never_compliant(scanned: Scanned) -> None:
    half = scanned.hosts["halfproc"]
    assert half["status"] == "error", half
    error = half["error"]
    assert error["kind"] == "incomplete_collection"
    message = str(error["message"])
    assert "tcp/IPv4, tcp/IPv6 not listed" in message
    assert "/proc/net/tcp: exit 1" in message and "/proc/net/tcp6: exit 1" in message
    assert half["listeners"] == [] and half["findings"] == []
    assert scanned.hosts["healthy"]["status"] == "compliant"
    assert scanned.hosts["healthy"]["error"] is None
    assert scanned.code == 1  # the named host's violation; without it, 3 (never 0)


def test_process_names_cannot_hide_listeners(scanned: Scanned) -> None:
    named = scanned.hosts["named"]
    assert named["error"] is None and named["status"] == "noncompliant", named["error"]
    assert named["collector"] == "ss"
    forbidden = [f for f in named["findings"] if f["port"] == 1923]
    assert [(f["kind"], f["process"]) for f in forbidden] == [("forbidden", "ev\nil")]
    by_port = {li["port"]: li for li in named["listeners"]}
    for i, name in enumerate(NAMES.values()):
        port = HOSTILE_BASE + i
        pid = scanned.pids[port]
        assert port in by_port, f"the listener of {name!r} was lost"
        # ss cuts a name at its first ')': the probe names each pid by its /proc comm
        assert (by_port[port]["pid"], by_port[port]["process"]) == (pid, shown("proc", name, pid))
