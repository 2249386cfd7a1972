"""Opening the history database, and the one sentence every failure of it becomes.

WAL mode (readers never block the one writer), a busy timeout (a second run waits for
the first one's transaction instead of failing), and explicit transactions: each run is
recorded in one `BEGIN IMMEDIATE ... COMMIT`, so a process killed mid-write leaves the
run absent and the database as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from fleetcheck.history import schema

DEFAULT_TIMEOUT = 60.0  # seconds a run waits for another run's transaction


class HistoryError(Exception):
    """The history database could not be used: `path` and why, in one line."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


# What using a database file can raise: SQLite's errors, the OS's, and text that is not
# UTF-8 where SQLite keeps text (a damaged file: Python's decoding fails, not SQLite).
FAILURES = (sqlite3.Error, OSError, UnicodeDecodeError, schema.NewerSchema, schema.NotHistory)


def reason(exc: BaseException, timeout: float) -> str:
    """What went wrong, in words a reader can act on."""
    if isinstance(exc, schema.NewerSchema | schema.NotHistory):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"not a usable history database (text that is not UTF-8: {exc.reason})"
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        return (f"database is locked: another process held it for more than {timeout:g} s "
                "(--history-timeout)")
    if "disk is full" in low or "disk full" in low:
        return "database or disk is full"
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return f"not a usable history database ({text})"
    if isinstance(exc, OSError):
        return exc.strerror or text
    return text or exc.__class__.__name__


def connect(path: Path, timeout: float = DEFAULT_TIMEOUT, *, create: bool = True
            ) -> sqlite3.Connection:
    """An open, migrated database in autocommit mode (transactions are explicit).

    HistoryError when the file cannot be opened, is not a fleetcheck history, is from a
    newer fleetcheck, or stays locked past `timeout`. Without `create`, a missing file is
    an error too.
    """
    if not create and not path.exists():
        raise HistoryError(path, "no history database here (a scan creates it)")
    conn: sqlite3.Connection | None = None
    made = False
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            made = _create(path)
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA foreign_keys = ON")
        # Before anything is written to a file that may not be ours; in one read
        # transaction, so another process's first migration is seen whole or not at all.
        conn.execute("BEGIN")
        try:
            schema.check(conn)
        finally:
            conn.execute("COMMIT")
        _wal(conn, time.monotonic() + timeout)
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across a process crash
        schema.migrate(conn)
    except FAILURES as exc:
        if conn is not None:
            conn.close()
        if made:  # a database this run began and could not finish (a full disk): no trace
            for leftover in (path, path.with_name(path.name + "-wal"),
                             path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
        raise HistoryError(path, reason(exc, timeout)) from None
    return conn


def _wal(conn: sqlite3.Connection, deadline: float) -> None:
    """Put the database in WAL mode where the file system allows it (where it does not,
    SQLite keeps the mode it had, and so does this). SQLite answers "locked" at once,
    without waiting out the busy timeout, when another process opening the new file
    switches it meanwhile (two scans starting together): that is waited out here, up to
    the same timeout."""
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _create(path: Path) -> bool:
    """Create the empty database file as the reports are created (mode 0666 less the
    umask; SQLite's own default is 0644, and its -wal and -shm files copy the file's
    mode); True when this call made it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    os.close(fd)
    return True


@contextlib.contextmanager
def failures(path: Path | str, timeout: float) -> Iterator[None]:
    """Turn any database failure inside the block into a HistoryError naming `path`."""
    try:
        yield
    except HistoryError:
        raise
    except FAILURES as exc:
        raise HistoryError(path, reason(exc, timeout)) from None


def integrity(conn: sqlite3.Connection) -> list[str]:
    """`PRAGMA integrity_check`'s complaints ([] when the database is sound)."""
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows
