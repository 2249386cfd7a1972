"""Nights of a fleet for the history tests: hosts judged by the real policies, recorded in a
real database file exactly as `scan` records them (compare, judge once, record)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import ErrorKind
from fleetcheck.history import History
from fleetcheck.model import HostResult, Listener, RunResult, Severity
from fleetcheck.policy import Policy
from tests.render import builders

SSHD = Listener("tcp", 4, "0.0.0.0", 22, "sshd", 812, "root")


@functools.cache
def _policies() -> list[Policy]:
    return builders.policies()


def checked(name: str, *listeners: Listener) -> HostResult:
    """A host whose listeners (sshd plus `listeners`) were read and judged by the baseline."""
    return builders.checked_host(name, ("fleet",), [SSHD, *listeners], _policies())


def down(name: str) -> HostResult:
    """A host that could not be checked."""
    return builders.failed_host(name, ErrorKind.CONNECT_TIMEOUT, f"no answer from {name}")


def stray(port: int, process: str = "appd", pid: int = 4000, address: str = "0.0.0.0",
          proto: str = "tcp") -> Listener:
    """A listener the baseline does not allow."""
    return Listener(proto, 4 if ":" not in address else 6, address, port, process, pid, "root")


def at(day: int, hour: int = 2) -> str:
    """Night `day` of November 2026 (UTC)."""
    return f"2026-11-{day:02d}T{hour:02d}:00:00Z"


def run_of(hosts: Sequence[HostResult], when: str, run_id: str | None = None,
           gate: str = "all") -> RunResult:
    """A run of `hosts` started at `when`, judged once, with nothing compared yet."""
    base = builders.composite_run()
    settled, summary = judge_run(hosts, Severity.LOW, complete=True, gate=gate)
    return dataclasses.replace(base, run_id=run_id or f"run-{when}", started_at=when,
                               finished_at=when, hosts=settled, summary=summary, waivers=(),
                               meta={})


def night(db: History, hosts: Sequence[HostResult], when: str, *, gate: str = "all",
          keep_days: int | None = None, run_id: str | None = None) -> RunResult:
    """Compare, judge and record one run as `scan` does; returns the run as recorded."""
    comparison = db.compare(hosts, when)
    settled, summary = judge_run(comparison.hosts, Severity.LOW, complete=True, gate=gate)
    run = dataclasses.replace(run_of(hosts, when, run_id), hosts=settled, summary=summary,
                              changes=comparison.changes)
    assert comparison.trend is not None
    run = dataclasses.replace(run, trend=(*comparison.trend, run.trend_point()))
    db.record(run, keep_days=keep_days)
    return run


def changes_of(run: RunResult) -> dict[tuple[str, int | None], str | None]:
    """(host, port) -> change of every finding of the run."""
    return {(h.name, f.port): (f.change.value if f.change else None)
            for h in run.hosts for f in h.findings}


def open_db(tmp: Path, name: str = "history.sqlite3") -> History:
    """A database file in `tmp`."""
    return History(tmp / name, timeout=5)
