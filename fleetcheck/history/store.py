"""The history database as a scan uses it: compare, then record, in one transaction.

`compare` begins the run's transaction (`BEGIN IMMEDIATE`: a second run waits here, up
to the busy timeout, until the first has committed) and reads each host's past;
`record` writes the run and commits. A failure anywhere rolls the whole run back.
"""

from __future__ import annotations

import contextlib
import gc
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from fleetcheck.frozen import frozen, replace
from fleetcheck.history import load
from fleetcheck.history.compare import compare, parse_utc, utc
from fleetcheck.history.db import DEFAULT_TIMEOUT, HistoryError, connect, failures
from fleetcheck.history.query import Damaged, typed
from fleetcheck.history.record import counts_of, record
from fleetcheck.model import Changes, Comparison, HostResult, RunResult, TrendPoint

TREND_RUNS = 30  # runs the trend chart spans, this one included
DEFAULT_KEEP_DAYS = 90  # run details kept; daily totals and intervals are kept for ever
_TREND = ("run_id", "started_at", "hosts", "violations", "new", "fixed", "unchecked")
_TREND_KINDS = ("str", "str", "int", "int", "int", "int", "int")


@frozen
class Pruned:
    """What a prune removed."""

    cutoff: str
    runs: int
    host_runs: int
    spans: int


@contextlib.contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic garbage collection while a run is compared or recorded.

    Both allocate tens of thousands of small objects and make no cycles; with a large
    fleet's run in memory, each collection the allocations would trigger walks millions
    of objects (measured: most of a 10,000-host run's recording time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class History:
    """One open history database."""

    def __init__(self, path: Path, timeout: float = DEFAULT_TIMEOUT, *,
                 create: bool = True) -> None:
        self.path = path
        self.timeout = timeout
        self.conn = connect(path, timeout, create=create)
        self._pending: Comparison | None = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Roll back anything unfinished and close."""
        self.rollback()
        self.conn.close()

    def rollback(self) -> None:
        """Abandon the run under way, if any (the database stays as before it)."""
        self._pending = None
        if self.conn.in_transaction:
            # SQLite may have rolled back by itself already (e.g. on a full disk).
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def compare(self, hosts: Sequence[HostResult], now: str) -> Comparison:
        """Begin the run's transaction and compare `hosts` with their pasts as of `now`;
        the trend holds the runs recorded so far."""
        try:
            with failures(self.path, self.timeout), _bulk():
                if not self.conn.in_transaction:
                    self.conn.execute("BEGIN IMMEDIATE")
                _, pasts = load.pasts(self.conn, hosts)
                comparison = compare(hosts, pasts, now,
                                     against={"source": "history", "database": str(self.path)})
                trend = self.trend(TREND_RUNS - 1)
        except (ValueError, TypeError, KeyError) as exc:  # a value the past was read from
            self.rollback()
            raise HistoryError(self.path, f"damaged history database: {exc.__class__.__name__}"
                                          f": {exc}") from None
        except HistoryError:
            self.rollback()
            raise
        self._pending = comparison
        return replace(comparison, trend=trend)

    def record(self, run: RunResult, *, source: str = "scan",
               keep_days: int | None = DEFAULT_KEEP_DAYS) -> None:
        """Record `run` (compared by `compare` just before) and commit; prune run details
        older than `keep_days` before `run` in the same transaction (None: keep all)."""
        pending = self._pending
        if pending is None:
            raise HistoryError(self.path, "record() without compare(): nothing to record")
        try:
            with failures(self.path, self.timeout), _bulk():
                record(self.conn, run, counts_of(pending.changes or Changes(), pending.hosts),
                       source)
                if keep_days is not None:
                    prune(self.conn, _cutoff(self.conn, run, keep_days))
                self.conn.execute("COMMIT")
        finally:
            self.rollback()

    def add(self, run: RunResult, *, keep_days: int | None = None) -> RunResult | None:
        """Compare and record a saved run (an import); None when its run_id is recorded
        already. Returns the run as compared with the database."""
        with failures(self.path, self.timeout):
            if self.conn.execute("SELECT 1 FROM runs WHERE run_id = ?",
                                 (run.run_id,)).fetchone():
                return None
        comparison = self.compare(run.hosts, run.started_at)
        compared = replace(run, hosts=comparison.hosts, changes=comparison.changes)
        self.record(compared, source="import", keep_days=keep_days)
        return compared

    def trend(self, limit: int) -> tuple[TrendPoint, ...]:
        """The last `limit` recorded runs, oldest first."""
        rows = self.conn.execute(
            "SELECT run_id, started_at, hosts, violations, new + reopened, fixed, unchecked "
            "FROM runs ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)).fetchall()
        return tuple(TrendPoint(*typed("runs", _TREND, _TREND_KINDS, r))
                     for r in reversed(rows))

    def prune(self, keep_days: int, now: str) -> Pruned:
        """Drop run details older than `keep_days` before `now`, in one transaction."""
        with failures(self.path, self.timeout):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                pruned = prune(self.conn, cutoff_before(now, keep_days))
                self.conn.execute("COMMIT")
            finally:
                self.rollback()
        return pruned


def _cutoff(conn: sqlite3.Connection, run: RunResult, keep_days: int) -> str:
    """What a run prunes before: `keep_days` before its start, or before the newest other
    run's when that one would go too. A run whose clock was far ahead (next year) would
    otherwise drop every real run's details; the runs after it, timed right, count from
    their own start again."""
    cutoff = cutoff_before(run.started_at, keep_days)
    newest = conn.execute("SELECT max(started_at) FROM runs WHERE run_id != ?",
                          (run.run_id,)).fetchone()[0]
    if newest is None or newest == "":
        return cutoff
    if not isinstance(newest, str):
        typed("runs", ("started_at",), ("str",), (newest,))  # Damaged, naming it
    if newest < cutoff:
        try:
            return cutoff_before(newest, keep_days)
        except ValueError:  # a damaged database: a time as text fleetcheck never writes
            raise Damaged(f"damaged history database: runs.started_at holds {newest!r:.40}, "
                          "not a time") from None
    return cutoff


def cutoff_before(now: str, keep_days: int) -> str:
    """The time `keep_days` days before `now`, as the database writes times."""
    return utc((parse_utc(now) - timedelta(days=keep_days)).isoformat())


def prune(conn: sqlite3.Connection, cutoff: str) -> Pruned:
    """Delete runs started before `cutoff` (their host rows go with them) and intervals
    closed before it. Daily totals, open intervals and each identity's first sighting
    stay, so ages, reopenings and the long trend survive."""
    host_runs = conn.execute(
        "DELETE FROM host_runs WHERE run IN (SELECT id FROM runs WHERE started_at < ?)",
        (cutoff,)).rowcount
    runs = conn.execute("DELETE FROM runs WHERE started_at < ?", (cutoff,)).rowcount
    spans = conn.execute("DELETE FROM spans WHERE closed_at < ?", (cutoff,)).rowcount
    return Pruned(cutoff, runs, host_runs, spans)
