"""The ports register (and the HTML report that shows it) grows linearly with waivers.

Found: each waiver's row asked every host whether the waiver selected it and counted the
findings it waived over every host, and each policy's rows asked every host: a run with a
waiver per host was quadratic (4,000 of each: 12 s for the register, and again in the HTML
report). The run's hosts are now gathered by waiver and by policy in one pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from fleetcheck.evidence import register
from fleetcheck.model import RunResult, WaiverRecord
from tests.growth import FACTOR, LIMIT, growth
from tests.history.nights import checked, down, run_of, stray
from tests.render import builders


def _run(n: int, shared: int = 0) -> RunResult:
    """n hosts with a stray each, waived by a waiver of its own; the first `shared` hosts'
    strays on port 9999 are waived by one waiver they share instead."""
    hosts = []
    for i in range(n):
        wid = "SHARED" if i < shared else f"W{i}"
        port = 9999 if i < shared else 9000 + i % 7
        host = builders.waive(checked(f"h{i:05d}", stray(port)), port, wid)
        hosts.append(dataclasses.replace(host, waivers=(wid,)))
    hosts.append(dataclasses.replace(down("gone"), waivers=("SHARED",)))
    records = [WaiverRecord(id=wid, status="active", reason="r", owner="o",
                            expires="2030-12-31", hosts="all", matched=1)
               for wid in ("SHARED", *(f"W{i}" for i in range(shared, n)))]
    return dataclasses.replace(run_of(hosts, "2026-11-26T02:00:00Z"), waivers=tuple(records))


def test_each_waiver_row_names_its_hosts_and_what_it_waived() -> None:
    rows = {r.id: r for r in register.rows(_run(5, shared=3))}
    assert (rows["SHARED"].hosts, rows["SHARED"].checked, rows["SHARED"].allowed) == (
        ("h00000", "h00001", "h00002", "gone"), 3, 3)
    assert (rows["W4"].hosts, rows["W4"].checked, rows["W4"].allowed) == (("h00004",), 1, 1)
    ssh = rows["baseline/ssh"]  # every host judged by the baseline, the one down too
    assert (len(ssh.hosts), ssh.checked, ssh.allowed) == (6, 5, 5)


def _rows(n: int) -> Callable[[], None]:
    run = _run(n)

    def make() -> None:
        assert len(register.rows(run)) == len(register.rule_rows(run)) + 1 + n  # SHARED too
    return make


def test_a_waiver_per_host_costs_linear_time() -> None:
    assert growth(_rows(150), _rows(150 * FACTOR)) < LIMIT
