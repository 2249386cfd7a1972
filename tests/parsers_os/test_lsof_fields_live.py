"""lsof -F as the macOS and AIX probes run it, against this machine's real lsof and sockets.

The field format is the same on every OS lsof runs on, so real sockets held in a
fresh namespace check the parser and the probe's empty-output rule on real output.
"""

from __future__ import annotations

import shutil
import subprocess

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


def _run(ns: Namespace) -> subprocess.CompletedProcess[str]:
    with in_netns(ns.name):
        return subprocess.run(["sh", "-c", LSOF_FIELDS], capture_output=True, text=True,
                              check=False, timeout=60)


@pytest.mark.lab
def test_lsof_fields_reads_real_lsof(netns: Namespace, holders: SocketHolders) -> None:
    require(shutil.which("lsof") is not None, "lsof")
    holders.hold(PLANTED)
    proc = _run(netns)
    assert proc.returncode == 0, proc.stderr
    got = {(li.proto, li.family, li.address, li.port, li.process, li.user)
           for li in lsof_fields.parse(proc.stdout)}
    assert got == {
        ("tcp", 4, "0.0.0.0", 1923, "spiced", "root"),
        ("tcp", 6, "::", 8080, "web d", "root"),  # +c0: the whole name, space included
        ("tcp", 4, "127.0.0.1", 6379, "redis-server", "nobody"),
        ("udp", 4, "0.0.0.0", 5353, "mdnsd", "root"),
        ("udp", 6, "::1", 53, "resolver", "root"),
    }


@pytest.mark.lab
def test_lsof_with_nothing_to_list_is_a_failure_not_silence(netns: Namespace) -> None:
    """No socket at all: lsof prints nothing and the attempt must not count."""
    require(shutil.which("lsof") is not None, "lsof")
    proc = _run(netns)
    assert proc.stdout == ""
    assert proc.returncode != 0
