"""The processes engine grows: a second process takes waiting hosts only while this one is busy.

Real local checks (`ss` on this machine, each host its own probe), real spawned processes.
"""

from __future__ import annotations

import logging

import pytest

from fleetcheck.engine.options import MIN_SHARE, ScanOptions
from fleetcheck.engine.processes import ProcessEngine
from fleetcheck.engine.scan import choose_engine, scan
from fleetcheck.engine.threads import ThreadEngine
from fleetcheck.plan import PlannedHost

HOSTS = 120


def _hosts(n: int) -> list[PlannedHost]:
    return [PlannedHost(name=f"box{i:03d}", address="localhost", groups=(), policies=(),
                        connection="local") for i in range(n)]


def _checked(engine: ProcessEngine, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Scan HOSTS local hosts with `engine`; the log lines of processes added."""
    caplog.set_level(logging.INFO, logger="fleetcheck.engine.processes")
    options = ScanOptions(forks=4, workers=2, grow=True)
    run = scan(_hosts(HOSTS), options=options, engine=engine, meta={"workers": 2})
    assert run.meta["workers"] == engine.processes  # what ran, not the ceiling
    assert run.complete
    assert [h.name for h in run.hosts] == [f"box{i:03d}" for i in range(HOSTS)]
    assert all(h.error is None and h.listeners for h in run.hosts), \
        [(h.name, h.error) for h in run.hosts if h.error or not h.listeners]
    return [r.getMessage() for r in caplog.records if "worker process" in r.getMessage()]


def test_a_busy_process_hands_waiting_hosts_to_a_new_one(
        caplog: pytest.LogCaptureFixture) -> None:
    """Found busy (here: always), it starts one more process with part of its backlog."""
    engine = ProcessEngine(2, grow=True, busy=0.0, min_share=10, look=0.1)
    added = _checked(engine, caplog)
    assert len(added) == 1 and "worker process 1 takes" in added[0]
    assert engine.processes == 2
    taken = int(added[0].split(" takes ")[1].split()[0])
    assert 10 <= taken <= HOSTS // 2


def test_a_process_that_waits_on_the_network_stays_alone(
        caplog: pytest.LogCaptureFixture) -> None:
    """Never busy enough: no process is added, every host is still checked."""
    engine = ProcessEngine(2, grow=True, busy=float("inf"), min_share=10, look=0.1)
    assert _checked(engine, caplog) == []
    assert engine.processes == 1


def test_a_growing_run_too_small_to_share_uses_threads() -> None:
    """Below two shares' worth of hosts no process could ever be added: threads, no spawn."""
    options = ScanOptions(workers=4, grow=True)
    assert isinstance(choose_engine(options, 2 * MIN_SHARE - 1, connect=None), ThreadEngine)
    grown = choose_engine(options, 2 * MIN_SHARE, connect=None)
    assert isinstance(grown, ProcessEngine) and grown.grow and grown.workers == 4
    fixed = choose_engine(ScanOptions(workers=2), 3, connect=None)
    assert isinstance(fixed, ProcessEngine) and not fixed.grow
