"""The project's own Linux captures (tests/fixtures/linux) parse to their expected listeners.

The captures are real outputs of ss, net-tools and BusyBox netstat, lsof and /proc,
taken in a lab namespace by tests/fixtures/capture_linux.py; their expected listeners
come from what the lab really bound, not from the parsers. Those named
`<capture>-<tool version>-<release>` were taken with other Debian releases' tools
(bullseye, trixie, sid: older and newer than the machine's), run in the same lab.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetcheck.parsers import PARSERS, guess

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "linux"
CASES = sorted(FIXTURES.glob("*.json"))


def test_every_capture_is_there() -> None:
    names = {p.stem for p in CASES}
    assert {"ss-tulnpe", "ss-Htulnp", "ss-tlnp", "netstat-tulnpe", "netstat-tulnpeW",
            "netstat-tulp-names", "busybox-netstat-tulnp", "busybox-netstat-tuln",
            "lsof-nP-i", "lsof-nP-c0-i", "proc-net-tables"} <= names


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_capture_parses_to_its_expected_listeners(case: Path) -> None:
    meta = json.loads(case.read_text())
    text = case.with_suffix(".out").read_text()
    got = [li.to_dict() for li in PARSERS[meta["parser"]](text)]
    assert got == meta["listeners"]
    assert got, "a capture of the lab's sockets cannot be empty"
    # --tool auto reads it the same (BusyBox's table is net-tools' table to the guess).
    found = guess(text).tool
    assert found in (meta["parser"], "netstat")
    assert [li.to_dict() for li in PARSERS[found](text)] == got


RELEASES = {"bullseye": ("iproute2-5.9.0", "net-tools-2.10-alpha", "busybox-1.30.1",
                         "lsof-4.93.2"),
            "trixie": ("iproute2-6.15.0", "net-tools-2.10", "busybox-1.37.0", "lsof-4.99.4"),
            "sid": ("iproute2-7.3.0", "net-tools-2.10", "busybox-1.38.0")}  # trixie's lsof


def test_other_releases_tools_are_all_captured() -> None:
    names = {p.stem for p in CASES}
    for release, versions in RELEASES.items():
        for version in versions:
            found = {n for n in names if n.endswith(f"-{version}-{release}")}
            assert len(found) == (3 if "busybox" not in version else 1), (release, version)


def test_iproute2_7_masks_names_and_older_ones_do_not() -> None:
    """ss of iproute2 7 prints a control byte of a process name as '.' and a byte that is
    no ASCII as '?'; 6.15 and older print the name raw. `parse` reports what ss shows."""
    def names(case: str) -> set[object]:
        return {li["process"] for li in _features(case) if li["port"] in (7002, 7005)}

    assert names("ss-tulnpe-iproute2-7.3.0-sid") == {"w??b", "t.ab"}
    assert names("ss-tulnpe-iproute2-6.15.0-trixie") == {"wëb", "t\tab"}
    assert names("ss-tulnpe-iproute2-5.9.0-bullseye") == {"wëb", "t\tab"}


def _features(case: str) -> list[dict[str, object]]:
    listeners: list[dict[str, object]] = json.loads((FIXTURES / f"{case}.json").read_text())[
        "listeners"]
    return listeners


def test_captures_cover_the_awkward_cases() -> None:
    """The scenario really exercises what the parsers must handle (guards a re-capture)."""
    ss = _features("ss-tulnpe")
    assert any(li.get("dual_stack") for li in ss)
    assert any(li.get("iface") == "fcv0" for li in ss)
    assert any(li.get("other_processes") for li in ss)
    assert any(li["process"] == "web d" for li in ss)
    assert sum(li["port"] == 4789 for li in ss) == 2  # SO_REUSEPORT: two sockets
    assert not any(li["port"] == 40000 for li in ss)  # connected UDP is no listener
    netstat = _features("netstat-tulnpe")
    assert {li["address"] for li in netstat if li.get("truncated")} == {
        "2001:db8:aaaa:bbbb:", "fd00:1234:5678::10"}
    assert not any(li.get("truncated") for li in _features("netstat-tulnpeW"))
    names = _features("netstat-tulp-names")
    assert {"localhost", "::"} <= {str(li["address"]) for li in names}
    assert {"redis", "http-alt", "mdns"} <= {str(li.get("port_name")) for li in names}
    shared = [li for li in _features("lsof-nP-i") if li["port"] == 8000]
    assert len(shared) == 2  # one socket, held by two processes: lsof lists both


def test_ss_uids_come_from_e_fields_and_absent_uid_means_root() -> None:
    """`ss -e` prints uid: only for non-zero uids; rows without -e fields have no uid."""
    from fleetcheck.parsers import ss

    text = ("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
            "tcp   LISTEN 0      128    0.0.0.0:2024 0.0.0.0:* ino:1129 sk:1 cgroup:/ <->\n"
            "tcp   LISTEN 0      128    127.0.0.1:5432 0.0.0.0:* "
            'users:(("postgres",pid=26,fd=3)) uid:104 ino:19 sk:7 <->\n'
            "udp   UNCONN 0      0      0.0.0.0:68 0.0.0.0:*\n")
    assert [li.uid for li in ss.parse_with_uids(text)] == [0, 104, None]
    assert [li.uid for li in ss.parse(text)] == [None, None, None]  # parse keeps corpus shape


def test_passwd_lines_name_uids_and_odd_lines_are_skipped() -> None:
    from fleetcheck.parsers.owners import parse_passwd

    text = ("root:x:0:0:root:/root:/bin/bash\n+@netgroup::::::\n# comment\n"
            "postgres:x:104:110:PostgreSQL:/var/lib/postgresql:/bin/sh\n"
            "alias:x:104:110::/:/bin/sh\nbroken line\n")
    assert parse_passwd(text) == {0: "root", 104: "postgres"}


def test_a_process_name_cannot_forge_its_sockets_uid() -> None:
    """The real uid: follows users:(...); a name that contains 'uid:0' does not make root."""
    from fleetcheck.parsers import ss

    text = ("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
            'tcp   LISTEN 0      128    0.0.0.0:8080 0.0.0.0:* users:(("x uid:0",pid=7,fd=3)) '
            "uid:1000 ino:55 sk:9 <->\n")
    (listener,) = ss.parse_with_uids(text)
    assert listener.uid == 1000
