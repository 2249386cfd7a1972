"""Reading the history back: runs with their counts, daily totals, one host's timeline."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from typing import Any

from fleetcheck.history.identity import FINDING, Key, describe


def as_dict(row: Any) -> dict[str, Any]:
    """A row of this module as JSON."""
    return {f.name: getattr(row, f.name) for f in fields(row)}


@dataclass(frozen=True, slots=True)
class RunRow:
    """One recorded run and what it counted."""

    run_id: str
    started_at: str
    source: str
    complete: bool
    gate: str
    exit_code: int
    hosts: int
    checked: int
    unchecked: int
    violations: int
    new: int
    reopened: int
    fixed: int
    unverified: int
    flapping: int
    open_total: int

    to_dict = as_dict


@dataclass(frozen=True, slots=True)
class DayRow:
    """One day's totals (kept for ever)."""

    day: str
    runs: int
    hosts: int
    checked: int
    unchecked: int
    violations: int
    open_total: int
    new: int
    reopened: int
    fixed: int

    to_dict = as_dict


@dataclass(frozen=True, slots=True)
class HostRun:
    """One run of one host."""

    run_id: str
    started_at: str
    status: str
    error_kind: str | None
    findings: int
    violations: int
    new: int
    reopened: int
    fixed: int


@dataclass(frozen=True, slots=True)
class Event:
    """Something of the host opened, reopened or closed at a run."""

    at: str
    what: str  # opened | reopened | closed
    key: Key
    finding: dict[str, Any] | None  # the finding as last seen (None for a listener)

    @property
    def text(self) -> str:
        """'stray tcp/1923 on 0.0.0.0 (spiced)'."""
        return describe(self.key)


@dataclass(frozen=True, slots=True)
class OpenItem:
    """Something open at the host's last checked run."""

    key: Key
    first_seen: str
    opened_at: str
    opens: int
    flaps: int
    finding: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Timeline:
    """One host's history: its runs (within retention), what is open, and every change."""

    host: str
    checks: int
    last_checked_at: str | None
    last_checked_run: str | None
    runs: tuple[HostRun, ...]
    open: tuple[OpenItem, ...]
    events: tuple[Event, ...]


_RUN_COLUMNS = ", ".join(f.name for f in fields(RunRow))


def runs(conn: sqlite3.Connection, since: str | None = None, last: int | None = None
         ) -> list[RunRow]:
    """Recorded runs started at or after `since`, oldest first (the `last` N of them)."""
    rows = conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM runs WHERE started_at >= ? "  # noqa: S608 - constants
        "ORDER BY started_at DESC, id DESC LIMIT ?", (since or "", last or -1)).fetchall()
    return [RunRow(*r) for r in reversed(rows)]


def days(conn: sqlite3.Connection, since: str | None = None) -> list[DayRow]:
    """Daily totals from `since` on, oldest first."""
    cols = ", ".join(f.name for f in fields(DayRow))
    return [DayRow(*r) for r in conn.execute(
        f"SELECT {cols} FROM daily WHERE day >= ? ORDER BY day",  # noqa: S608 - constants
        ((since or "")[:10],))]


def _finding(category: str, detail: str) -> dict[str, Any] | None:
    return json.loads(detail) if category == FINDING and detail else None


def timeline(conn: sqlite3.Connection, host: str, since: str | None = None) -> Timeline | None:
    """The timeline of `host` from `since` on (None when the database never saw it)."""
    row = conn.execute("SELECT id, checks, last_checked_at, last_checked_run FROM hosts "
                       "WHERE name = ?", (host,)).fetchone()
    if row is None:
        return None
    host_id, since = row[0], since or ""
    host_runs = tuple(HostRun(*r) for r in conn.execute(
        "SELECT r.run_id, r.started_at, h.status, h.error_kind, h.findings, h.violations, "
        "h.new, h.reopened, h.fixed FROM runs r JOIN host_runs h ON h.run = r.id AND h.host = ? "
        "WHERE r.started_at >= ? ORDER BY r.started_at, r.id", (host_id, since)))
    items = conn.execute(
        "SELECT id, category, kind, proto, address, port, process, container, first_seen, "
        "opened_at, opens, flaps, detail FROM items WHERE host = ?", (host_id,)).fetchall()
    events: list[Event] = []
    open_now: list[OpenItem] = []
    by_id = {}
    for item_id, *rest in items:
        key = Key(*rest[:7])
        first_seen, opened_at, opens, flaps, detail = rest[7:]
        finding = _finding(key.category, detail)
        by_id[item_id] = (key, first_seen, finding)
        if opened_at is not None:
            open_now.append(OpenItem(key, first_seen, opened_at, opens, flaps, finding))
            if opened_at >= since:
                events.append(Event(opened_at, "opened" if opened_at == first_seen
                                    else "reopened", key, finding))
    for item_id, opened_at, closed_at in conn.execute(
            "SELECT s.item, s.opened_at, s.closed_at FROM spans s JOIN items i ON i.id = s.item "
            "WHERE i.host = ? AND s.closed_at >= ?", (host_id, since)):
        key, first_seen, finding = by_id[item_id]
        if opened_at >= since:
            events.append(Event(opened_at, "opened" if opened_at == first_seen else "reopened",
                                key, finding))
        events.append(Event(closed_at, "closed", key, finding))
    events.sort(key=lambda e: (e.at, e.what != "closed", e.key))
    open_now.sort(key=lambda o: (o.key.category != FINDING, o.key))
    return Timeline(host, row[1], row[2], row[3], host_runs, tuple(open_now), tuple(events))
