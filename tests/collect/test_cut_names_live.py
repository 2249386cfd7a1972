"""Process names a tool prints cut, read whole from /proc: real ss and lsof, real sockets.

lsof on Linux reads a name from /proc/PID/stat up to the ')' closing the '(' before it:
'a)b(c)' shows as 'a', and a name starting with ')' leaves its COMMAND column holding
whatever lsof read before (another process's name). ss cuts at the first ')' too. The
probe reads each listed pid's comm and names the process by it, unless the comm holds
a newline (its first line could be what the tool printed: the tool's name stands). lsof
also cuts a name with bytes that are no ASCII to its COMMAND column's width.
"""

from __future__ import annotations

import shutil

import pytest

from fleetcheck.collect import CollectOptions, collect
from fleetcheck.parsers.lsof import shown
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.local import LocalTransport
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns
from tests.lab.prereq import require

pytestmark = pytest.mark.lab

CUT = {7201: "a)b(c)", 7202: ")x", 7203: "(a)", 7204: "6a)r(g)ewfNIRk.", 7205: "x)y z",
       # lsof sizes its column counting a byte that is no ASCII as one character and
       # prints it as four ('\xc3'): such names are cut to the column's width
       7208: "aéééééé", 7209: "жжжжжжжж"}
# The kernel keeps 15 bytes of a name: 'жжжжжжжж' is 16, and its last character is cut.
COMM = {**CUT, 7209: "жжжжжжж\ufffd"}
# lsof leaves the process out: the kernel's tables show the socket
SKIPPED = {7206: "a(b", 7210: "rR,)Z -R"}
MULTILINE = {7207: "a)b\nc"}  # ss prints 'a'; lsof leaves it out


def _host(tool: str | None) -> PlannedHost:
    return PlannedHost(name="lab", address="localhost", groups=(), policies=(),
                       connection="local", tool=tool)


def test_lsof_oracle() -> None:
    """What lsof prints of a comm, as the real lsof 4.95 printed each of these."""
    names = ("a(b)c", "a)b", "a(b", "a(b)c(d", "(x", "a)(b", ")x", "a((b)", "a)b(c", "a(b))c",
             # the word after the ')' is read as the state: 'Z' alone is a zombie's
             "a)Z b", "a) Z x", "a)Z\tb", "a(b)c)Z d", "a)Z", "a)Zb", "a) Z", "a)z b")
    assert [shown(n) for n in names] == \
        ["a(b)c", "a", None, None, None, "a", "", None, "a", "a(b)",
         None, None, None, None, "a", "a", "a", "a"]


@pytest.mark.parametrize("tool", ["ss", "lsof"])
def test_names_cut_by_the_tool_are_read_whole(tool: str, netns: Namespace,
                                              holders: SocketHolders) -> None:
    require(shutil.which(tool) is not None, tool)
    names = {**CUT, **SKIPPED, **MULTILINE}
    # Another process first, so that lsof's buffer holds a name before it meets ')x'.
    holders.hold([Sock("tcp", "0.0.0.0", 7200, process="before"),
                  *(Sock("tcp", "0.0.0.0", port, process=name) for port, name in names.items())])
    pids = {h.sock.port: h.pids[0] for h in holders.held}
    with in_netns(netns.name):
        got = collect(_host(tool), LocalTransport(), CollectOptions())
    assert got.collector == tool
    found = {li.port: (li.process, li.pid) for li in got.listeners}
    assert set(found) == {7200, *names}, found  # no socket lost, none listed twice
    for port, name in CUT.items():
        assert found[port] == (COMM[port], pids[port]), (tool, name)
    for port, name in SKIPPED.items():
        # ss prints them whole ('rR,)Z -R' after reading its comm); lsof skips them, and
        # only the kernel's tables list their sockets
        assert found[port] == ((name, pids[port]) if tool == "ss" else (None, None)), tool
    # A comm with a newline is not read: ss's 'a' stands, never its first line 'a)b'.
    assert found[7207] == (("a", pids[7207]) if tool == "ss" else (None, None)), tool
