"""Reading hosts' pasts out of the database: the state their last checked runs left."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from fleetcheck.frozen import frozen
from fleetcheck.history.compare import Gone, HostPast, Seen
from fleetcheck.history.identity import FINDING, Key, finding_key
from fleetcheck.history.query import typed
from fleetcheck.model import HostResult

# SQLite's bound-parameter limit is at least 999 on every build; stay under it.
CHUNK = 500
# When a run holds more than this share of the known hosts, one scan of the open items
# is cheaper than a query per chunk of hosts.
WHOLE_TABLE_SHARE = 0.25


@frozen
class HostRow:
    """A host as the database knows it."""

    id: int
    name: str
    checks: int
    last_checked_at: str | None
    last_checked_run: str | None
    state: str | None = None  # digest of what was open at its last check


def chunks(values: Sequence[object], size: int = CHUNK) -> Iterator[Sequence[object]]:
    """`values` in slices of at most `size`."""
    for i in range(0, len(values), size):
        yield values[i:i + size]


def host_rows(conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, HostRow]:
    """The database's rows for `names` (hosts never seen are absent)."""
    out: dict[str, HostRow] = {}
    cols = "id, name, checks, last_checked_at, last_checked_run, state"
    if len(names) > CHUNK:
        wanted = set(names)
        rows: Iterable[tuple[int, str, int, str | None, str | None, str | None]] = (
            r for r in conn.execute(f"SELECT {cols} FROM hosts")  # noqa: S608 - constants
            if r[1] in wanted)
    else:
        marks = ",".join("?" * len(names))  # placeholders only: values are bound
        rows = conn.execute(f"SELECT {cols} FROM hosts WHERE name IN ({marks})",  # noqa: S608
                            tuple(names)) if names else []
    for r in rows:
        out[r[1]] = HostRow(*typed("hosts", _HOST_COLUMNS, _HOST_KINDS, r))
    return out


# What a scan reads of its hosts' pasts is checked as the `history` views check theirs:
# SQLite keeps whatever type a changed database holds, and a value of another type would
# reach the run (and crash its reports) instead of being a damaged database.
_HOST_COLUMNS = ("id", "name", "checks", "last_checked_at", "last_checked_run", "state")
_HOST_KINDS = ("int", "str", "int", "str | None", "str | None", "str | None")
_GONE_COLUMNS = ("first_seen", "flaps", "closed_check")
_GONE_KINDS = ("str", "int", "int | None")


def open_items(conn: sqlite3.Connection, host_ids: Sequence[int], category: str | None,
               columns: str) -> Iterator[tuple[Any, ...]]:
    """Rows (host, *identity, *columns) of the items open at `host_ids` (of one
    `category`, or all); the identity's columns are in `Key`'s order."""
    ident = "host, category, kind, proto, address, port, process, container"
    where = "opened_at IS NOT NULL" + (" AND category = ?" if category else "")
    params: tuple[object, ...] = (category,) if category else ()
    total = conn.execute("SELECT count(*) FROM hosts").fetchone()[0] or 1
    if len(host_ids) > total * WHOLE_TABLE_SHARE:
        wanted = set(host_ids)
        query = f"SELECT {ident}, {columns} FROM items WHERE {where}"  # noqa: S608 - constants
        for row in conn.execute(query, params):
            if row[0] in wanted:
                yield row
        return
    for part in chunks(host_ids):
        marks = ",".join("?" * len(part))
        query = (f"SELECT {ident}, {columns} FROM items INDEXED BY items_open "  # noqa: S608
                 f"WHERE host IN ({marks}) AND {where}")  # column names and placeholders only
        yield from conn.execute(query, (*part, *params))


def row_key(row: tuple[Any, ...]) -> Key:
    """The identity in an `open_items` row: a plain tuple, equal to (and hashing as) the
    `Key` with those fields, which costs a large fleet's run a second to build."""
    return cast(Key, row[1:8])


def pasts(conn: sqlite3.Connection, hosts: Sequence[HostResult]
          ) -> tuple[dict[str, HostRow], dict[str, HostPast]]:
    """The known hosts among `hosts`, and the past of each one ever checked.

    `gone` is filled only for the findings checked hosts have now that were not open.
    """
    rows = host_rows(conn, [h.name for h in hosts])
    by_id = {r.id: r for r in rows.values() if r.last_checked_at is not None}
    opened: dict[int, dict[Key, Seen]] = {i: {} for i in by_id}
    for item in open_items(conn, list(by_id), FINDING, "first_seen, flaps, detail"):
        first_seen, flaps, detail = item[8:]
        # inline, not `typed`: a large fleet's run reads tens of thousands of these
        if type(first_seen) is not str or type(flaps) is not int or type(detail) is not str:
            typed("items", ("first_seen", "flaps", "detail"), ("str", "int", "str"), item[8:])
        opened[item[0]][row_key(item)] = Seen(detail, first_seen, flaps)
    out: dict[str, HostPast] = {}
    for host in hosts:
        known = rows.get(host.name)
        if known is None or known.last_checked_at is None:
            continue
        now_open = opened[known.id]
        gone = _gone(conn, known.id, [k for k in map(finding_key, host.findings)
                                      if k not in now_open]) if host.checked else {}
        out[host.name] = HostPast(known.last_checked_at, now_open, gone, known.checks)
    return rows, out


def _gone(conn: sqlite3.Connection, host_id: int, keys: Sequence[Key]) -> dict[Key, Gone]:
    """The closed items among `keys` of one host (new findings that may be coming back)."""
    out: dict[Key, Gone] = {}
    for key in keys:
        row = conn.execute(
            "SELECT first_seen, flaps, closed_check FROM items WHERE host = ? AND category = ? "
            "AND kind = ? AND proto = ? AND address = ? AND port = ? AND process = ? "
            "AND container = ? AND opened_at IS NULL", (host_id, *key)).fetchone()
        if row is not None:
            out[key] = Gone(*typed("items", _GONE_COLUMNS, _GONE_KINDS, row))
    return out
