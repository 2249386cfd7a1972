"""The history database's schema, versioned: migration N brings a database to version N.

The version is SQLite's `user_version`; `application_id` marks the file as fleetcheck's.
A database from a newer fleetcheck (a version past `LATEST`) is refused, never
downgraded. Each migration is a list of statements run in one transaction.

History grows with change, not with runs x findings: `items` holds one row per identity
(see identity.py) with its current open interval, `spans` the intervals that closed,
`host_runs` one small row per host per run (the run details retention prunes) and
`daily` one row per day that is kept for ever.
"""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x46436B48  # "FCkH"

_V1 = (
    """CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL UNIQUE,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        source TEXT NOT NULL,            -- scan | import
        tool_version TEXT NOT NULL,
        complete INTEGER NOT NULL,
        gate TEXT NOT NULL,
        exit_code INTEGER NOT NULL,
        hosts INTEGER NOT NULL,
        checked INTEGER NOT NULL,
        unchecked INTEGER NOT NULL,
        findings INTEGER NOT NULL,
        violations INTEGER NOT NULL,
        waived INTEGER NOT NULL,
        new INTEGER NOT NULL,
        reopened INTEGER NOT NULL,
        persisting INTEGER NOT NULL,
        fixed INTEGER NOT NULL,
        unverified INTEGER NOT NULL,
        flapping INTEGER NOT NULL,
        open_total INTEGER NOT NULL      -- findings open in the whole fleet after this run
    )""",
    "CREATE INDEX runs_started ON runs(started_at)",
    """CREATE TABLE hosts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        checks INTEGER NOT NULL DEFAULT 0,   -- checked runs so far
        last_checked_at TEXT,                -- started_at of the last run that checked it
        last_checked_run TEXT,
        last_run_at TEXT,                    -- the last run that had it, checked or not
        state TEXT                           -- digest of what was open at the last check
    )""",
    # Clustered by run: a night's rows are appended and pruned at the ends of the table,
    # and one host's rows are found by a lookup per run kept.
    """CREATE TABLE host_runs (
        run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        host INTEGER NOT NULL REFERENCES hosts(id),
        status TEXT NOT NULL,
        error_kind TEXT,
        findings INTEGER NOT NULL,
        violations INTEGER NOT NULL,
        new INTEGER NOT NULL,
        reopened INTEGER NOT NULL,
        fixed INTEGER NOT NULL,
        PRIMARY KEY (run, host)
    ) WITHOUT ROWID""",
    """CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        host INTEGER NOT NULL REFERENCES hosts(id),
        category TEXT NOT NULL,          -- finding | listener
        kind TEXT NOT NULL,
        proto TEXT NOT NULL,
        address TEXT NOT NULL,
        port INTEGER NOT NULL,
        process TEXT NOT NULL,
        container TEXT NOT NULL,
        first_seen TEXT NOT NULL,        -- the first run it was open in
        opened_at TEXT,                  -- start of the open interval; NULL while closed
        opened_check INTEGER,            -- the host's check number then
        closed_check INTEGER,            -- the host's check number when last found gone
        opens INTEGER NOT NULL DEFAULT 1,
        flaps INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL,            -- the finding's JSON as last seen ('' for listeners)
        UNIQUE (host, category, kind, proto, address, port, process, container)
    )""",
    "CREATE INDEX items_open ON items(host, category) WHERE opened_at IS NOT NULL",
    """CREATE TABLE spans (
        item INTEGER NOT NULL REFERENCES items(id),
        opened_check INTEGER NOT NULL,   -- the host's check numbers: unique, unlike times
        opened_at TEXT NOT NULL,
        closed_at TEXT NOT NULL,
        PRIMARY KEY (item, opened_check)
    ) WITHOUT ROWID""",
    "CREATE INDEX spans_closed ON spans(closed_at)",
    """CREATE TABLE daily (
        day TEXT PRIMARY KEY,            -- YYYY-MM-DD (UTC) of the runs' start
        runs INTEGER NOT NULL,
        hosts INTEGER NOT NULL,          -- the most hosts one run of the day had
        checked INTEGER NOT NULL,
        unchecked INTEGER NOT NULL,      -- as the day's last run left them
        violations INTEGER NOT NULL,
        open_total INTEGER NOT NULL,
        new INTEGER NOT NULL,            -- summed over the day's runs
        reopened INTEGER NOT NULL,
        fixed INTEGER NOT NULL
    ) WITHOUT ROWID""",
)

# The host's check number when an interval closed, so that a timeline lists each closing
# where it happened: an interval closes at some later check than the one that opened it,
# which neither its opening nor the times (wrong clocks, runs in one second) tell.
# Intervals closed before this version have none.
_V2 = ("ALTER TABLE spans ADD COLUMN closed_check INTEGER",)

# MIGRATIONS[n - 1] brings a database from version n - 1 to n.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
LATEST = len(MIGRATIONS)


class NewerSchema(Exception):
    """The database was written by a newer fleetcheck."""

    def __init__(self, found: int) -> None:
        super().__init__(f"written by a newer fleetcheck (schema version {found}; this "
                         f"version knows up to {LATEST}): not touched")
        self.found = found


class NotHistory(Exception):
    """An SQLite database, but not a fleetcheck history."""


def version(conn: sqlite3.Connection) -> int:
    """The schema version of the open database (0: empty)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check(conn: sqlite3.Connection) -> int:
    """The database's version; NewerSchema or NotHistory when this fleetcheck cannot use it."""
    found = version(conn)
    app = int(conn.execute("PRAGMA application_id").fetchone()[0])
    if app not in (0, APPLICATION_ID):
        raise NotHistory(f"an SQLite database of another application (id {app:#x})")
    if app == 0 and (found or conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]):
        raise NotHistory("an SQLite database, but not a fleetcheck history")
    if found > LATEST:
        raise NewerSchema(found)
    return found


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to `LATEST` in one transaction (the caller's connection is in
    autocommit mode); returns the version it had."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = check(conn)
        for statements in MIGRATIONS[found:]:
            for statement in statements:
                conn.execute(statement)
        if found < LATEST:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {LATEST}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found
