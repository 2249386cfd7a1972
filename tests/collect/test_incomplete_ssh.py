"""A host whose collection covered only part of its sockets, over real SSH, next to a healthy one.

On `halfproc` ss, netstat and BusyBox are gone and `cat` cannot read /proc/net/tcp and
tcp6 (a stand-in bind-mounted over it in that host's mount namespace; every other
file it reads with dd): the UDP tables alone would say nothing listens on TCP, so a
forbidden TCP listener there would pass unseen. The host must be an error naming the
missing tables, the run must exit 3, and the healthy host stays complete.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
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
    HostSpec("healthy"),
]
SPICE = Sock("tcp", "0.0.0.0", 1923, process="spiced")


@pytest.fixture(scope="module")
def lab() -> Iterator[SshLab]:
    require_sshd_lab()
    with running_lab(SPECS) as the_lab:
        the_lab.hold("halfproc", [SPICE, Sock("udp", "0.0.0.0", 5353, process="mdnsd")])
        yield the_lab


def _scan(lab: SshLab, tmp: Path) -> tuple[int, dict[str, dict[str, object]]]:
    hosts = {name: {"ansible_host": h.address, "ansible_user": "fcops",
                    "ansible_ssh_private_key_file": str(lab.key)}
             for name, h in lab.hosts.items()}
    inv = tmp / "inv.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    (tmp / "home" / ".ssh").mkdir(parents=True)
    argv = ["scan", "-i", str(inv), "-o", str(tmp / "out"), "--format", "json",
            "--known-hosts", str(lab.known_hosts), "--workers", "1"]
    with in_netns(lab.controller.name):
        res = run_cli(argv, cwd=tmp, environ={"HOME": str(tmp / "home")})
    report, = (tmp / "out").glob("*.json")
    return res.code, {h["name"]: h for h in json.loads(report.read_text())["hosts"]}


def test_partial_proc_listing_is_incomplete_and_exits_3(lab: SshLab, tmp_path: Path) -> None:
    code, hosts = _scan(lab, tmp_path)
    half = hosts["halfproc"]
    assert half["status"] == "error", half
    error = half["error"]
    assert isinstance(error, dict) and error["kind"] == "incomplete_collection"
    message = str(error["message"])
    assert "tcp/IPv4, tcp/IPv6 not listed" in message
    assert "/proc/net/tcp: exit 1" in message and "/proc/net/tcp6: exit 1" in message
    assert half["listeners"] == [] and half["findings"] == []
    assert hosts["healthy"]["status"] == "compliant" and hosts["healthy"]["error"] is None
    assert code == 3
