"""The history database on a real file: intervals per identity, per-host pasts, retention,
import, schema versions. `PRAGMA integrity_check` after each."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from pathlib import Path

import pytest

from fleetcheck.history import History, HistoryError, query, schema
from fleetcheck.history.db import _wal, integrity
from fleetcheck.model import Change, RunResult
from tests.history.nights import at, changes_of, checked, down, night, open_db, run_of, stray


def _sound(db: History) -> None:
    assert integrity(db.conn) == []


def test_nights_new_persisting_fixed_reopened_unverified(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        r1 = night(db, [checked("a", stray(8080)), checked("b", stray(9000))], at(1))
        assert changes_of(r1) == {("a", 8080): "new", ("b", 9000): "new"}
        # a: 8080 restarted with a new PID and 7000 added; b: 9000 removed
        r2 = night(db, [checked("a", stray(8080, pid=5), stray(7000)), checked("b")], at(2))
        assert changes_of(r2) == {("a", 8080): "persisting", ("a", 7000): "new"}
        assert r2.changes is not None
        assert [(f.host, f.finding.port) for f in r2.changes.fixed] == [("b", 9000)]
        # b unreachable: nothing of it is fixed; a's 7000 gone
        r3 = night(db, [checked("a", stray(8080)), down("b")], at(3))
        assert r3.changes is not None
        assert [(f.host, f.finding.port) for f in r3.changes.fixed] == [("a", 7000)]
        assert r3.changes.unverified == ()  # b had nothing open when last checked
        # b's 9000 back: reopened, first seen night 1, a flap (gone for one checked run)
        r4 = night(db, [checked("a", stray(8080)), checked("b", stray(9000))], at(4))
        (f,) = [f for h in r4.hosts if h.name == "b" for f in h.findings]
        assert (f.change, f.first_seen, f.age_days, f.flaps) == \
            (Change.REOPENED, at(1), 3, 1)
        assert r4.changes is not None and r4.changes.flapping == 1
        # a unreachable: its open 8080 is unverified, not fixed
        r5 = night(db, [down("a"), checked("b", stray(9000))], at(5))
        assert r5.changes is not None
        assert r5.changes.fixed == ()
        assert [(u.host, u.finding.port, u.finding.first_seen, u.last_seen)
                for u in r5.changes.unverified] == [("a", 8080, at(1), at(4))]
        # a back: still the same finding, persisting since night 1
        r6 = night(db, [checked("a", stray(8080)), checked("b", stray(9000))], at(6))
        assert changes_of(r6) == {("a", 8080): "persisting", ("b", 9000): "persisting"}
        assert [f.age_days for h in r6.hosts for f in h.findings] == [5, 5]
        _sound(db)


def test_limited_runs_never_fake_a_fix(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(8080)), checked("b", stray(9000))], at(1))
        only_a = night(db, [checked("a", stray(8080))], at(2))  # --limit a
        assert only_a.changes is not None
        assert (only_a.changes.fixed, only_a.changes.unverified) == ((), ())
        back = night(db, [checked("a", stray(8080)), checked("b", stray(9000))], at(3))
        assert changes_of(back) == {("a", 8080): "persisting", ("b", 9000): "persisting"}
        checks = dict(db.conn.execute("SELECT name, checks FROM hosts"))
        assert checks == {"a": 3, "b": 2}
        _sound(db)


def test_history_grows_with_change_not_with_runs(tmp_path: Path) -> None:
    fleet = [checked(f"h{i}", stray(8080), stray(9000 + i)) for i in range(20)]
    with open_db(tmp_path) as db:
        for day in range(1, 21):
            night(db, fleet, at(day))
        items = db.conn.execute("SELECT count(*) FROM items").fetchone()[0]
        spans = db.conn.execute("SELECT count(*) FROM spans").fetchone()[0]
        # per host: 2 findings and 3 listeners (sshd and the two strays), whatever the runs
        assert (items, spans) == (20 * 5, 0)
        night(db, [*fleet[1:], checked("h0", stray(8080))], at(21))
        assert db.conn.execute("SELECT count(*) FROM spans").fetchone()[0] == 2
        _sound(db)


def test_prune_keeps_daily_totals_open_intervals_and_first_sightings(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(8080), stray(9000))], at(1))
        night(db, [checked("a", stray(8080))], at(2))
        for day in range(3, 12):
            night(db, [checked("a", stray(8080))], at(day))
        pruned = db.prune(5, at(11))
        assert (pruned.runs, pruned.host_runs, pruned.spans) == (5, 5, 2)  # finding, listener
        assert db.conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 6
        assert db.conn.execute("SELECT count(*) FROM daily").fetchone()[0] == 11
        r = night(db, [checked("a", stray(8080), stray(9000))], at(12))
        assert changes_of(r) == {("a", 8080): "persisting", ("a", 9000): "reopened"}
        assert {f.port: f.first_seen for h in r.hosts for f in h.findings} == \
            {8080: at(1), 9000: at(1)}
        _sound(db)


def test_scans_prune_run_details_past_the_retention(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        for day in range(1, 11):
            night(db, [checked("a", stray(8080))], at(day), keep_days=3)
        days = [r[0] for r in db.conn.execute("SELECT started_at FROM runs ORDER BY 1")]
        assert days == [at(7), at(8), at(9), at(10)]
        assert db.conn.execute("SELECT count(*) FROM daily").fetchone()[0] == 10
        _sound(db)


def _state(db: History) -> set[tuple[object, ...]]:
    return set(db.conn.execute(
        "SELECT h.name, category, kind, proto, address, port, process, first_seen, opened_at, "
        "opens, flaps, detail FROM items JOIN hosts h ON h.id = items.host"))


def test_import_rebuilds_the_database_from_run_files(tmp_path: Path) -> None:
    nights = [[checked("a", stray(8080)), checked("b", stray(9000))],
              [checked("a"), down("b")],
              [checked("a", stray(8080)), checked("b")]]
    saved: list[RunResult] = []
    with open_db(tmp_path, "scans.sqlite3") as db:
        for day, hosts in enumerate(nights, 1):
            saved.append(night(db, hosts, at(day)))
        original = _state(db)
        counts = db.conn.execute("SELECT run_id, new, reopened, fixed, unverified FROM runs "
                                 "ORDER BY started_at").fetchall()
    files = []
    for run in saved:  # through JSON, as the run files are the source of truth
        path = tmp_path / f"{run.run_id}.json"
        path.write_text(json.dumps(run.to_dict()))
        files.append(RunResult.from_dict(json.loads(path.read_text())))
    with open_db(tmp_path, "rebuilt.sqlite3") as db:
        for run in sorted(files, key=lambda r: r.started_at):
            assert db.add(run) is not None
        assert db.add(files[0]) is None  # recorded already: skipped
        assert _state(db) == original
        assert db.conn.execute("SELECT run_id, new, reopened, fixed, unverified FROM runs "
                               "ORDER BY started_at").fetchall() == counts
        _sound(db)


def test_an_older_run_imported_late_does_not_move_intervals_back(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(8080))], at(5))
        old = run_of([checked("a")], at(1), run_id="old")
        assert db.add(old) is not None
        r = night(db, [checked("a", stray(8080))], at(6))
        assert changes_of(r) == {("a", 8080): "persisting"}
        _sound(db)


def test_a_fresh_file_is_created_at_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        assert schema.version(db.conn) == schema.LATEST
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID


def _one_night_then_migration(tmp: Path, monkeypatch: pytest.MonkeyPatch,
                              *statements: str) -> int:
    """A database with a night in it, and a next schema version made of `statements`."""
    with open_db(tmp) as db:
        night(db, [checked("a", stray(8080))], at(1))
    later = (*schema.MIGRATIONS, statements)
    monkeypatch.setattr(schema, "MIGRATIONS", later)
    monkeypatch.setattr(schema, "LATEST", len(later))
    return len(later)


def test_migrations_bring_an_older_database_up_keeping_its_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    latest = _one_night_then_migration(tmp_path, monkeypatch,
                                       "ALTER TABLE runs ADD COLUMN note TEXT",
                                       "UPDATE runs SET note = 'migrated'")
    with open_db(tmp_path) as db:
        assert schema.version(db.conn) == latest
        assert db.conn.execute("SELECT run_id, note FROM runs").fetchall() == \
            [(f"run-{at(1)}", "migrated")]
        r = night(db, [checked("a", stray(8080))], at(2))
        assert changes_of(r) == {("a", 8080): "persisting"}
        _sound(db)


def test_a_failed_migration_leaves_the_database_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    latest = _one_night_then_migration(tmp_path, monkeypatch,
                                       "ALTER TABLE runs ADD COLUMN note TEXT",
                                       "ALTER TABLE nowhere ADD COLUMN x")
    with pytest.raises(HistoryError, match="nowhere"):
        open_db(tmp_path)
    conn = sqlite3.connect(tmp_path / "history.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest - 1
    assert "note" not in [c[1] for c in conn.execute("PRAGMA table_info(runs)")]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_a_version_1_database_keeps_its_timeline_and_lists_new_closings_in_place(
        tmp_path: Path) -> None:
    """Version 2 keeps the check an interval closed at: a timeline lists each closing where
    it happened (it used to follow its opening, before later openings). Intervals a version
    1 database closed keep their old place, right after their opening."""
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(8080))], at(1))
        night(db, [checked("a", stray(8080), stray(7000))], at(2))
        night(db, [checked("a", stray(7000))], at(3))  # 8080 closed
    with sqlite3.connect(tmp_path / "history.sqlite3") as conn:  # as version 1 left it
        conn.execute("ALTER TABLE spans DROP COLUMN closed_check")
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    with open_db(tmp_path) as db:
        assert schema.version(db.conn) == schema.LATEST == 2
        night(db, [checked("a", stray(7000), stray(9000))], at(4))
        night(db, [checked("a", stray(8080), stray(9000))], at(5))
        night(db, [checked("a", stray(8080))], at(6))  # 9000 closed by version 2
        line = query.timeline(db.conn, "a")
        _sound(db)
    assert line is not None
    assert [(e.what, e.key.port, e.at[8:10]) for e in line.events
            if e.key.category == "finding"] == [
        ("opened", 8080, "01"), ("closed", 8080, "03"), ("opened", 7000, "02"),
        ("opened", 9000, "04"), ("closed", 7000, "05"), ("reopened", 8080, "05"),
        ("closed", 9000, "06")]


@pytest.mark.parametrize(("prepare", "words"), [
    ("newer", "written by a newer fleetcheck (schema version 99"),
    ("foreign", "not a fleetcheck history"),
    ("garbage", "not a usable history database (file is not a database)"),
    # A table's name damaged in the schema: SQLite's message quotes it, and Python fails to
    # decode that message (UnicodeDecodeError, not an sqlite3 error: exit 70 before).
    ("damaged name", "not a usable history database (text that is not UTF-8"),
])
def test_unusable_files_are_one_error_naming_the_file_and_left_alone(
        tmp_path: Path, prepare: str, words: str) -> None:
    path = tmp_path / "history.sqlite3"
    if prepare == "garbage":
        path.write_bytes(b"this is not a database at all\n" * 200)
    elif prepare == "damaged name":
        with open_db(tmp_path) as db:
            night(db, [checked("a", stray(9000))], at(1))
        whole = path.read_bytes()
        at_name = whole.index(b"tabledailydaily") + len(b"table")  # sqlite_schema's row
        path.write_bytes(whole[:at_name] + b"dail\xff" + whole[at_name + 5:])
    else:
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE notes (x TEXT)")
        if prepare == "newer":
            conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
            conn.execute("PRAGMA user_version = 99")
        conn.commit()
        conn.close()
    before = path.read_bytes()
    with pytest.raises(HistoryError) as caught:
        History(path)
    assert caught.value.path == str(path)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == before


def test_trend_holds_the_last_runs_oldest_first_this_one_last(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        for day in range(1, 5):
            r = night(db, [checked("a", *[stray(9000 + n) for n in range(day)])], at(day))
        assert [(p.started_at, p.violations, p.new) for p in r.trend] == \
            [(at(1), 1, 1), (at(2), 2, 1), (at(3), 3, 1), (at(4), 4, 1)]
        assert dataclasses.replace(r.trend[-1]) == r.trend_point()


def test_runs_in_the_same_second_keep_their_order_in_the_timeline(tmp_path: Path) -> None:
    """Open, fixed, back: three runs started within one second (a lab, a CI job) read in
    the order they ran, and the return is a reopening, not a first opening."""
    same = at(1)
    with open_db(tmp_path) as db:
        night(db, [checked("web1", stray(7201))], same, run_id="r1")
        night(db, [checked("web1")], same, run_id="r2")
        last = night(db, [checked("web1", stray(7201))], same, run_id="r3")
        line = query.timeline(db.conn, "web1")
    assert [f.change for f in last.hosts[0].findings] == [Change.REOPENED]
    assert line is not None
    assert [(e.what, e.key.port) for e in line.events if e.key.category == "finding"] == \
        [("opened", 7201), ("closed", 7201), ("reopened", 7201)]


def test_a_database_that_cannot_be_put_in_wal_mode_keeps_its_mode() -> None:
    """Where SQLite cannot use WAL (here an in-memory database; some network file
    systems), it keeps the mode it had without an error: that is no reason to wait."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    _wal(conn, time.monotonic() + 60)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "memory"


