"""IPv6 sockets bound to IPv4-mapped addresses, as each Linux collector lists them: real
tools, real sockets.

ss and the kernel's tables print `::ffff:127.0.0.1`; lsof prints the IPv4 address (type
IPv6) and `::ffff:0.0.0.0` as `*`, which read alone is `::` (IPv6 any, maybe IPv4 too)
though the socket takes IPv4 only: the lsof collector takes the address from the
tables' entry of the row's inode. net-tools netstat prints the IPv4 address on a tcp6
row, read as IPv4 (the corpus's contract for `parse`); it takes IPv4 only, so either
way a rule judges it the same.
"""

from __future__ import annotations

import shutil

import pytest

from fleetcheck.collect import CollectOptions, collect
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.local import LocalTransport
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns
from tests.lab.prereq import require

pytestmark = pytest.mark.lab

SOCKS = [Sock("udp", "::ffff:127.0.0.1", 7301, v6only=False, process="m1"),
         Sock("tcp", "::ffff:0.0.0.0", 7302, v6only=False, process="m2"),
         Sock("tcp", "::ffff:127.0.0.5", 7303, v6only=False, process="m3", user="nobody"),
         Sock("tcp", "0.0.0.0", 7304, process="v4"), Sock("tcp", "::", 7305, process="v6")]
# (family, address, dual_stack) of each port; netstat's where it differs
KERNEL = {7301: (6, "::ffff:127.0.0.1", False), 7302: (6, "::ffff:0.0.0.0", False),
          7303: (6, "::ffff:127.0.0.5", False), 7304: (4, "0.0.0.0", False),
          7305: (6, "::", False)}
NETSTAT = {**KERNEL, 7301: (4, "127.0.0.1", False), 7302: (4, "0.0.0.0", False),
           7303: (4, "127.0.0.5", False), 7305: (6, "::", None)}


@pytest.mark.parametrize("tool", ["ss", "lsof", "proc", "netstat"])
def test_mapped_addresses_as_the_kernel_has_them(tool: str, netns: Namespace,
                                                 holders: SocketHolders) -> None:
    require(tool == "proc" or shutil.which(tool) is not None, tool)
    holders.hold(SOCKS)
    host = PlannedHost(name="lab", address="localhost", groups=(), policies=(),
                       connection="local", tool=tool)
    with in_netns(netns.name):
        got = collect(host, LocalTransport(), CollectOptions())
    assert got.collector == tool
    found = {li.port: (li.family, li.address, li.dual_stack) for li in got.listeners}
    wanted = NETSTAT if tool == "netstat" else KERNEL
    if tool in ("lsof", "proc"):  # '::' either way: whether it takes IPv4 is not shown
        wanted = {**wanted, 7305: (6, "::", None)}
    assert found == wanted, tool
    assert {li.port: li.process for li in got.listeners} == {
        7301: "m1", 7302: "m2", 7303: "m3", 7304: "v4", 7305: "v6"}, tool
