"""A saved run with a value of another type than fleetcheck writes is one located error
(exit 2) for every command reading runs, never an internal error in a renderer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, run_files

Change = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run of this machine with a policy of every rule kind."""
    where = tmp_path_factory.mktemp("run")
    (where / "p.yml").write_text(
        "name: p\nhosts: all\nallow:\n  - id: ssh\n    proto: tcp\n    port: 22\n"
        "    process: sshd\nrequire:\n  - id: cron\n    service: ssh\n")
    res = run_cli(["scan", "-c", "local", "-p", "p.yml", "-o", "r", "--format", "json",
                   "--evidence", "ev.zip", "-q"], cwd=where)
    assert res.code in (0, 1), res.err
    run: dict[str, Any] = json.loads(run_files(where / "r")[0].read_text())
    return run


def _rule(change: Change) -> Change:
    return lambda d: change(d["policy_definitions"][0]["rules"][0])


CASES: list[tuple[Change, str]] = [
    (_rule(lambda r: r.update(action=1.5)), "$.policy_definitions[0]: rule "),
    (_rule(lambda r: r.update(id=["ssh"])), "$.policy_definitions[0]: rule "),
    (_rule(lambda r: r.update(proto=[["tcp"]])), "$.policy_definitions[0]: "),
    (_rule(lambda r: r.update(process=[True])), "$.policy_definitions[0]: "),
    (lambda d: d["policy_definitions"][0].pop("name"), "$.policy_definitions[0]: "),
    (lambda d: d["policy_definitions"].append(3), "$.policy_definitions[1]: "),
    (lambda d: d["hosts"][0].update(groups=[{}]), "$.hosts[0].groups[0]: {} is not string"),
    (lambda d: d["hosts"][0]["listeners"][0].update(port=float("inf")),
     "$.hosts[0].listeners[0].port: Infinity is not integer"),
    (lambda d: d["meta"]["evidence"].update(sha256=7),
     "$.meta.evidence.sha256: 7 is not string"),
    (lambda d: d["summary"].update(fail_on=None), "$.summary.fail_on: null is not one of "),
    # Times and dates of the right shape that no calendar holds (were internal errors).
    (lambda d: d.update(started_at="2030-02-30T02:00:00Z"),
     "$.started_at: '2030-02-30T02:00:00Z' is not a time: day is out of range for month"),
    (lambda d: d.update(finished_at="2030-01-01T25:00:00Z"), "$.finished_at: "),
    (lambda d: d.update(started_at="9999-12-31T23:00:00-05:00"),  # past 9999 in UTC
     "$.started_at: '9999-12-31T23:00:00-05:00' is not a time"),
    (lambda d: d["hosts"][0]["findings"][0].update(first_seen="2030-13-01T00:00:00Z"),
     "$.hosts[0].findings[0].first_seen: "),
    (lambda d: d["meta"].update(waiver_date="2030-02-30"), "$.meta.waiver_date: "),
    (lambda d: d["waivers"].append({"id": "W", "status": "active", "reason": "r",
                                    "owner": "o", "created": "2030-01-01",
                                    "expires": "never"}),
     "$.waivers[0].expires: 'never' is not a date"),
]


@pytest.mark.parametrize(("change", "says"), CASES)
@pytest.mark.parametrize("argv", [
    ["report", "run.invalid.json", "--format", "all", "-o", "out"],
    ["evidence", "run.invalid.json", "-o", "ev.zip"],
    ["merge", "run.invalid.json", "--no-history", "-o", "m"],
    ["diff", "run.invalid.json", "run.invalid.json"],
    ["explain", "--run", "run.invalid.json", "localhost", "22"],
])
def test_a_damaged_run_is_one_located_error(real_run: dict[str, Any], tmp_path: Path,
                                            change: Change, says: str, argv: list[str]
                                            ) -> None:
    # `.invalid.` in the name: the suite's schema net (tests/runschema.py) passes it over
    doc = json.loads(json.dumps(real_run))
    change(doc)
    (tmp_path / "run.invalid.json").write_text(json.dumps(doc))
    res = run_cli(argv, cwd=tmp_path)
    assert (res.code, res.out) == (2, "")
    assert res.err.startswith("fleetcheck: error: run.invalid.json: malformed fleetcheck.run/3 "
                              f"document: {says}")
    assert res.err.count("\n") == 1


def test_a_run_without_its_bundle_signer_still_renders(real_run: dict[str, Any],
                                                       tmp_path: Path) -> None:
    doc = json.loads(json.dumps(real_run))
    del doc["meta"]["evidence"]["signed_by"]  # optional in the schema
    (tmp_path / "run.json").write_text(json.dumps(doc))
    res = run_cli(["report", "run.json", "--format", "html"], cwd=tmp_path)
    assert res.code == 0, res.err
    assert "<strong>unsigned</strong>" in res.out


def test_a_rule_port_that_reads_as_no_port_names_the_run(real_run: dict[str, Any],
                                                          tmp_path: Path) -> None:
    doc = json.loads(json.dumps(real_run))
    doc["policy_definitions"][0]["rules"][0]["port"] = "all"
    (tmp_path / "run.invalid.json").write_text(json.dumps(doc))
    res = run_cli(["diff", "run.invalid.json", "run.invalid.json"], cwd=tmp_path)
    assert (res.code, res.err) == (2, "fleetcheck: error: run.invalid.json: malformed "
                                      "fleetcheck.run/3 document: $.policy_definitions[0]: "
                                      "port must be a number or a range 'LO-HI', not 'all'\n")


def test_a_waiver_expired_on_the_calendars_last_day_still_renders(real_run: dict[str, Any],
                                                                   tmp_path: Path) -> None:
    """Only a run edited by hand says so, but every date is a date: OSCAL's 'expired the
    day after' has no day after 9999-12-31 (it was an OverflowError)."""
    doc = json.loads(json.dumps(real_run))
    doc["waivers"].append({"id": "W", "status": "expired", "reason": "r", "owner": "o",
                           "created": "2030-01-01", "expires": "9999-12-31"})
    (tmp_path / "run.json").write_text(json.dumps(doc))
    res = run_cli(["report", "run.json", "--format", "oscal"], cwd=tmp_path)
    assert res.code == 0, res.err
    assert '"start": "9999-12-31T00:00:00Z"' in res.out
