"""Reading the history back: runs with their counts, daily totals, one host's timeline."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from fleetcheck.frozen import frozen
from fleetcheck.history.identity import FINDING, Key, describe

T = TypeVar("T")


class Damaged(sqlite3.DatabaseError):
    """A value of another type than fleetcheck writes there: the database was changed."""


# The types a column may hold, by the annotation of the field it fills (SQLite keeps
# whatever type was written, whatever the column says).
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "bool": (int,), "str | None": (str, type(None)),
    "int | None": (int, type(None))}


def typed(table: str, names: Sequence[str], kinds: Sequence[str], row: Sequence[Any]
          ) -> Sequence[Any]:
    """`row` as read from `table`, each value checked against its kind; Damaged if not."""
    for name, kind, value in zip(names, kinds, row, strict=True):
        if not isinstance(value, _TYPES[kind]):
            raise Damaged(f"damaged history database: {table}.{name} holds {value!r:.40}, "
                          f"not {kind}")
    # SQLite keeps a bool as 0 or 1: a row says true or false, as the run JSON does
    return [bool(value) if kind == "bool" else value for kind, value in zip(kinds, row,
                                                                              strict=True)]


def _typed_rows(cls: type[T], table: str, rows: Iterable[Sequence[Any]]) -> list[T]:
    """Rows of `table` as dataclass `cls`, each value checked against its field's type."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    kinds = [str(f.type) for f in fields(cls)]  # type: ignore[arg-type]
    return [cls(*typed(table, names, kinds, r)) for r in rows]


# Key's fields (a NamedTuple's annotations are forward references, not names).
_KEY_KINDS = ("str", "str", "str", "str", "int", "str", "str")


def _key(values: Sequence[Any]) -> Key:
    """An identity as read from `items`; Damaged if a value has another type."""
    return Key(*typed("items", Key._fields, _KEY_KINDS, values))


def as_dict(row: Any) -> dict[str, Any]:
    """A row of this module as JSON."""
    return {f.name: getattr(row, f.name) for f in fields(row)}


@frozen
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


@frozen
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


@frozen
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


@frozen
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


@frozen
class OpenItem:
    """Something open at the host's last checked run."""

    key: Key
    first_seen: str
    opened_at: str
    opens: int
    flaps: int
    finding: dict[str, Any] | None


@frozen
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
_ITEM_COLUMNS = ("first_seen", "opened_at", "opens", "flaps", "detail", "opened_check")
_ITEM_KINDS = ("str", "str | None", "int", "int", "str | None", "int | None")


def runs(conn: sqlite3.Connection, since: str | None = None, last: int | None = None
         ) -> list[RunRow]:
    """Recorded runs started at or after `since`, oldest first (the `last` N of them)."""
    rows = conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM runs WHERE started_at >= ? "  # noqa: S608 - constants
        "ORDER BY started_at DESC, id DESC LIMIT ?", (since or "", last or -1)).fetchall()
    return _typed_rows(RunRow, "runs", reversed(rows))


def days(conn: sqlite3.Connection, since: str | None = None) -> list[DayRow]:
    """Daily totals from `since` on, oldest first."""
    cols = ", ".join(f.name for f in fields(DayRow))
    return _typed_rows(DayRow, "daily", conn.execute(
        f"SELECT {cols} FROM daily WHERE day >= ? ORDER BY day",  # noqa: S608 - constants
        ((since or "")[:10],)))


def _finding(category: str, detail: str | None) -> dict[str, Any] | None:
    """The finding an item's detail records (None for a listener); Damaged if unreadable."""
    if category != FINDING or not detail:
        return None
    try:
        finding = json.loads(detail)
    except ValueError:
        finding = None
    if not isinstance(finding, dict):
        raise Damaged(f"damaged history database: items.detail holds {detail!r:.40}")
    return finding


