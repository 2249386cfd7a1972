"""Real scans of this machine at chosen times, in far time zones, with the clock set ahead or
stepped back (libfaketime under a real fleetcheck process): which date is "today", and
whether every time a run writes holds together."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import REPO, run_cli, run_files
from tests.lab.prereq import require

INVENTORY = "all:\n  hosts:\n    box: {ansible_connection: local}\n"


def _faketime(args: list[str], cwd: Path, *, at: dt.datetime, tz: str = "UTC", then: str = "",
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """fleetcheck as a process in time zone `tz` whose clock reads `at` when it starts (and
    goes on as faketime's `then` says: ' i-60' steps it back a minute at every reading)."""
    require(shutil.which("faketime") is not None, "faketime (Debian package faketime)")
    local = at.astimezone(ZoneInfo(tz))  # faketime reads its start in the process's zone
    return subprocess.run(["faketime", "-f", f"@{local:%Y-%m-%d %H:%M:%S}{then}",
                           sys.executable, "-m", "fleetcheck", *args],
                          cwd=cwd, text=True, capture_output=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO), "TZ": tz, **(env or {})})


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture
def held_port() -> Iterator[int]:
    """A real TCP listener of this process (the local scan sees it): its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _inputs(tmp: Path, port: int) -> None:
    (tmp / "inv.yml").write_text(INVENTORY)
    (tmp / "p.yml").write_text(f"name: t\nhosts: all\ndefault: allow\nforbid:\n"
                               f"  - id: held\n    proto: tcp\n    port: {port}\n")
    # W-ENDS's last day is the run's UTC date; W-NEW was written in UTC+14 at the moment
    # of the run, dated its author's day (two days after the date in UTC-11).
    (tmp / "w.yml").write_text(
        "waivers:\n"
        "  - {id: W-ENDS, hosts: all, rule: t/held, reason: r, owner: o, approved_by: a,\n"
        "     created: 2029-12-01, expires: 2030-01-01}\n"
        "  - {id: W-NEW, hosts: all, rule: t/held, reason: r, owner: o, approved_by: a,\n"
        "     created: 2030-01-02, expires: 2030-06-01}\n")


def _run(directory: Path) -> dict[str, Any]:
    (path,) = run_files(directory)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# Each zone at a moment when its date is not the UTC date (2030-01-01).
ZONES = [
    ("Pacific/Kiritimati", _utc(2030, 1, 1, 10, 30)),  # UTC+14: 2030-01-02 00:30 there
    ("Pacific/Pago_Pago", _utc(2030, 1, 1, 10, 30)),  # UTC-11: 2029-12-31 23:30 there
    ("Asia/Kolkata", _utc(2030, 1, 1, 19, 0)),  # UTC+5:30: 2030-01-02 00:30 there
    ("Australia/Lord_Howe", _utc(2030, 1, 1, 13, 15)),  # UTC+11 in its summer: 00:15 there
]


@pytest.mark.parametrize(("zone", "at"), ZONES)
def test_today_is_the_utc_date_in_every_time_zone(tmp_path: Path, held_port: int, zone: str,
                                                  at: dt.datetime) -> None:
    _inputs(tmp_path, held_port)
    check = _faketime(["validate", "-i", "inv.yml", "-p", "p.yml", "-w", "w.yml"], tmp_path,
                      at=at, tz=zone)
    assert check.returncode == 0, check.stdout + check.stderr  # W-NEW is not "in the future"
    assert "W-ENDS' expires on 2030-01-01, in 0 days" in check.stdout
    scan = _faketime(["scan", "-i", "inv.yml", "-p", "p.yml", "-w", "w.yml", "-o", "out",
                      "--format", "json,text"], tmp_path, at=at, tz=zone)
    assert scan.returncode == 0, scan.stderr  # the finding is waived on its last day
    run = _run(tmp_path / "out")
    assert run["started_at"].startswith("2030-01-01T") and run["finished_at"] >= \
        run["started_at"]
    assert run["meta"]["waiver_date"] == "2030-01-01" and run["run_id"].startswith("20300101T")
    assert {w["id"]: w["status"] for w in run["waivers"]} == {"W-ENDS": "active",
                                                              "W-NEW": "active"}
    (finding,) = run["hosts"][0]["findings"]
    assert (finding["port"], finding["waived"], finding["waiver"]) == (held_port, True, "W-ENDS")
    (text,) = (tmp_path / "out").glob("fleetcheck-2*.txt")
    assert "expired" not in text.read_text()
    # Read back from the files: the same day in explain and in the history's days.
    (saved,) = run_files(tmp_path / "out")
    explained = run_cli(["explain", "--run", str(saved), "box", f"{held_port}/tcp"],
                        cwd=tmp_path)
    assert "W-ENDS: waives it" in " ".join(explained.out.split()), explained.out
    daily = run_cli(["history", "-o", "out", "--daily", "--format", "json"], cwd=tmp_path)
    assert [d["day"] for d in json.loads(daily.out)] == ["2030-01-01"]


def test_a_clock_stepped_back_during_a_run_never_ends_it_before_it_began(
        tmp_path: Path, held_port: int) -> None:
    _inputs(tmp_path, held_port)
    # Every reading of the wall clock is a minute before the one before (NTP stepping it
    # back, over and over); the monotonic clock runs on.
    proc = _faketime(["scan", "-i", "inv.yml", "-p", "p.yml", "-o", "out", "--format",
                      "json,text,oscal"], tmp_path, at=_utc(2030, 3, 2, 2, 0), then=" i-60",
                     env={"FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    assert proc.returncode == 1, proc.stderr  # the forbidden listener, unwaived
    run = _run(tmp_path / "out")
    assert run["finished_at"] >= run["started_at"]
    (text,) = (tmp_path / "out").glob("fleetcheck-2*.txt")
    duration = next(line for line in text.read_text().splitlines() if "Duration" in line)
    assert "-" not in duration, duration
    (oscal,) = (tmp_path / "out").glob("fleetcheck-2*.oscal.json")
    (result,) = json.loads(oscal.read_text())["assessment-results"]["results"]
    assert result["end"] >= result["start"]


def test_a_clock_far_ahead_still_writes_the_evidence_bundle(tmp_path: Path,
                                                            held_port: int) -> None:
    _inputs(tmp_path, held_port)
    proc = _faketime(["scan", "-i", "inv.yml", "-p", "p.yml", "-o", "out", "--format", "json",
                      "--evidence", "b.zip"], tmp_path, at=_utc(2150, 6, 1, 12, 0))
    assert proc.returncode == 1, proc.stderr  # the verdict, not an internal error
    assert _run(tmp_path / "out")["started_at"].startswith("2150-06-01T")
    with zipfile.ZipFile(tmp_path / "b.zip") as bundle:
        # A zip cannot say 2150: its last second, 2107-12-31 23:59:58.
        assert {i.date_time for i in bundle.infolist()} == {(2107, 12, 31, 23, 59, 58)}
    verified = run_cli(["verify", "b.zip"], cwd=tmp_path)  # unsigned: intact, not proven
    assert verified.code == 3 and "b.zip is intact (8 files match" in verified.out
