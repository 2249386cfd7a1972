"""Rule reviews (PCI DSS 1.2.7): review_every, the approval trail, overdue_review findings with
a configurable severity, validate's warnings, and the trail kept in the run record."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from fleetcheck.model import FindingKind, Listener, Severity
from fleetcheck.policy import Policy, review
from fleetcheck.policy.judge import evaluate
from fleetcheck.policy.load import policy_from_text
from fleetcheck.policy.problems import Problems
from fleetcheck.policy.serialize import policy_from_dict, policy_to_dict
from fleetcheck.yamlsrc import Mark
from tests.conftest import run_cli

POLICY = """\
name: web
default: deny
review_every: 6 months
review_severity: low
allow:
  - id: ssh
    proto: tcp
    port: 22
    justification: Administration from the bastions.
    approved_by: security-board
    approved_on: 2029-01-10
    reviewed_on: 2030-03-01
  - id: metrics
    proto: tcp
    port: 9100
    approved_by: ops-lead
    approved_on: 2029-08-31
  - id: never
    proto: udp
    port: [123, 323]
forbid:
  - id: telnet
    port: 23
require:
  - id: ssh-up
    proto: tcp
    port: 22
    reviewed_on: 2030-05-01
"""
TODAY = dt.date(2030, 6, 1)
SSH = Listener("tcp", 4, "0.0.0.0", 22, "sshd", 1)


@pytest.mark.parametrize(("text", "count", "unit", "start", "end"), [
    ("6 months", 6, "month", dt.date(2029, 8, 31), dt.date(2030, 2, 28)),  # month end clamps
    ("1 year", 1, "year", dt.date(2028, 2, 29), dt.date(2029, 2, 28)),
    ("90 days", 90, "day", dt.date(2030, 1, 1), dt.date(2030, 4, 1)),
    ("2 Weeks", 2, "week", dt.date(2030, 1, 1), dt.date(2030, 1, 15)),
    ("12 month", 12, "month", dt.date(2030, 1, 31), dt.date(2031, 1, 31)),
])
def test_periods(text: str, count: int, unit: str, start: dt.date, end: dt.date) -> None:
    period = review.period(text, Mark("p.yml", 1, 1))
    assert (period.count, period.unit) == (count, unit)
    assert period.after(start) == end
    assert review.parse_period(str(period)) == period


def _judged() -> list[Policy]:
    return review.judge([policy_from_text(POLICY, "web.yml")], TODAY, Problems())


def test_overdue_allowances_are_findings_with_the_policys_severity() -> None:
    (policy,) = _judged()
    judged = evaluate("web1", [SSH], [policy])
    overdue = {f.rule or "": f for f in judged.findings if f.kind is FindingKind.OVERDUE_REVIEW}
    assert sorted(overdue) == ["web/metrics", "web/never"]  # ssh reviewed in March; forbids not
    metrics = overdue["web/metrics"]
    assert (metrics.severity, metrics.proto, metrics.port, metrics.address) == \
        (Severity.LOW, "tcp", 9100, None)
    assert metrics.message == ("the review of allow rule web/metrics is overdue: last approved "
                               "on 2029-08-31, due on 2030-02-28 (every 6 months), 93 days ago")
    never = overdue["web/never"]
    assert (never.proto, never.port) == ("udp", None)
    assert "records no approved_on or reviewed_on date" in never.message
    # the same host judged again gives the same ids (stable across runs)
    again = evaluate("web1", [SSH], [policy])
    assert {f.id for f in again.findings} == {f.id for f in judged.findings}


def test_severity_info_stays_info_and_no_period_means_no_review() -> None:
    text = POLICY.replace("review_severity: low", "review_severity: info")
    (policy,) = review.judge([policy_from_text(text, "web.yml")], TODAY, Problems())
    findings = evaluate("web1", [SSH], [policy]).findings
    assert {f.severity for f in findings if f.kind is FindingKind.OVERDUE_REVIEW} == \
        {Severity.INFO}
    plain = policy_from_text(POLICY.replace("review_every: 6 months\n", ""), "web.yml")
    (unreviewed,) = review.judge([plain], TODAY, Problems())
    assert unreviewed.review_date is None
    assert not [f for f in evaluate("web1", [SSH], [unreviewed]).findings
                if f.kind is FindingKind.OVERDUE_REVIEW]
    # the same `or` slip made every `severity: info` rule and stray_severity the default
    info = policy_from_text("name: p\nstray_severity: info\nforbid:\n  - id: x\n    port: 1\n"
                            "    severity: info\n", "p.yml")
    assert (info.stray_severity, info.rules[0].severity) == (Severity.INFO, Severity.INFO)


def test_the_trail_and_review_state_survive_the_run_record() -> None:
    (policy,) = _judged()
    data = json.loads(json.dumps(policy_to_dict(policy)))
    assert (data["review_every"], data["review_severity"], data["review_date"]) == \
        ("6 months", "low", "2030-06-01")
    ssh = data["rules"][0]
    assert {k: ssh[k] for k in ("justification", "approved_by", "approved_on", "reviewed_on",
                                "review_due", "review_overdue")} == {
        "justification": "Administration from the bastions.", "approved_by": "security-board",
        "approved_on": "2029-01-10", "reviewed_on": "2030-03-01", "review_due": "2030-09-01",
        "review_overdue": False}
    assert "review_due" not in data["rules"][3]  # the forbid rule is not reviewed
    back = policy_from_dict(data)
    assert back.review_every == policy.review_every and back.review_date == TODAY
    assert [r.reviewed_on for r in back.rules] == [r.reviewed_on for r in policy.rules]


def test_validate_warns_about_overdue_and_future_reviews(tmp_path: Path) -> None:
    (tmp_path / "web.yml").write_text(POLICY.replace("reviewed_on: 2030-05-01",
                                                     "reviewed_on: 2031-01-01"))
    res = run_cli(["validate", "-p", "web.yml", "--today", "2030-06-01"], cwd=tmp_path)
    assert res.code == 0, res.out
    lines = res.out.splitlines()
    assert lines[:-1] == [
        "web.yml:13:5: warning: the review of allow rule web/metrics is overdue: last approved "
        "on 2029-08-31, due on 2030-02-28 (every 6 months), 93 days ago",
        "web.yml:18:5: warning: the review of allow rule web/never is overdue: it records no "
        "approved_on or reviewed_on date, and its policy asks for a review every 6 months",
        "web.yml:25:5: warning: rule web/ssh-up says reviewed_on 2031-01-01, which is in the "
        "future"]
    strict = run_cli(["validate", "--strict", "-p", "web.yml", "--today", "2030-06-01"],
                     cwd=tmp_path)
    assert strict.code == 2


@pytest.mark.parametrize(("line", "where", "message"), [
    ("review_every: 6 months", "review_every: half a year", "3:15: error: review_every must "
     "be a period such as '6 months', '90 days' or '1 year', not 'half a year'"),
    ("review_every: 6 months", "review_every: 0 days", "3:15: error: review_every must be"),
    ("review_severity: low", "review_severity: urgent", "4:18: error: unknown severity "
     "'urgent'"),
    ("approved_on: 2029-01-10", "approved_on: last year", "11:18: error: expected a date "
     "(YYYY-MM-DD), not 'last year'"),
    ("justification: Administration from the bastions.", "justification:", "9:19: error: "
     "'justification' has no value"),
])
def test_bad_review_keys_are_located_errors(tmp_path: Path, line: str, where: str,
                                            message: str) -> None:
    (tmp_path / "web.yml").write_text(POLICY.replace(line, where))
    res = run_cli(["validate", "-p", "web.yml", "--today", "2030-06-01"], cwd=tmp_path)
    assert res.code == 2
    assert any(out.startswith(f"web.yml:{message}") for out in res.out.splitlines()), res.out


def test_a_waiver_can_cover_an_overdue_review(tmp_path: Path) -> None:
    (tmp_path / "web.yml").write_text(POLICY)
    (tmp_path / "w.yml").write_text(
        "waivers:\n  - id: W-REVIEW\n    hosts: all\n    kind: overdue_review\n"
        "    rule: web/metrics\n    reason: Review booked for the next board.\n"
        "    justification: The board meets quarterly; metrics stay until then.\n"
        "    reviewed_on: 2030-05-20\n    owner: ops\n    approved_by: ciso\n"
        "    created: 2030-05-20\n    expires: 2030-07-01\n")
    res = run_cli(["validate", "-p", "web.yml", "-w", "w.yml", "--today", "2030-06-01"],
                  cwd=tmp_path)
    assert res.code == 0, res.out
