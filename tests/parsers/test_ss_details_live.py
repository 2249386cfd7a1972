"""Live: ss with -m, -i and -o prints indented detail lines under each socket; the parser
reads the sockets and leaves the details, whatever the flags a user captured ss with."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from fleetcheck.parsers import PARSERS
from tests.lab.netns import Namespace, Sock, holding
from tests.lab.prereq import require_netns

pytestmark = pytest.mark.lab

PLANTED = {("tcp", "0.0.0.0", 24001, "detailsrv"), ("udp", "0.0.0.0", 24002, "detailsrv"),
           ("tcp", "::", 24003, "detailsrv")}


@pytest.fixture(scope="module")
def ns() -> Iterator[Namespace]:
    require_netns()
    with holding([Sock(proto, address, port, process=name)
                  for proto, address, port, name in PLANTED]) as (space, _):
        yield space


@pytest.mark.parametrize("flags", ["-tulnpm", "-tulnpi", "-tulnpmie", "-tulnpo", "-Htulnpmi"])
def test_detail_lines_are_not_sockets(ns: Namespace, flags: str) -> None:
    out = subprocess.run(ns.exec_argv(["ss", flags]), capture_output=True, text=True,
                         check=True).stdout
    assert "\n\t" in out or flags == "-tulnpo"  # the details ss indents under each socket
    found = {(li.proto, li.address, li.port, li.process) for li in PARSERS["ss"](out)}
    assert found == PLANTED
