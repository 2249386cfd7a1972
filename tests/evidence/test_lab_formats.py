"""Issue 7's "done when", machine side: one real SSH lab run, every format it wrote checked,
and `fleetcheck report` reproducing those files byte for byte apart from the render time."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from fleetcheck.model import Finding
from fleetcheck.render import junit
from tests.conftest import listed_reports
from tests.evidence import scenario
from tests.evidence.scenario import COMM_BYTES, EXPECTED, HOSTILE_COMM, LabRun
from tests.render.test_junit import schema as junit_schema
from tests.runschema import assert_valid_run

pytestmark = pytest.mark.lab

SSHD = {("tcp", 4, "0.0.0.0", 22, "sshd"), ("tcp", 6, "::", 22, "sshd")}
OPEN = {h: {f for f in fs if not f[4]} for h, (_, fs) in EXPECTED.items()}
CHECKED = [h for h, (status, _) in EXPECTED.items() if status != "unreachable"]
RENDERED_AT = re.compile(r'<span id="rendered-at">([^<]*)</span>')


def _planted(host: str) -> set[tuple[Any, ...]]:
    """What the lab holds open on `host`, as (proto, family, address, port, process)."""
    return SSHD | {(s.proto, 6 if ":" in s.address else 4, s.address, s.port,
                    s.process[:COMM_BYTES]) for s in scenario.PLANTED.get(host, [])}


def test_the_run_exits_1_and_writes_every_format(lab_run: LabRun) -> None:
    assert lab_run.code == 1, lab_run.err
    assert sorted(lab_run.files) == sorted(scenario.EXTENSIONS)
    assert len({p.name.split(".")[0] for p in lab_run.files.values()}) == 1
    listed = [str(lab_run.workdir / p) for p in listed_reports(lab_run.out, lab_run.err)]
    assert sorted(listed) == sorted(str(p) for p in lab_run.files.values())
    # stdout: the summary, led by the same verdict as the text report, paths last
    assert lab_run.out.splitlines()[0] == lab_run.files["txt"].read_text("utf-8").splitlines()[1]
    assert lab_run.out.rstrip().endswith(listed_reports(lab_run.out, "")[-1])


def test_json_is_valid_and_states_each_hosts_facts(lab_run: LabRun) -> None:
    run = lab_run.run()
    assert_valid_run(run, "the lab run's JSON report")
    summary = {"hosts": 7, "compliant": 2, "noncompliant": 4, "unreachable": 1, "errors": 0,
               "violations": 6, "violating_hosts": 4, "waived": 1, "exit_code": 1,
               "complete": True, "by_kind": {"forbidden": 1, "stray": 5},
               "error_kinds": {"connection_refused": 1}}
    assert {k: run["summary"][k] for k in summary} == summary
    assert run["summary"]["by_severity"] == {"critical": 1, "high": 5, "medium": 0, "low": 0,
                                             "info": 0}
    assert sorted(h["name"] for h in run["hosts"]) == sorted(EXPECTED)
    for name, (status, findings) in EXPECTED.items():
        host = lab_run.host(name)
        assert host["status"] == status, (name, host["error"])
        assert {(f["kind"], f["proto"], f["port"], f["process"], f["waived"], f["waiver"])
                for f in host["findings"]} == findings, name
    for name in CHECKED:
        host = lab_run.host(name)
        assert host["error"] is None and host["privileged"] is True and host["collector"] == "ss"
        assert {(li["proto"], li["family"], li["address"], li["port"], li["process"])
                for li in host["listeners"]} == _planted(name), name
        assert {li["user"] for li in host["listeners"]} == {"root"}, name  # every holder's
    (spice,) = lab_run.host("spice1")["findings"]
    assert (spice["severity"], spice["rule"], spice["address"]) == \
        ("critical", "baseline/spice", "0.0.0.0")
    down = lab_run.host("down1")
    assert down["error"]["kind"] == "connection_refused" and down["listeners"] == []
    assert down["address"] in down["error"]["message"]
    waivers = {w["id"]: (w["status"], w["matched"]) for w in run["waivers"]}
    assert waivers == {"W-JAVA": ("active", 1), "W-MDNS": ("expired", 1),
                       "W-IDLE": ("unused", 0)}
    assert any("W-MDNS" in w and "expired" in w for w in run["meta"]["warnings"])


def test_junit_is_valid_and_each_host_is_a_suite(lab_run: LabRun) -> None:
    text = lab_run.files["xml"].read_text("utf-8")
    junit_schema().validate(text)
    xml = JUnitXml.fromstring(text.encode("utf-8"))
    suites = {s.name: s for s in xml}
    assert sorted(suites) == sorted(EXPECTED)
    assert (xml.failures, xml.errors, xml.skipped) == (6, 1, 1)
    for name, (status, findings) in EXPECTED.items():
        results = [r for case in suites[name] for r in case.result]
        if status == "unreachable":
            (error,) = results
            assert isinstance(error, Error) and error.type == "connection_refused"
            continue
        failures = [r for r in results if isinstance(r, Failure)]
        skipped = [r for r in results if isinstance(r, Skipped)]
        assert len(failures) == len(OPEN[name]) and len(skipped) == len(findings) - len(
            OPEN[name]), name
        assert not any(isinstance(r, Error) for r in results), name
        case_names = [c.name for c in suites[name]]
        found = sorted((Finding.from_dict(f) for f in lab_run.host(name)["findings"]),
                       key=Finding.sort_key)
        assert set(junit.case_names(found)) <= set(case_names)
    (case,) = [c for c in suites["spice1"] if "1923" in c.name]
    assert case.name == "forbidden tcp/1923 on 0.0.0.0 [baseline/spice]"
    assert case.result[0].type == "forbidden"
    (waived,) = [c for c in suites["waived1"] if "8443" in c.name]
    assert waived.result[0].message.startswith("waived by W-JAVA (owner alice@example.net")


def test_csv_has_open_then_waived_then_unchecked_rows(lab_run: LabRun) -> None:
    data = lab_run.files["csv"].read_bytes().decode("utf-8")
    assert data.endswith("\r\n") and "\n" not in data.replace("\r\n", "")
    every = list(csv.DictReader(io.StringIO(data, newline="")))
    rows = [r for r in every if r["kind"] != "warning"]
    warned = [r["message"] for r in every if r["kind"] == "warning"]
    assert warned == lab_run.run()["meta"]["warnings"]  # the run's warnings close the sheet
    got = [(r["host"], r["kind"], r["port"], r["process"], r["violation"], r["waived"],
            r["waiver"]) for r in rows]
    assert got == [  # worst first, then kind, protocol, port; waived; then the unchecked
        ("spice1", "forbidden", "1923", "spiced", "yes", "no", ""),
        ("stray1", "stray", "8081", "webapp", "yes", "no", ""),
        ("hostile1", "stray", "31337", HOSTILE_COMM, "yes", "no", ""),
        ("hostile1", "stray", "31338", '"><img src=x>', "yes", "no", ""),
        ("expired1", "stray", "5353", "mdnsd", "yes", "no", ""),
        ("hostile1", "stray", "31339", "'+cmd|' /C calc'", "yes", "no", ""),  # text, no formula
        ("waived1", "stray", "8443", "java", "no", "yes", "W-JAVA"),
        ("down1", "unchecked", "", "", "", "no", ""),
    ]
    assert rows[0]["severity"] == "critical" and rows[0]["service"] == "spice"
    assert rows[-1]["host_status"] == "unreachable"
    assert rows[-1]["message"].startswith("connection_refused: connection refused by")


def test_text_shows_the_verdict_first_and_every_fact(lab_run: LabRun) -> None:
    text = lab_run.files["txt"].read_text("utf-8")
    lines = text.splitlines()
    assert lines[1] == ("NONCOMPLIANT: 6 violations on 4 of 7 hosts (worst: critical); "
                        "1 could not be checked; 1 waived")
    findings = text.split("FINDINGS (6 open in 6 groups)\n", 1)[1].split("Waived findings", 1)[0]
    assert re.search(r"^CRITICAL +FORBIDDEN +tcp/1923 +spice +any address +spiced +"
                     r"baseline/spice +1\n(    .*\n)*    hosts: spice1$", findings, re.M)
    for host, where in (("stray1", "tcp/8081"), ("expired1", "udp/5353"),
                        ("hostile1", "tcp/31337"), ("hostile1", "tcp/31338"),
                        ("hostile1", "udp/31339")):  # one group each, naming its host
        assert re.search(rf"^HIGH +STRAY +{where} .*\n(    .*\n)*    hosts: {host}$", findings,
                         re.M), host
    for port, (proto, name) in scenario.HOSTILE_SOCKETS.items():  # the host's listener table
        assert re.search(rf"^ +{proto}/{port} +0\.0\.0\.0 +{re.escape(name[:COMM_BYTES])} +\d+ +"
                         r"root +STRAY\b", text, re.M), name
    waived = text.split("Waived findings (1 in 1 group)\n", 1)[1].split("NOT CHECKED", 1)[0]
    assert re.search(r"^HIGH +stray +tcp/8443 .* W-JAVA\n(    .*\n)*    hosts: waived1$", waived,
                     re.M)
    assert re.search(r"^connection_refused +1\n    hosts: down1\n    down1: connection refused",
                     text, re.M)
    assert re.search(r"^W-MDNS +EXPIRED +bob@example\.net", text, re.M)
    assert "Unused waivers (matched nothing): W-IDLE" in text
    for name, (status, _) in EXPECTED.items():
        assert re.search(rf"^{name} +{status}\b", text, re.M), name  # the hosts' index
        assert re.search(rf"^--- {name} \(10\.77\.0\.\d+\): {status.upper()}\b", text, re.M)


def _masked(html: str) -> tuple[str, datetime]:
    """The page with exactly its one render time taken out, and that time."""
    (stamp,) = RENDERED_AT.findall(html)
    when = datetime.fromisoformat(stamp)
    assert when.tzinfo is not None, stamp
    span = f'<span id="rendered-at">{stamp}</span>'
    assert html.count(span) == 1
    return html.replace(span, '<span id="rendered-at"></span>'), when


def test_report_reproduces_the_runs_files_apart_from_the_render_time(
        lab_run: LabRun, tmp_path: Path) -> None:
    again = tmp_path / "again"
    proc = scenario.rerender(lab_run, again)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert sorted(p.name for p in again.iterdir()) == \
        sorted(p.name for p in lab_run.files.values())
    for ext, original in lab_run.files.items():
        made, ours = (again / original.name).read_bytes(), original.read_bytes()
        if ext != "html":
            assert made == ours, f"{original.name} differs"
            continue
        (ours_masked, run_time), (made_masked, report_time) = (_masked(ours.decode()),
                                                               _masked(made.decode()))
        assert made_masked == ours_masked, "the HTML differs beyond its render time"
        assert report_time >= run_time
