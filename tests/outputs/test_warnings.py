"""Waivers about to expire and validate's warnings: recorded in the run, said in every report
and on stderr. Real local scans with real waiver and policy files."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from fleetcheck.model import RunResult
from fleetcheck.policy.lint import WARN_EXPIRING_DAYS
from fleetcheck.render import FORMATS, RenderOptions
from fleetcheck.render.waived import WARN_DAYS
from tests.conftest import run_cli

WAIVER = """waivers:
  - id: W-SOON
    hosts: all
    proto: tcp
    port: 1
    reason: a waiver about to lapse
    owner: alice@example.net
    approved_by: bob@example.net
    created: 2026-01-01
    expires: 2026-12-10
"""
# A policy selecting no host of the inventory: validate warns, and so must every report.
IDLE_POLICY = """name: idle
hosts: nosuchgroup
allow:
  - id: anything
    proto: tcp
    port: 1
"""


def test_the_windows_agree() -> None:
    assert WARN_DAYS == WARN_EXPIRING_DAYS


def _every_report(run: RunResult) -> dict[str, str]:
    return {name: fmt.render(run, RenderOptions(rendered_at="x"))
            for name, fmt in FORMATS.items()}


def test_an_expiring_waiver_is_warned_about_everywhere(tmp_path: Path) -> None:
    (tmp_path / "w.yml").write_text(WAIVER)
    (tmp_path / "idle.yml").write_text(IDLE_POLICY)
    res = run_cli(["scan", "-w", "w.yml", "-p", "idle.yml", "--today", "2026-12-04",
                   "--format", "json", "-o", "r"], cwd=tmp_path)
    assert res.code in (0, 1, 3), res.err
    soon = "waiver W-SOON (alice@example.net) expires on 2026-12-10, in 6 days"
    idle = "policy 'idle' selects no host"
    assert "w.yml:10:14: warning: waiver 'W-SOON' expires on 2026-12-10, in 6 days" in res.err
    assert idle in res.err  # validate's warnings on stderr, as before
    run = RunResult.from_dict(json.loads(res.out))
    assert run.meta["waiver_warning_days"] == 14
    assert any(idle in w for w in run.meta["policy_warnings"])  # recorded in the run
    # as the inventory's are, 'file:line:col: message': reports say WARNING once, not twice
    assert all(re.match(r"\S+\.yml:\d+:\d+: [a-z]", w) and ": warning: " not in w
               for w in run.meta["policy_warnings"]), run.meta["policy_warnings"]
    assert not any("W-SOON" in w for w in run.meta["policy_warnings"])  # said once, not twice
    reports = _every_report(run)
    for name, text in reports.items():
        if name in ("json", "csv-groups", "register", "oscal"):
            continue  # the record itself; sheets and documents of findings and ports only
        # (the Markdown's empty comments, which keep GitHub from linking an address, show
        # nothing)
        flat = " ".join(html.unescape(text.replace("<!-- -->", "")).split())
        assert soon in flat, name
        assert idle in flat, name
    junit = ET.fromstring(reports["junit"])  # noqa: S314 -- our own output
    for suite in junit.iter("testsuite"):
        props = [p.get("value") or "" for p in suite.iter("property")
                 if p.get("name") == "warning"]
        assert any(soon in p for p in props) and any(idle in p for p in props)
    rows = list(csv.DictReader(io.StringIO(reports["csv"], newline="")))
    assert {r["kind"] for r in rows if soon in r["message"]} == {"warning"}
    assert {r["kind"] for r in rows if idle in r["message"]} == {"input_warning"}
    assert "expires in 6 days" in reports["html"]  # the waiver's own row says it too
    # and the text report's waiver table, as docs/reports.md says every report marks it
    table = reports["text"].split("\nWAIVERS (", 1)[1].split("\n\n", 1)[0]
    assert "Expiring within 14 days: W-SOON (2026-12-10, in 6 days)" in table


def test_the_window_is_configurable(tmp_path: Path) -> None:
    (tmp_path / "w.yml").write_text(WAIVER)
    res = run_cli(["scan", "-w", "w.yml", "--today", "2026-12-04", "--waiver-warning-days",
                   "3", "--format", "json", "-o", "-"], cwd=tmp_path)
    assert "expires on" not in res.err and "expires on" not in res.out
    run = RunResult.from_dict(json.loads(res.out))
    assert run.meta["waiver_warning_days"] == 3
    assert not any("expires on" in w for w in _every_report(run)["text"].splitlines()
                   if w.startswith("WARNING"))
    bad = run_cli(["scan", "--waiver-warning-days", "-1"], cwd=tmp_path)
    assert bad.code == 2 and "--waiver-warning-days must be 0 or more" in bad.err


def test_junit_one_case_per_host_and_per_finding_with_its_sentence() -> None:
    """JUnit keeps its shape: a suite per host with one collect case, one case per finding
    whose failure message is the finding's sentence (after its severity)."""
    from tests.render import builders

    run = builders.composite_run()
    root = ET.fromstring(FORMATS["junit"].render(run))  # noqa: S314 -- our own output
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {h.name for h in run.hosts}
    for host in run.hosts:
        cases = suites[host.name].findall("testcase")
        assert [c.get("name") for c in cases].count("collect listeners") == 1
        failures = [c.find("failure") for c in cases if c.find("failure") is not None]
        violations = [f for f in host.findings if not f.waived and not f.below_threshold]
        assert len(failures) == len(violations)
        for f in violations:
            assert any(x is not None and x.get("message") == f"{f.severity.label}: {f.message}"
                       for x in failures), f.message
