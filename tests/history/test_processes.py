"""Real processes on one database file: two recording at once, and kill -9 mid-write.
`PRAGMA integrity_check` after each; a killed run is absent, never half there."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleetcheck.history import History, HistoryError
from tests.conftest import REPO
from tests.history import recorder
from tests.history.nights import at, changes_of, checked, night, stray


def _recorder(db: Path, name: str, nights: int, hosts: int, mode: str = "plain"
              ) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tests.history.recorder", str(db), name,
                             str(nights), str(hosts), mode], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _check(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    return conn


def _consistent(conn: sqlite3.Connection) -> None:
    """Every recorded run has all its host rows; every host's check count matches them."""
    for run_id, hosts, n in conn.execute(
            "SELECT r.run_id, r.hosts, count(h.host) FROM runs r "
            "LEFT JOIN host_runs h ON h.run = r.id GROUP BY r.id"):
        assert hosts == n, f"run {run_id}: {n} of {hosts} host rows"
    bad = conn.execute(
        "SELECT name, checks, (SELECT count(*) FROM host_runs WHERE host = hosts.id AND "
        "status IN ('compliant', 'noncompliant')) AS n FROM hosts WHERE checks != n").fetchall()
    assert bad == []


def test_two_processes_recording_at_once_both_land_whole(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    procs = [_recorder(db, name, 6, 400) for name in ("alpha", "beta")]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert out.count("recorded ") == 6
    conn = _check(db)
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 12
    _consistent(conn)
    # the 200 shared hosts were checked by all 12 runs, one after another
    assert conn.execute("SELECT min(checks), max(checks) FROM hosts WHERE name LIKE 'shared%'"
                        ).fetchone() == (12, 12)
    # what is open is what the last run left: the coming-and-going stray follows its parity
    last = conn.execute("SELECT run_id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1"
                        ).fetchone()[0]
    odd = int(last.rsplit("-", 1)[1]) % 2 == 1
    open_9999 = conn.execute("SELECT count(*) FROM items WHERE port = 9999 AND category = "
                             "'finding' AND opened_at IS NOT NULL").fetchone()[0]
    assert open_9999 == (200 if odd else 0)
    conn.close()


def _kill_while_writing(db: Path, mode: str, delay: float, hosts: int = 1200) -> bool:
    """Kill the recorder `delay` s after it began writing; False if it had finished."""
    proc = _recorder(db, "crash", 1, hosts, mode)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line == "writing\n", proc.stderr.read() if proc.stderr else line
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode in (0, -signal.SIGKILL)
    return proc.returncode == -signal.SIGKILL


def test_kill_9_mid_transaction_leaves_the_run_absent(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    assert recorder.main([str(db), "before", "2", "200", "plain"]) == 0
    assert _kill_while_writing(db, "pause", 0.2)
    conn = _check(db)
    assert [r[0] for r in conn.execute("SELECT run_id FROM runs ORDER BY id")] == \
        ["before-0", "before-1"]
    assert conn.execute("SELECT count(*) FROM hosts WHERE name LIKE 'crash%'").fetchone()[0] == 0
    _consistent(conn)
    conn.close()
    # the database goes on as if nothing happened (a recording here, in this process)
    assert recorder.main([str(db), "after", "1", "200", "plain"]) == 0
    conn = _check(db)
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 3
    _consistent(conn)
    conn.close()


def test_kill_9_at_random_points_with_pages_spilled_to_the_wal(tmp_path: Path) -> None:
    rng = random.Random(1923)  # noqa: S311 -- when to kill, not a secret
    killed = 0
    for n in range(5):
        db = tmp_path / f"history-{n}.sqlite3"
        killed += _kill_while_writing(db, "spill", rng.uniform(0.0, 0.12), hosts=4000)
        conn = _check(db)
        runs = conn.execute("SELECT run_id FROM runs").fetchall()
        assert runs in ([], [("crash-0",)]), runs  # absent, or (killed after commit) whole
        _consistent(conn)
        conn.close()
        # and the file goes on being used (a recording here, in this process)
        assert recorder.main([str(db), "next", "1", "100", "plain"]) == 0
        _consistent(_check(db))
    assert killed, "no kill landed before the commit: the test proved nothing"


def test_a_lock_taken_after_opening_fails_the_compare_in_time_then_clears(
        tmp_path: Path) -> None:
    db_path = tmp_path / "history.sqlite3"
    with History(db_path, timeout=1) as db:
        night(db, [checked("a", stray(8080))], at(1))
        code = ("import sqlite3, sys\n"
                "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                "c.execute('BEGIN IMMEDIATE')\n"
                "print('locked', flush=True)\n"
                "sys.stdin.readline()\n")
        holder = subprocess.Popen([sys.executable, "-c", code, str(db_path)], text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        start = time.monotonic()
        try:
            with pytest.raises(HistoryError, match="database is locked: another process held "
                                                   "it for more than 1 s"):
                db.compare([checked("a", stray(8080))], at(2))
        finally:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(timeout=10)
        assert 0.9 < time.monotonic() - start < 10
        assert changes_of(night(db, [checked("a", stray(8080))], at(2))) == \
            {("a", 8080): "persisting"}


# One process of a scan starting: told a database's path and a moment, it opens the file
# at that moment, as the others do, says so, and waits for the next. The same processes
# serve every attempt: starting Python and importing fleetcheck once each, not once per
# attempt, was most of what the test cost, so it makes twice the attempts it made.
_OPEN = """
import sys
import time
from pathlib import Path
from fleetcheck.history import History
print("ready", flush=True)
for line in sys.stdin:  # a path, and the moment every process opens it
    path, _, moment = line.rstrip("\\n").rpartition(" ")
    time.sleep(max(0.0, float(moment) - time.time()))
    with History(Path(path), timeout=60) as db:
        pass
    print("opened", flush=True)
"""


def test_processes_opening_a_new_database_at_once_all_get_it(tmp_path: Path) -> None:
    """Scans starting together on one new database: SQLite answers a concurrent switch to
    WAL with "locked" at once, and a half-made schema must not read as someone else's."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN], cwd=REPO, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    try:
        for p in procs:  # all started and waiting
            assert p.stdout is not None
            assert p.stdout.readline() == "ready\n", p.stderr.read() if p.stderr else ""
        for attempt in range(16):
            db = tmp_path / f"h{attempt}.sqlite3"
            moment = time.time() + 0.05  # each process is told before it comes
            for p in procs:
                assert p.stdin is not None
                p.stdin.write(f"{db} {moment}\n")
                p.stdin.flush()
            for p in procs:
                assert p.stdout is not None
                if p.stdout.readline() != "opened\n":  # it failed: its traceback says why
                    raise AssertionError(p.stderr.read() if p.stderr else "")
            _consistent(_check(db))
    finally:
        for p in procs:  # end of input: each process leaves its loop
            if p.stdin is not None and not p.stdin.closed:
                p.stdin.close()
            p.wait(timeout=120)
    for p in procs:
        assert p.returncode == 0, p.stderr.read() if p.stderr else ""
