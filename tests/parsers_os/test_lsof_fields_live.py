"""lsof -F as the macOS and AIX probes run it, against this machine's real lsof and sockets.

The field format is the same on every OS lsof runs on, so real sockets held in a
fresh namespace check the parser and the probe's rule that lsof counts only when it
printed something (its exit status says nothing) on real output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fleetcheck.collect.oses import LSOF_FIELDS
from fleetcheck.parsers import lsof_fields
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns
from tests.lab.prereq import require

PLANTED = [
    Sock("tcp", "0.0.0.0", 1923, process="spiced"),
    Sock("tcp", "::", 8080, process="web d", v6only=False),
    Sock("tcp", "127.0.0.1", 6379, process="redis-server", user="nobody"),
    Sock("udp", "0.0.0.0", 5353, process="mdnsd"),
    Sock("udp", "::1", 53, process="resolver"),
    Sock("udp", "127.0.0.1", 40000, process="resolver", connect_to=("127.0.0.1", 53)),
]


def _run(ns: Namespace, part: int, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """One of the probe's two lsof runs (0: TCP, 1: UDP), as its shell runs it."""
    env = {**os.environ, "PATH": f"{path}:{os.environ['PATH']}"} if path else None
    with in_netns(ns.name):
        return subprocess.run(["sh", "-c", LSOF_FIELDS.parts[part].command], env=env,
                              capture_output=True, text=True, check=False, timeout=60)


@pytest.mark.lab
def test_lsof_fields_reads_real_lsof(netns: Namespace, holders: SocketHolders) -> None:
    require(shutil.which("lsof") is not None, "lsof")
    holders.hold(PLANTED)
    tcp, udp = _run(netns, 0), _run(netns, 1)
    assert (tcp.returncode, udp.returncode) == (0, 0), tcp.stderr + udp.stderr
    got = {(li.proto, li.family, li.address, li.port, li.process, li.user)
           for li in lsof_fields.parse(tcp.stdout + udp.stdout)}
    assert got == {
        ("tcp", 4, "0.0.0.0", 1923, "spiced", "root"),
        ("tcp", 6, "::", 8080, "web d", "root"),  # +c0: the whole name, space included
        ("tcp", 4, "127.0.0.1", 6379, "redis-server", "nobody"),
        ("udp", 4, "0.0.0.0", 5353, "mdnsd", "root"),
        ("udp", 6, "::1", 53, "resolver", "root"),
    }


@pytest.mark.lab
def test_lsof_with_nothing_to_list_still_proves_it_ran(netns: Namespace) -> None:
    """No socket at all: lsof exits 1, yet it lists the probe's shell, so the run counts
    and finds no listener, while an lsof that fails prints nothing and does not count."""
    require(shutil.which("lsof") is not None, "lsof")
    for part in (0, 1):
        proc = _run(netns, part)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("p") and lsof_fields.parse(proc.stdout) == []


@pytest.mark.lab
def test_a_failing_lsof_is_a_failure_not_silence(netns: Namespace, tmp_path: Path) -> None:
    stand_in = tmp_path / "lsof"
    stand_in.write_text("#!/bin/sh\necho 'lsof: WARNING: can\'t stat() kernel' >&2\nexit 1\n")
    stand_in.chmod(0o755)
    for part in (0, 1):
        proc = _run(netns, part, str(tmp_path))
        assert (proc.returncode, proc.stdout) == (1, "")
