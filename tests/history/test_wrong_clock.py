"""History when time is not friendly: a run dated in the future by a clock that was wrong,
runs either side of midnight UTC, and how old a finding from last night is. Nights are
recorded in a real database file as scans record them."""

from __future__ import annotations

import json
from pathlib import Path

from fleetcheck.model import Change
from fleetcheck.render import FORMATS, RenderOptions
from tests.conftest import run_cli
from tests.history.nights import at, changes_of, checked, night, open_db, run_of, stray

AHEAD = "9999-06-01T02:00:00Z"  # a clock set far ahead (it stays ahead of any real one)


def test_a_run_dated_in_the_future_does_not_freeze_the_host(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(8080))], AHEAD)  # the clock was wrong, then fixed
        back = night(db, [checked("a", stray(9000))], at(2))
        assert changes_of(back) == {("a", 9000): "new"}
        assert [hf.finding.port for hf in back.changes.fixed] == [8080]  # type: ignore[union-attr]
        # The night after compares with the night before, not with the one dated 9999:
        # before, each night said "9000 new, 8080 fixed" again until that date.
        after = night(db, [checked("a", stray(9000))], at(3))
        assert changes_of(after) == {("a", 9000): "persisting"}
        assert after.changes is not None and after.changes.fixed == ()
        gone = night(db, [checked("a")], at(4))
        assert [hf.finding.port for hf in gone.changes.fixed] == [9000]  # type: ignore[union-attr]
    timeline = run_cli(["history", "--history-db", str(db.path), "--host", "a", "--format",
                        "json"], cwd=tmp_path)
    events = [(e["what"], e["port"]) for e in json.loads(timeline.out)["events"]
              if e["category"] == "finding"]
    assert events == [("opened", 8080), ("closed", 8080), ("opened", 9000), ("closed", 9000)]


def test_an_import_older_than_the_last_check_still_leaves_the_host_alone(
        tmp_path: Path) -> None:
    """The other side of the rule above: an imported run older than a real last check
    moves nothing."""
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(8080))], at(5))
        assert db.add(run_of([checked("a", stray(9000))], at(3), run_id="late")) is not None
        now = night(db, [checked("a", stray(8080))], at(6))
    assert changes_of(now) == {("a", 8080): "persisting"}


def test_a_scan_whose_clock_stepped_back_is_still_the_newest_look(tmp_path: Path) -> None:
    """A scan dated before the last one (the clock stepped back) is tonight's look at the
    host: the night after compares with it. It used to be treated as an old import: the
    night after reported its new finding as new again and forgot when it was first seen,
    and the finding it saw fixed was fixed once more (found by tests/history/hunt.py)."""
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(8080), stray(9000))], at(5))
        back = night(db, [checked("a", stray(8080), stray(7000))], at(3))
        assert changes_of(back) == {("a", 8080): "persisting", ("a", 7000): "new"}
        after = night(db, [checked("a", stray(7000))], at(6))
        assert changes_of(after) == {("a", 7000): "persisting"}
        assert after.changes is not None
        assert [hf.finding.port for hf in after.changes.fixed] == [8080]  # 9000: fixed before
        assert [(f.first_seen, f.age_days) for f in after.hosts[0].findings] == [(at(3), 3)]
    line = run_cli(["history", "--history-db", str(db.path), "--host", "a", "--format",
                    "json"], cwd=tmp_path)
    events = [(e["what"], e["port"]) for e in json.loads(line.out)["events"]
              if e["category"] == "finding"]
    assert events == [("opened", 8080), ("opened", 9000), ("closed", 9000), ("opened", 7000),
                      ("closed", 8080)]


def test_a_run_far_ahead_does_not_prune_the_real_runs(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        for day in range(1, 6):
            night(db, [checked("a", stray(8080))], at(day), keep_days=3)
        night(db, [checked("a", stray(8080))], AHEAD, keep_days=3)

        def started() -> list[str]:
            return [r[0] for r in db.conn.execute("SELECT started_at FROM runs ORDER BY 1")]

        assert started() == [at(2), at(3), at(4), at(5), AHEAD]  # it used to keep only AHEAD
        night(db, [checked("a", stray(8080))], at(6), keep_days=3)  # the clock right again
        assert started() == [at(3), at(4), at(5), at(6), AHEAD]


def test_a_finding_from_last_night_is_under_a_day_old_not_today(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        night(db, [checked("a", stray(8080))], at(1, hour=23))
        run = night(db, [checked("a", stray(8080))], at(2, hour=2))
    (finding,) = [f for h in run.hosts for f in h.findings]
    assert (finding.change, finding.first_seen, finding.age_days) == \
        (Change.PERSISTING, at(1, hour=23), 0)
    for name in ("text", "junit", "html"):
        report = " ".join(FORMATS[name].render(run, RenderOptions(rendered_at="x")).split())
        assert "open since 2026-11-01 (under a day)" in report, name
        assert "(today)" not in report, name
    # Each run counts on the UTC day it started.
    daily = run_cli(["history", "--history-db", str(db.path), "--daily", "--format", "json"],
                    cwd=tmp_path)
    assert [(d["day"], d["runs"]) for d in json.loads(daily.out)] == \
        [("2026-11-01", 1), ("2026-11-02", 1)]


def test_since_is_utc_whatever_zone_it_is_written_in(tmp_path: Path) -> None:
    with open_db(tmp_path) as db:
        for hour in (1, 23):
            night(db, [checked("a")], at(1, hour=hour))

    def listed(since: str) -> list[str]:
        res = run_cli(["history", "--history-db", str(db.path), "--since", since, "--format",
                       "json"], cwd=tmp_path)
        assert res.code == 0, res.err
        return [r["started_at"] for r in json.loads(res.out)]

    assert listed("2026-11-01") == [at(1, hour=1), at(1, hour=23)]  # from 00:00 UTC
    assert listed("2026-11-01T12:00") == [at(1, hour=23)]  # no zone: UTC
    # 03:30 in UTC+5:30 is 22:00 UTC the day before; 00:30 in UTC+14 is 10:30 UTC.
    assert listed("2026-11-02T03:30+05:30") == [at(1, hour=23)]
    assert listed("2026-11-02T00:30+14:00") == [at(1, hour=23)]
    assert listed("2026-11-01T00:30-11:00") == [at(1, hour=23)]
