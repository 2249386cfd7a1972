"""`fleetcheck diff`, `fleetcheck history` and `fleetcheck report` on run files and databases
(no hosts needed: the runs are built from the model and recorded as scans record them)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.history import schema
from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, RenderOptions
from tests.conftest import run_cli
from tests.history.nights import at, checked, down, night, open_db, stray


def _save(run: RunResult, path: Path) -> Path:
    path.write_text(json.dumps(run.to_dict(), indent=1))
    return path


def _nights(tmp: Path) -> list[Path]:
    """Four nights recorded in tmp/scans.sqlite3, saved as run files."""
    fleet = [
        [checked("a", stray(8080)), checked("b", stray(9000))],
        [checked("a", stray(8080), stray(7000)), checked("b")],
        [checked("a", stray(8080)), down("b")],
        [checked("a", stray(8080)), checked("b", stray(9000))],
    ]
    with open_db(tmp, "scans.sqlite3") as db:
        return [_save(night(db, hosts, at(day)), tmp / f"night{day}.json")
                for day, hosts in enumerate(fleet, 1)]


def _diff(tmp: Path, old: Path, new: Path, *args: str) -> tuple[int, str, str]:
    res = run_cli(["diff", str(old), str(new), *args], cwd=tmp)
    return res.code, res.out, res.err


def test_diff_exit_codes_and_sections(tmp_path: Path) -> None:
    n1, n2, n3, n4 = _nights(tmp_path)
    code, out, _ = _diff(tmp_path, n1, n2)
    assert code == 1  # a's 7000 is new
    assert "New since the baseline (1)" in out and "tcp/7000" in out
    assert "Fixed (1)" in out and "tcp/9000" in out
    assert "Listeners added (1)" in out and "Listeners removed (1)" in out
    assert out.rstrip().endswith("exit 1: 1 violation new or reopened")
    assert _diff(tmp_path, n3, n3)[0] == 0
    code, out, _ = _diff(tmp_path, n2, n3)  # b unchecked in n3, with nothing open before
    assert code == 0
    code, out, _ = _diff(tmp_path, n1, n3)  # b had 9000 open in n1 and is unchecked in n3
    assert code == 3
    assert "Not verified tonight (1)" in out
    code, out, _ = _diff(tmp_path, n2, n4)  # 9000 fixed in n2 (per n2's changes), back in n4
    assert code == 1
    assert "Reopened (1)" in out


def test_diff_json_names_every_change(tmp_path: Path) -> None:
    n1, n2, *_ = _nights(tmp_path)
    code, out, _ = _diff(tmp_path, n1, n2, "--format", "json")
    data = json.loads(out)
    assert (code, data["exit_code"], data["new_violations"]) == (1, 1, 1)
    assert [(f["host"], f["port"], f["change"]) for f in data["findings"]] == \
        [("a", 7000, "new")]
    assert [(f["host"], f["port"]) for f in data["changes"]["fixed"]] == [("b", 9000)]
    assert [(li["host"], li["port"]) for li in data["listeners"]["added"]] == [("a", 7000)]
    assert [(li["host"], li["port"]) for li in data["listeners"]["removed"]] == [("b", 9000)]
    assert data["old"]["run_id"] == f"run-{at(1)}"


@pytest.mark.parametrize("bad", ["missing.json", "notjson.json"])
def test_diff_bad_input_is_exit_2_naming_the_file(tmp_path: Path, bad: str) -> None:
    (n1, *_) = _nights(tmp_path)
    (tmp_path / "notjson.json").write_text("{not json")
    code, out, err = _diff(tmp_path, n1, tmp_path / bad)
    assert (code, out) == (2, "")
    assert err.startswith(f"fleetcheck: error: {tmp_path / bad}")
    assert err.count("\n") == 1


def test_history_import_then_list_timeline_since_daily(tmp_path: Path) -> None:
    files = _nights(tmp_path)
    db = tmp_path / "rebuilt.sqlite3"
    res = run_cli(["history", "import", *map(str, reversed(files)), "--history-db", str(db)],
                  cwd=tmp_path)
    assert res.code == 0, res.err
    assert res.out.splitlines()[0] == f"run-{at(1)}: recorded 2 hosts: 2 new, 0 reopened, " \
        "0 fixed, 0 not verified"
    res = run_cli(["history", "--history-db", str(db), "--format", "json"], cwd=tmp_path)
    runs = json.loads(res.out)
    assert [(r["new"], r["reopened"], r["fixed"], r["unverified"]) for r in runs] == \
        [(2, 0, 0, 0), (1, 0, 1, 0), (0, 0, 1, 0), (0, 1, 0, 0)]
    assert all(r["complete"] is True for r in runs)  # a JSON boolean, as in the run, not 1
    assert run_cli(["history", "--history-db", str(db), "--since", "2026-11-03"],
                   cwd=tmp_path).out.count("run-2026-11-0") == 2
    res = run_cli(["history", "--history-db", str(db), "--host", "b", "--format", "json"],
                  cwd=tmp_path)
    line: dict[str, Any] = json.loads(res.out)
    assert line["checks"] == 3
    assert [r["status"] for r in line["runs"]] == ["noncompliant", "compliant", "unreachable",
                                                   "noncompliant"]
    assert [(e["what"], e["category"], e["port"]) for e in line["events"]
            if e["category"] == "finding"] == \
        [("opened", "finding", 9000), ("closed", "finding", 9000),
         ("reopened", "finding", 9000)]
    text = run_cli(["history", "--history-db", str(db), "--host", "b"], cwd=tmp_path).out
    assert text.startswith("b: checked 3 times")
    daily = json.loads(run_cli(["history", "--history-db", str(db), "--daily", "--format",
                                "json"], cwd=tmp_path).out)
    assert [d["day"] for d in daily] == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    again = run_cli(["history", "import", str(files[0]), "--history-db", str(db)], cwd=tmp_path)
    assert "already recorded, skipped" in again.out


def test_history_prune_and_the_default_location_beside_the_reports(tmp_path: Path) -> None:
    files = _nights(tmp_path)
    reports = tmp_path / "reports"
    assert run_cli(["history", "import", *map(str, files)], cwd=tmp_path).code == 0
    assert (reports / "fleetcheck-history.sqlite3").is_file()
    res = run_cli(["history", "prune", "--keep-days", "0"], cwd=tmp_path)
    assert res.code == 0
    assert "pruned 4 runs and 8 host records" in res.out
    assert "none" in run_cli(["history"], cwd=tmp_path).out
    assert json.loads(run_cli(["history", "--daily", "--format", "json"], cwd=tmp_path).out)
    # counts of one read as one (daily totals are kept, so the four days stay)
    assert "daily totals (4 days)" in run_cli(["history", "--daily"], cwd=tmp_path).out
    one = run_cli(["history", "--daily", "--since", "2026-11-04"], cwd=tmp_path).out
    assert "daily totals (1 day)\n" in one
    again = run_cli(["history", "prune", "--keep-days", "0"], cwd=tmp_path).out
    assert "pruned 0 runs and 0 host records" in again and "0 intervals" in again


@pytest.mark.parametrize("case", ["missing", "prune-missing", "newer", "unknown-host",
                                  "bad-since"])
def test_history_command_errors_are_one_line_exit_2(tmp_path: Path, case: str) -> None:
    db = tmp_path / "h.sqlite3"
    argv = ["history", "--history-db", str(db)]
    if case == "newer":
        conn = sqlite3.connect(db)
        conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 7")
        conn.close()
    elif case == "prune-missing":  # a mistyped path: nothing to prune, and no new file
        argv += ["prune", "--keep-days", "30"]
    elif case in ("unknown-host", "bad-since"):
        with open_db(tmp_path, "h.sqlite3") as h:
            night(h, [checked("a")], at(1))
        argv += ["--host", "zz"] if case == "unknown-host" else ["--since", "yesterday"]
    res = run_cli(argv, cwd=tmp_path)
    assert (res.code, res.out) == (2, "")
    assert res.err.count("\n") == 1
    assert res.err.startswith("fleetcheck: error: ")
    if case != "bad-since":
        assert str(db) in res.err
    if case in ("missing", "prune-missing"):
        assert not db.exists()  # reading, or pruning, never creates a database


def test_report_rerenders_changes_ages_and_trend_from_the_file_alone(tmp_path: Path) -> None:
    *_, n4 = _nights(tmp_path)
    run = RunResult.from_dict(json.loads(n4.read_text()))
    (tmp_path / "scans.sqlite3").unlink()  # the database is gone: the file is enough
    res = run_cli(["report", str(n4)], cwd=tmp_path)
    assert res.code == 0
    assert res.out == FORMATS["text"].render(run, RenderOptions())
    changes = res.out.index("CHANGES")
    assert changes < res.out.index("FINDINGS (")
    assert "Reopened (1)" in res.out[changes:]
    assert "[reopened, first seen 2026-11-01 (3 days ago), flapped 1 time]" in \
        " ".join(res.out.split())
    html = run_cli(["report", str(n4), "--format", "html"], cwd=tmp_path).out
    assert html.count("<polyline class=\"series") == 4
    assert 'id="changes-reopened"' in html and "flapped 1 time" in html
    assert "<script src" not in html


def test_scan_history_flags_that_cannot_work_are_bad_input(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n    box: {ansible_host: 192.0.2.1}\n")
    base = ["scan", "-i", str(inv), "-o", str(tmp_path / "out")]
    res = run_cli([*base, "--fail-on-new", "--no-history"], cwd=tmp_path)
    assert res.code == 2 and "--no-history" in res.err
    # no report directory, so no database: the error says so, not a flag never given
    res = run_cli(["scan", "-i", str(inv), "-o", "-", "--format", "json", "--fail-on-new"],
                  cwd=tmp_path)
    assert res.code == 2 and "--no-history" not in res.err
    assert "writes no report directory keeps none (give --history-db FILE, or --baseline " \
        "RUN.json)" in res.err
    res = run_cli([*base, "--baseline", "gone.json"], cwd=tmp_path)
    assert res.code == 2 and res.err.startswith("fleetcheck: error: gone.json")
    res = run_cli([*base, "--history-keep-days", "-1"], cwd=tmp_path)
    assert res.code == 2
    assert not list((tmp_path / "out").glob("*.json"))  # nothing was scanned


def test_host_text_never_reaches_the_terminal_as_control(tmp_path: Path) -> None:
    hostile = "\x1b]0;owned\x07evil\u202e"
    with open_db(tmp_path, "h.sqlite3") as db:
        night(db, [checked("a", stray(8080, process=hostile))], at(1))
    out = run_cli(["history", "--history-db", str(tmp_path / "h.sqlite3"), "--host", "a"],
                  cwd=tmp_path).out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b]0;owned\\x07evil\\u202e" in out


# A database changed by hand or by another tool: a table dropped, or a value of another
# type than fleetcheck writes (SQLite keeps whatever was written). Every view says which.
@pytest.mark.parametrize(("change", "view", "says"), [
    ("DROP TABLE daily", ["--daily"], "no such table: daily"),
    ("DROP TABLE host_runs", ["--host", "a"], "no such table: host_runs"),
    ("UPDATE runs SET hosts = x'ff00'", ["--format", "json"],
     "damaged history database: runs.hosts holds b'\\xff\\x00', not int"),
    ("UPDATE daily SET runs = 'many'", ["--daily"],
     "damaged history database: daily.runs holds 'many', not int"),
    ("UPDATE host_runs SET status = x'00'", ["--host", "a"],  # TEXT keeps a BLOB as one
     "damaged history database: host_runs.status holds b'\\x00', not str"),
    ("UPDATE items SET port = 'x'", ["--host", "b"],
     "damaged history database: items.port holds 'x', not int"),
    ("UPDATE items SET detail = '[1]' WHERE category = 'finding'", ["--host", "b"],
     "damaged history database: items.detail holds '[1]'"),
])
def test_a_damaged_history_is_one_error_naming_it(tmp_path: Path, change: str,
                                                  view: list[str], says: str) -> None:
    db = tmp_path / "h.sqlite3"
    with open_db(tmp_path, "h.sqlite3") as h:
        night(h, [checked("a"), checked("b", stray(9000))], at(1))
    with sqlite3.connect(db) as conn:
        conn.execute(change)
    conn.close()
    res = run_cli(["history", "--history-db", str(db), *view], cwd=tmp_path)
    assert (res.code, res.out) == (2, "")
    assert res.err == f"fleetcheck: error: {db}: {says}\n"


def test_a_host_name_no_database_can_hold_is_not_in_it(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with open_db(tmp_path, "h.sqlite3") as h:
        night(h, [checked("a")], at(1))
    # '\udcff': an argv byte that is not UTF-8, as Python decodes it
    res = run_cli(["history", "--history-db", str(db), "--host", "\udcff"], cwd=tmp_path)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {db}: no host '\\udcff' in this "
                                      "history\n")


@pytest.mark.parametrize("argv", [["scan", "-c", "local", "-l", "localhost"], ["history"],
                                  ["history", "prune", "--keep-days", "30"]])
def test_history_db_dash_is_bad_input_never_a_file_named_dash(tmp_path: Path,
                                                              argv: list[str]) -> None:
    res = run_cli([*argv, "--history-db", "-"], cwd=tmp_path)
    assert res.code == 2 and "--history-db -: a history database is a file" in res.err, res.err
    assert not (tmp_path / "-").exists()