def timeline(conn: sqlite3.Connection, host: str, since: str | None = None) -> Timeline | None:
    """The timeline of `host` from `since` on (None when the database never saw it)."""
    if not host.isascii() and host.encode("utf-8", "replace").decode() != host:
        return None  # a lone surrogate: no name written as UTF-8 holds one
    row = conn.execute("SELECT id, checks, last_checked_at, last_checked_run FROM hosts "
                       "WHERE name = ?", (host,)).fetchone()
    if row is None:
        return None
    typed("hosts", ("id", "checks", "last_checked_at", "last_checked_run"),
          ("int", "int", "str | None", "str | None"), row)
    host_id, since = row[0], since or ""
    host_runs = tuple(_typed_rows(HostRun, "host_runs", conn.execute(
        "SELECT r.run_id, r.started_at, h.status, h.error_kind, h.findings, h.violations, "
        "h.new, h.reopened, h.fixed FROM runs r JOIN host_runs h ON h.run = r.id AND h.host = ? "
        "WHERE r.started_at >= ? ORDER BY r.started_at, r.id", (host_id, since))))
    items = conn.execute(
        "SELECT id, category, kind, proto, address, port, process, container, first_seen, "
        "opened_at, opens, flaps, detail, opened_check FROM items WHERE host = ?",
        (host_id,)).fetchall()
    # Events in the order of the host's checks, not of times: two runs may start within
    # the same second, and a clock may have been wrong. A closing is listed at the check
    # that found the item gone (before that check's openings); an interval closed before
    # the database kept that check only after the check that opened it (check + 0.5).
    openings: list[tuple[int, int, str]] = []  # (item, check, time) of each opening seen
    closings: list[tuple[int, float, str]] = []  # (item, where it sorts, time closed)
    open_now: list[OpenItem] = []
    by_id = {}
    for item_id, *rest in items:
        key = _key(rest[:7])
        first_seen, opened_at, opens, flaps, detail, opened_check = typed(
            "items", _ITEM_COLUMNS, _ITEM_KINDS, rest[7:])
        finding = _finding(key.category, detail)
        by_id[item_id] = (key, first_seen, finding)
        if opened_at is not None:
            open_now.append(OpenItem(key, first_seen, opened_at, opens, flaps, finding))
            openings.append((item_id, opened_check or 0, opened_at))
    for item_id, opened_check, opened_at, closed_at, closed_check in conn.execute(
            "SELECT s.item, s.opened_check, s.opened_at, s.closed_at, s.closed_check "
            "FROM spans s JOIN items i ON i.id = s.item WHERE i.host = ? AND s.closed_at >= ?",
            (host_id, since)):
        typed("spans", ("item", "opened_check", "opened_at", "closed_at", "closed_check"),
              ("int", "int", "str", "str", "int | None"),
              (item_id, opened_check, opened_at, closed_at, closed_check))
        if item_id not in by_id:
            raise Damaged(f"damaged history database: spans.item {item_id} names no item")
        openings.append((item_id, opened_check, opened_at))
        closings.append((item_id, opened_check + 0.5 if closed_check is None
                         else closed_check - 0.5, closed_at))
    first_check: dict[int, int] = {}
    for item_id, check, _ in openings:
        first_check[item_id] = min(check, first_check.get(item_id, check))
    events: list[tuple[float, Event]] = []
    for item_id, check, at in openings:
        key, first_seen, finding = by_id[item_id]
        if at >= since:  # the first opening kept is the first ever when it is first_seen's
            first = at == first_seen and check == first_check[item_id]
            events.append((check, Event(at, "opened" if first else "reopened", key, finding)))
    for item_id, position, at in closings:
        key, _, finding = by_id[item_id]
        events.append((position, Event(at, "closed", key, finding)))
    events.sort(key=lambda pair: (pair[0], pair[1].key))
    open_now.sort(key=lambda o: (o.key.category != FINDING, o.key))
    return Timeline(host, row[1], row[2], row[3], host_runs, tuple(open_now),
                    tuple(e for _, e in events))
