"""Dates in waivers, rule reviews and --today at their edges: odd spellings, leap days, the
first and last days the calendar holds, and a day of slack for time zones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fleetcheck.policy.review import Period
from tests.conftest import run_cli

INVENTORY = "all:\n  hosts:\n    box: {ansible_connection: local}\n"


def _waiver(created: str, expires: str) -> str:
    return ("waivers:\n  - id: W\n    hosts: all\n    port: 1\n    reason: r\n    owner: o\n"
            f"    approved_by: a\n    created: {created}\n    expires: {expires}\n")


def _policy(every: str, reviewed_on: str) -> str:
    return (f"name: r\nhosts: all\nreview_every: {every}\nallow:\n  - id: a\n    proto: tcp\n"
            f"    port: 22\n    reviewed_on: {reviewed_on}\n")


def _validate(tmp: Path, files: dict[str, str], today: str) -> tuple[int, str, str]:
    (tmp / "inv.yml").write_text(INVENTORY)
    for name, text in files.items():
        (tmp / name).write_text(text)
    flags = [a for name in files for a in (("-w" if name.startswith("w") else "-p"), name)]
    res = run_cli(["validate", "-i", "inv.yml", *flags, "--today", today], cwd=tmp)
    return res.code, res.out, res.err


@pytest.mark.parametrize("today", ["20300115", "2030-W03-2", "2030-015", " 2030-01-15",
                                   "2030-01-15T00:00", "2030-1-15", "２０３０-01-15", "today",
                                   ""])
def test_today_is_written_yyyy_mm_dd_and_only_so(tmp_path: Path, today: str) -> None:
    code, out, err = _validate(tmp_path, {}, today)
    assert (code, out) == (2, "")
    assert err == f"fleetcheck: error: --today must be a date written YYYY-MM-DD, not {today!r}\n"


def test_the_first_and_last_days_of_the_calendar_are_days_like_any(tmp_path: Path) -> None:
    files = {"w.yml": _waiver("2030-01-01", "9999-12-31")}
    code, out, err = _validate(tmp_path, files, "9999-12-31")  # was an OverflowError
    assert (code, err) == (0, ""), err
    assert "expires on 9999-12-31, in 0 days" in out
    code, out, _ = _validate(tmp_path, files, "0001-01-01")
    assert code == 2
    assert "is created 2030-01-01, in the future (today is 0001-01-01)" in out


@pytest.mark.parametrize(("every", "start"), [
    ("6 months", dt.date(9999, 10, 1)), ("1 year", dt.date(9999, 1, 1)),
    ("999999999999 days", dt.date(2030, 1, 1)), ("99999999 weeks", dt.date(2030, 1, 1)),
    ("9999999999999 years", dt.date(2030, 1, 1)),
])
def test_a_review_due_past_the_calendar_is_due_on_its_last_day(every: str,
                                                              start: dt.date) -> None:
    count, unit = every.split()
    assert Period(int(count), unit.rstrip("s")).after(start) == dt.date.max


def test_a_review_due_past_9999_is_not_an_internal_error(tmp_path: Path) -> None:
    code, out, err = _validate(tmp_path, {"p.yml": _policy("6 months", "9999-10-01")},
                               "2030-01-01")
    assert (code, err) == (0, "")
    assert "rule r/a says reviewed_on 9999-10-01, which is in the future" in out
    code, out, _ = _validate(tmp_path, {"p.yml": _policy("999999999999 days", "2030-01-01")},
                             "2030-01-01")
    assert code == 0 and "warning" not in out


@pytest.mark.parametrize(("written", "future"), [("2030-01-02", False), ("2030-01-03", True)])
def test_a_date_written_a_time_zone_ahead_is_not_in_the_future(tmp_path: Path, written: str,
                                                               future: bool) -> None:
    """Today is the UTC date; no zone is a whole day ahead of it: one day of slack, for a
    review as for a waiver's creation."""
    code, out, _ = _validate(tmp_path, {"p.yml": _policy("1 year", written),
                                        "w.yml": _waiver(written, "2030-06-01")}, "2030-01-01")
    assert ("which is in the future" in out) is future
    assert (f"is created {written}, in the future" in out) is future
    assert code == (2 if future else 0)


@pytest.mark.parametrize(("today", "said"), [
    ("2028-02-29", "expires on 2028-02-29, in 0 days"),
    ("2028-03-01", "expired on 2028-02-29 (1 day ago)"),
])
def test_a_waiver_ending_on_a_leap_day_ends_that_day(tmp_path: Path, today: str,
                                                     said: str) -> None:
    code, out, _ = _validate(tmp_path, {"w.yml": _waiver("2028-01-01", "2028-02-29")}, today)
    assert code == 0 and said in out


def test_a_leap_day_of_a_common_year_is_a_located_error(tmp_path: Path) -> None:
    code, out, _ = _validate(tmp_path, {"w.yml": _waiver("2028-01-01", "2029-02-29")},
                             "2028-06-01")
    assert code == 2
    assert "w.yml:9:14: error: '2029-02-29' is not a valid date: day is out of range for " \
        "month" in out
