"""JUnit XML: valid against the JUnit schema, read back by a JUnit library as CI would."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import xmlschema
from junitparser import Error, Failure, JUnitXml, Skipped

from fleetcheck.engine.summary import summarize
from fleetcheck.model import CommandRecord, Finding, FindingKind, RunResult, Severity
from fleetcheck.render import junit
from tests.render import builders
from tests.render.synthetic import synthetic_run

XSD = Path(__file__).with_name("junit.xsd")


@cache
def schema() -> xmlschema.XMLSchema:
    """The JUnit XSD the reports must satisfy."""
    return xmlschema.XMLSchema(str(XSD))


def parse(run: RunResult) -> JUnitXml:
    """Render `run`, validate it, and read it with junitparser."""
    text = junit.render(run)
    schema().validate(text)
    return JUnitXml.fromstring(text.encode("utf-8"))


def test_a_suite_per_host_and_a_case_per_finding_and_rule(composite: RunResult) -> None:
    xml = parse(composite)
    suites = {s.name: s for s in xml}
    assert sorted(suites) == sorted(h.name for h in composite.hosts)
    for host in composite.hosts:
        suite = suites[host.name]
        cases = list(suite)
        results = [type(r) for c in cases for r in c.result]
        if not host.checked:
            assert results == [Error] and suite.errors == 1
            assert host.error is not None
            assert cases[0].result[0].type == host.error.kind
            continue
        # a finding below --fail-on (the info overdue_review on web1) is a passing case
        fail_on = Severity.parse(composite.summary.fail_on)
        open_ = [f for f in host.findings if not f.waived and f.severity >= fail_on]
        waived = [f for f in host.findings if f.waived]
        assert results.count(Failure) == suite.failures == len(open_)
        assert results.count(Skipped) == suite.skipped == len(waived)
        names = [c.name for c in cases]
        finding_names = junit.case_names(sorted(host.findings, key=Finding.sort_key))
        assert set(finding_names) <= set(names)
        assert len(set(finding_names)) == len(finding_names)  # CI counts each one
        for rule in {jl.rule for jl in host.listeners if jl.verdict.value == "allowed"}:
            assert f"rule {rule}" in names
        assert suite.tests == len(cases) == 1 + len(host.findings) + sum(
            1 for n in names if n.startswith("rule ") or n == "default allow")
    assert xml.failures == composite.summary.violations
    assert xml.errors == composite.summary.unreachable + composite.summary.errors


def test_forbidden_1923_is_a_failure_naming_the_rule(composite: RunResult) -> None:
    (web1,) = [s for s in parse(composite) if s.name == "web1"]
    (case,) = [c for c in web1 if "1923" in c.name]
    assert case.name == "forbidden tcp/1923 on 0.0.0.0 [baseline/spice]"
    (failure,) = case.result
    assert isinstance(failure, Failure)
    assert failure.type == "forbidden" and failure.message.startswith("critical: TCP 1923")
    assert "rule: baseline/spice" in (failure.text or "")


def test_waived_findings_are_skipped_with_the_waiver(composite: RunResult) -> None:
    (app1,) = [s for s in parse(composite) if s.name == "app1"]
    (case,) = [c for c in app1 if "8443" in c.name]
    (skipped,) = case.result
    assert isinstance(skipped, Skipped)
    assert skipped.message.startswith("waived by W-100 (owner alice@example.net, ticket CHG-4711")


def test_findings_below_fail_on_pass() -> None:
    base = builders.composite_run()
    run = dataclasses.replace(base, summary=summarize(list(base.hosts), Severity.CRITICAL,
                                                      complete=True))
    (web1,) = [s for s in parse(run) if s.name == "web1"]
    assert web1.failures == 1  # only the critical 1923
    assert sum(1 for c in web1 if c.is_passed) == len(list(web1)) - 1
    root = ET.fromstring(junit.render(run))  # noqa: S314 -- our own output, not untrusted
    (suite,) = [s for s in root if s.get("name") == "web1"]
    assert "below --fail-on critical: high: UDP 5353" in (suite.findtext("system-out") or "")


def test_characters_xml_cannot_hold_become_visible_escapes() -> None:
    base = builders.composite_run()
    (win1,) = [h for h in base.hosts if h.name == "win1"]
    bad = dataclasses.replace(win1, commands=(CommandRecord("true\x07", 1, "\x00out\x1b[31m",
                                                            "err\x0c", 0.1),))
    run = dataclasses.replace(base, hosts=(bad,))
    text = junit.render(run)
    assert "\\x00out\\x1b[31m" in text and "err\\x0c" in text
    assert "\x00" not in text and "\x1b" not in text
    parse(run)


def test_a_large_fleet_stays_valid_and_deterministic() -> None:
    run = synthetic_run(400)
    xml = parse(run)
    assert len(list(xml)) == 400
    assert junit.render(run) == junit.render(synthetic_run(400))


def test_the_probe_is_previewed_not_copied_into_every_suite() -> None:
    """Each suite names the command and where it is whole; 12 KB of probe per host is not
    what a CI page shows. The exit code and stderr stay whole."""
    from tests.render.synthetic import probe_run

    run = probe_run(3)
    root = ET.fromstring(junit.render(run))  # noqa: S314 -- our own output
    for suite, host in zip(root.iter("testsuite"), run.hosts, strict=True):
        err = suite.findtext("system-err") or ""
        for c in host.commands:
            assert c.command not in err and len(c.command) > 5000
            assert f"$ {c.command[:100]}" in err
            assert "whole in the JSON and HTML reports" in err
            assert f"exit code: {c.exit_code}" in err
        assert len(err) < 2000, len(err)


def test_two_processes_on_one_socket_are_two_testcases() -> None:
    """Two findings that differ only in the process holding the socket (SO_REUSEPORT) get
    names of their own, so that CI shows and counts both; a lone finding keeps its name."""
    base = Finding(id="FC-1", kind=FindingKind.FORBIDDEN, severity=Severity.CRITICAL, proto="tcp",
                   port=1923, address="0.0.0.0", process="spiced", rule="baseline/spice",
                   message="TCP 1923 is forbidden")
    other = dataclasses.replace(base, process="spiceproxy")
    alone = dataclasses.replace(base, port=5900, process="vnc")
    assert junit.case_names([base, other, alone]) == [
        "forbidden tcp/1923 on 0.0.0.0 [baseline/spice] (spiced)",
        "forbidden tcp/1923 on 0.0.0.0 [baseline/spice] (spiceproxy)",
        "forbidden tcp/5900 on 0.0.0.0 [baseline/spice]"]


def test_the_distribution_is_a_property_beside_the_kernel(composite: RunResult) -> None:
    """As every report names the OS (docs/reports.md): os-release's name, then the kernel."""
    host = dataclasses.replace(composite.hosts[0], distribution="Debian GNU/Linux 12 (bookworm)")
    run = dataclasses.replace(composite, hosts=(host, *composite.hosts[1:]))
    parse(run)  # valid against the schema
    root = ET.fromstring(junit.render(run))  # noqa: S314 -- our own output
    suite = next(s for s in root.iter("testsuite") if s.get("name") == host.name)
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["distribution"] == "Debian GNU/Linux 12 (bookworm)"
    assert props["os"] == host.os
