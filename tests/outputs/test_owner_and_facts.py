"""Facts the probe saw, said in words: the distribution from os-release, and why a listener's
owner is unknown although the scan ran as root. Real sockets in a real namespace: a kernel
socket (a vxlan device's UDP port) and a socket whose process lives outside the PID
namespace fleetcheck runs in."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetcheck.model import HostResult, RunResult
from fleetcheck.render import FORMATS, view
from tests.conftest import run_cli
from tests.lab.netns import Namespace, Sock, SocketHolders
from tests.lab.prereq import require_netns

pytestmark = pytest.mark.lab
HIDDEN_PORT, VXLAN_PORT = 7001, 4789


def pretty_name() -> str | None:
    """PRETTY_NAME of this machine's os-release, read here independently of the probe."""
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip("\"'")
        return None
    return None


def test_the_os_column_names_the_distribution(tmp_path: Path) -> None:
    res = run_cli(["scan", "--format", "json", "-o", "-"], cwd=tmp_path)
    host = json.loads(res.out)["hosts"][0]
    expected = pretty_name()
    assert host.get("distribution") == expected and host["os"].startswith("Linux ")
    run = RunResult.from_dict(json.loads(res.out))
    shown = view.os_words(run.hosts[0])
    assert shown == f"{expected} · {host['os']}" if expected else shown == host["os"]
    text = FORMATS["text"].render(run)
    assert f"OS          {shown}" in text or shown.split(" · ")[0] in text


@pytest.fixture(scope="module")
def namespace() -> Iterator[Namespace]:
    require_netns()
    ns = Namespace().create()
    holders = SocketHolders(ns)
    try:
        subprocess.run(["ip", "-n", ns.name, "link", "add", "fcvx0", "type", "vxlan", "id",
                        "42", "dstport", str(VXLAN_PORT), "dev", "lo"], check=True)
        subprocess.run(["ip", "-n", ns.name, "link", "set", "fcvx0", "up"], check=True)
        holders.hold([Sock("tcp", "0.0.0.0", HIDDEN_PORT, process="outsider")])
        yield ns
    finally:
        holders.stop()
        ns.delete()


def _scan(ns: Namespace, tmp_path: Path, own_pid_namespace: bool) -> dict[str, HostResult]:
    """A scan of the namespace by two local hosts (ss, and /proc pinned), run as a real
    process; in a PID namespace of its own when asked (it sees only its own processes)."""
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n    by-ss: {ansible_connection: local}\n"
                   "    by-proc: {ansible_connection: local, fleetcheck_tool: proc}\n")
    argv = [sys.executable, "-m", "fleetcheck", "scan", "-i", str(inv), "--format", "json",
            "-o", "-"]
    if own_pid_namespace:
        argv = ["unshare", "--pid", "--fork", "--mount-proc", *argv]
    out = subprocess.run(ns.exec_argv(argv), capture_output=True, text=True, timeout=120,
                         check=False, cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    # The whole run is read: a host's command records refer to the run's command table.
    return {h.name: h for h in RunResult.from_dict(json.loads(out.stdout)).hosts}


def _why(host: HostResult, port: int) -> tuple[str | None, str]:
    """The listener's process on `port`, and what the reports say about its owner."""
    (jl,) = [jl for jl in host.listeners if jl.listener.port == port]
    return jl.listener.process, view.owner_unknown_why(host, jl.listener)


def test_owner_unknown_says_why(namespace: Namespace, tmp_path: Path) -> None:
    inside = _scan(namespace, tmp_path, own_pid_namespace=True)
    for name in ("by-ss", "by-proc"):
        assert inside[name].privileged is True and inside[name].status.value != "error"
    # ss names no process and shows no inode fleetcheck keeps: the three possibilities
    assert _why(inside["by-ss"], HIDDEN_PORT) == (None, view.OWNER_UNSEEN)
    assert _why(inside["by-ss"], VXLAN_PORT) == (None, view.OWNER_UNSEEN)
    # /proc gives the inode that no visible process holds
    process, why = _why(inside["by-proc"], HIDDEN_PORT)
    assert process is None and why.startswith("no process the probe could see holds its inode ")
    assert "another PID namespace" in why and "kernel" in why
    assert _why(inside["by-proc"], VXLAN_PORT)[0] is None
    # Seen from the namespace's own PID namespace the holder is there: no reason needed.
    outside = _scan(namespace, tmp_path, own_pid_namespace=False)
    assert _why(outside["by-ss"], HIDDEN_PORT) == ("outsider", "")
    assert _why(outside["by-proc"], HIDDEN_PORT) == ("outsider", "")
    assert _why(outside["by-proc"], VXLAN_PORT)[0] is None  # the kernel's, from anywhere