@pytest.mark.parametrize(("change", "says"), [
    ("UPDATE items SET first_seen = 'x'", "damaged history database: ValueError: Invalid "
                                          "isoformat string: 'x'"),
    ("UPDATE runs SET run_id = x'ff00'", "damaged history database: runs.run_id holds "
                                         "b'\\xff\\x00', not str"),
    # Every value a scan reads of a host's past is checked, as the `history` views check
    # theirs: a count held as bytes reached the run and crashed its JSON report (exit 70).
    ("UPDATE items SET flaps = x'ff00'", "damaged history database: items.flaps holds "
                                         "b'\\xff\\x00', not int"),
    ("UPDATE items SET detail = x'00'", "damaged history database: items.detail holds "
                                        "b'\\x00', not str"),
    ("UPDATE hosts SET checks = 'many'", "damaged history database: hosts.checks holds "
                                         "'many', not int"),
    ("UPDATE hosts SET last_checked_at = x'00'", "damaged history database: "
                                                 "hosts.last_checked_at holds b'\\x00', not "
                                                 "str | None"),
])
def test_a_damaged_past_is_a_history_error_not_a_crash(tmp_path: Path, change: str,
                                                       says: str) -> None:
    # A scan carries on without its history (as for a locked database), not exit 70.
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(9000))], at(1))
    with sqlite3.connect(tmp_path / "history.sqlite3") as conn:
        conn.execute(change)
    conn.close()
    with open_db(tmp_path) as db, pytest.raises(HistoryError) as caught:
        db.compare([checked("a", stray(9000))], at(2))
    assert caught.value.reason == says


