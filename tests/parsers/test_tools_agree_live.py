"""Live: the same real sockets, seen through every Linux tool the probe can use.

One lab namespace holds the awkward sockets of tests/lab/linux_scenario.py. Each tool
is run through the real probe (pinned with fleetcheck_tool), and each must report
exactly what the lab bound, as that tool shows it; the tools must agree with each other.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fleetcheck.collect import CollectOptions, collect
from fleetcheck.model import Listener
from fleetcheck.parsers import PARSERS
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.local import LocalTransport
from tests.lab import linux_scenario
from tests.lab.netns import Namespace, SocketHolders, in_netns

pytestmark = pytest.mark.lab

Key = tuple[str, int, str, int]


@dataclass
class Lab:
    """The namespace, its holders, and what each tool reported."""

    ns: Namespace
    holders: SocketHolders
    seen: dict[str, list[Listener]]


def _busybox_has_pids() -> bool:
    out = subprocess.run(["busybox", "netstat", "-tulnp"], capture_output=True, check=False)
    return out.returncode == 0


def _probe(ns: Namespace, tool: str) -> tuple[str | None, list[Listener]]:
    host = PlannedHost(name="lab", address="localhost", groups=(), policies=(),
                       connection="local", tool=tool)
    with in_netns(ns.name):
        got = collect(host, LocalTransport(), CollectOptions(command_timeout=60))
    return got.collector, list(got.listeners)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with linux_scenario.held() as (ns, holders):
        seen = {}
        for tool in ("ss", "netstat", "lsof", "proc"):
            collector, seen[tool] = _probe(ns, tool)
            assert collector == tool
        if _busybox_has_pids():
            collector, seen["busybox-netstat"] = _probe(ns, "busybox-netstat")
            assert collector == "busybox-netstat"
        else:  # Debian's BusyBox has no netstat -p: the probe would fall to /proc
            out = subprocess.run(ns.exec_argv(["busybox", "netstat", "-tuln"]),
                                 capture_output=True, text=True, check=True)
            seen["busybox-netstat-nopid"] = PARSERS["busybox-netstat"](out.stdout)
        yield Lab(ns, holders, seen)


def _dicts(listeners: list[Listener]) -> list[dict[str, object]]:
    return sorted((li.to_dict() for li in listeners), key=repr)


@pytest.mark.parametrize("tool", ["ss", "netstat", "busybox-netstat", "lsof", "proc"])
def test_each_tool_reports_exactly_what_was_bound(lab: Lab, tool: str) -> None:
    dialect = tool if tool in lab.seen else f"{tool}-nopid"
    oracle = f"{tool}-collected" if tool in ("ss", "netstat", "lsof", "proc") else dialect
    wanted = linux_scenario.expected(oracle, lab.holders.held)
    assert _dicts(lab.seen[dialect]) == _dicts(wanted)


def _key(li: Listener) -> Key:
    return (li.proto, li.family, li.address, li.port)


def _holders(li: Listener) -> set[int]:
    """Every pid a listener names: its owner and the processes sharing the socket."""
    pids = {int(p.rpartition("/")[2]) for p in li.other_processes}
    return pids | ({li.pid} if li.pid is not None else set())


def test_the_tools_agree(lab: Lab) -> None:
    def comparable(tool: str) -> Counter[Key]:
        return Counter(_key(li) for li in lab.seen[tool] if not li.truncated)

    sockets = comparable("ss")
    assert len(sockets) >= 12
    # net-tools cuts addr:port to 23 columns (and flags those rows truncated).
    fitting = Counter({k: n for k, n in sockets.items() if len(f"{k[2]}:{k[3]}") < 23})
    for tool in lab.seen:
        if tool == "netstat":
            assert comparable(tool) == fitting, tool
            assert sum(li.truncated for li in lab.seen[tool]) == sockets.total() - fitting.total()
        else:
            assert comparable(tool) == sockets, tool
    # Whoever a tool names as owner is one of the processes ss sees on that socket,
    # under the same name; the lowest pid of those it names (collect/holders.py: no
    # holder here is pid 1), the one netstat can name.
    owners = {(_key(li), pid): li.process for li in lab.seen["ss"] for pid in _holders(li)}
    for tool, listeners in lab.seen.items():
        for li in listeners:
            if li.pid is not None and not li.truncated:
                assert owners[(_key(li), li.pid)] == li.process, (tool, li)
                assert li.pid == min(_holders(li)), (tool, li)
