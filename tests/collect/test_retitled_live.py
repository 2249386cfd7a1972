"""Live: daemons that retitle themselves carry one name whichever tool listed them.

nginx, sshd, PostgreSQL and many more overwrite their command line with a title
('nginx: master process /usr/sbin/nginx'); net-tools netstat prints that title (cut to
its column) where ss, lsof and /proc print the kernel's name (comm). Real processes in
a lab namespace take a comm and a different command line; the real probe must name
each by its comm with every Linux tool, so one policy (`process: nginx`) and one
history identity hold across hosts, while the evidence keeps what netstat printed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fleetcheck.collect import CollectOptions, collect
from fleetcheck.collect.sections import split_output
from fleetcheck.parsers import PARSERS
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.local import LocalTransport
from tests.lab.netns import Namespace, Sock, holding, in_netns
from tests.lab.prereq import require_netns

pytestmark = pytest.mark.lab

RETITLED = {  # port -> (comm, command line's first word as the daemon rewrote it)
    31080: ("nginx", "nginx: master process /usr/sbin/nginx -g daemon on;"),
    31022: ("sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"),
    31432: ("postgres", "postgres: 16/main: checkpointer"),
    31500: ("worker", "/usr/local/bin/worker"),  # a path: netstat shows its base name
}


@pytest.fixture(scope="module")
def ns() -> Iterator[Namespace]:
    require_netns()
    with holding([Sock(proto, "0.0.0.0", port, process=comm, title=title)
                  for port, (comm, title) in RETITLED.items() for proto in ("tcp", "udp")]) \
            as (space, _):
        yield space


def _collect(ns: Namespace, tool: str | None) -> tuple[str | None, dict[tuple[str, int], str],
                                                       str]:
    host = PlannedHost(name="lab", address="localhost", groups=(), policies=(),
                       connection="local", tool=tool)
    with in_netns(ns.name):
        got = collect(host, LocalTransport(), CollectOptions(command_timeout=60))
    names = {(li.proto, li.port): li.process or "" for li in got.listeners
             if li.port in RETITLED}
    return got.collector, names, got.commands[-1].stdout


@pytest.mark.parametrize("tool", [None, "netstat", "proc"])
def test_retitled_daemons_are_named_by_comm(ns: Namespace, tool: str | None) -> None:
    collector, names, _ = _collect(ns, tool)
    assert collector == (tool or "ss")
    assert names == {(proto, port): comm for port, (comm, _) in RETITLED.items()
                     for proto in ("tcp", "udp")}


def test_netstat_evidence_keeps_what_netstat_printed(ns: Namespace) -> None:
    """The names come from a part of their own; the listing is kept as netstat printed it,
    and `fleetcheck parse --tool netstat` of it still gives netstat's text."""
    _, _, stdout = _collect(ns, "netstat")
    sections = {s.name: s.body for s in split_output(stdout, _nonce(stdout)).sections}
    assert "(nginx)" in sections["netstat.names"] and "(postgres)" in sections["netstat.names"]
    printed = {li.port: li.process for li in PARSERS["netstat"](sections["netstat"])
               if li.proto == "tcp" and li.port in RETITLED}
    assert printed[31080] is not None and printed[31080].startswith("nginx: ")
    assert printed[31022] is not None and printed[31022].startswith("sshd: /")
    assert printed[31500] == "worker"


def _nonce(stdout: str) -> str:
    """The probe's nonce, from its first fence ('@@fleetcheck:NONCE os Linux')."""
    first = stdout.split("\n", 1)[0]
    return first.split()[0].partition(":")[2]
