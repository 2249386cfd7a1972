"""The processes engine grows: a second process takes waiting hosts only while this one is busy.

Real local checks (`ss` on this machine, each host its own probe), real spawned processes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
from collections import Counter
from collections.abc import Iterator

import pytest

from fleetcheck.engine.options import MIN_SHARE, ScanOptions
from fleetcheck.engine.processes import ProcessEngine
from fleetcheck.engine.scan import choose_engine, scan
from fleetcheck.engine.threads import ThreadEngine
from fleetcheck.model import HostResult
from fleetcheck.plan import PlannedHost

HOSTS = 120


@pytest.fixture(autouse=True)
def _a_listener() -> Iterator[None]:
    """A socket of our own, so that every check has at least one listener to find."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield


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


def test_ctrl_c_after_growth_keeps_what_both_processes_finished() -> None:
    """An interrupt once a process was added: finished hosts of both kept, no process left."""
    hosts = _hosts(400)
    engine = ProcessEngine(2, grow=True, busy=0.0, min_share=10, look=0.1)

    class Taken(logging.Handler):
        """Notes how many waiting hosts the added process took."""

        def emit(self, record: logging.LogRecord) -> None:
            if "worker process 1 takes" in record.getMessage():
                taken.append(int(record.getMessage().split(" takes ")[1].split()[0]))

    def done(result: HostResult) -> None:
        """Sends this process SIGINT once the added process has sent a few results.

        Counting its results, not waiting a while, keeps the interrupt mid-run however
        fast or slow the machine is (a timer let a loaded machine finish first).
        """
        seen.append(result.name)
        if taken and int(result.name[3:]) >= len(hosts) - taken[0]:
            handed_back.append(result.name)
            if len(handed_back) == 3:
                os.kill(os.getpid(), signal.SIGINT)

    seen: list[str] = []
    taken: list[int] = []
    handed_back: list[str] = []
    log = logging.getLogger("fleetcheck.engine.processes")
    handler = Taken()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    # Python's own Ctrl-C, whatever this suite inherited (a background job ignores SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run = scan(hosts, options=ScanOptions(forks=2, workers=2, grow=True), engine=engine,
                   on_done=done)
    finally:
        signal.signal(signal.SIGINT, previous)
        log.removeHandler(handler)
    errors = Counter(f"{h.error.kind}: {h.error.message}" for h in run.hosts if h.error)
    assert not run.complete and engine.processes == 2, (taken, len(handed_back), errors)
    checked = [h for h in run.hosts if h.error is None]
    assert 0 < len(checked) < len(hosts) and all(h.listeners for h in checked)
    assert {h.name for h in checked} == set(seen)
    assert all(h.error.kind == "not_run" for h in run.hosts if h.error is not None)
    # The added process took the last hosts waiting; this one works from the front.
    handed = [h for h in checked if int(h.name[3:]) >= len(hosts) - taken[0]]
    assert handed, "the added process finished none of the hosts it took"
    assert multiprocessing.active_children() == []