def test_a_damaged_closed_item_is_a_history_error_when_its_finding_comes_back(
        tmp_path: Path) -> None:
    # A finding fixed one night and back the next is read from its closed item.
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(9000))], at(1))
        night(db, [checked("a")], at(2))
    with sqlite3.connect(tmp_path / "history.sqlite3") as conn:
        conn.execute("UPDATE items SET flaps = 'often' WHERE opened_at IS NULL")
    conn.close()
    with open_db(tmp_path) as db, pytest.raises(HistoryError) as caught:
        db.compare([checked("a", stray(9000))], at(3))
    assert caught.value.reason == ("damaged history database: items.flaps holds 'often', "
                                   "not int")


def test_a_damaged_run_time_is_a_history_error_when_the_run_prunes(tmp_path: Path) -> None:
    # Retention reads the newest other run's start; text that is no time crashed the scan.
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(9000))], at(1))
    with sqlite3.connect(tmp_path / "history.sqlite3") as conn:
        conn.execute("UPDATE runs SET started_at = '1.5'")  # TEXT affinity: kept as text
    conn.close()
    with open_db(tmp_path) as db, pytest.raises(HistoryError) as caught:
        night(db, [checked("a", stray(9000))], at(2), keep_days=30)
    assert caught.value.reason == ("damaged history database: runs.started_at holds '1.5', "
                                   "not a time")
