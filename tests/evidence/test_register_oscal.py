"""The ports register and the OSCAL results of the render tests' composite run (every status,
finding kind and waiver status): the register's rows, counts and flags; the OSCAL document
loaded by compliance-trestle's models and mapped as docs/evidence.md says."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from trestle.oscal.assessment_results import AssessmentResults

from fleetcheck.evidence import oscal, oscal_host, register
from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, RenderOptions, pretty
from tests.render import synthetic

# (type, id, status, allowed_in_run, requirement_met_on, removal_candidate, review_overdue)
REGISTER = [
    ("allow", "baseline/ssh", "in force", "3", "", "no", ""),
    ("allow", "baseline/loopback-only", "in force", "2", "", "no", ""),
    ("allow", "baseline/dhcp-client", "in force", "0", "", "yes", ""),
    ("allow", "web/https-serve", "in force", "0", "", "yes", "no"),
    ("allow", "web/admin-local", "in force", "0", "", "yes", "no"),
    ("allow", "web/postgres", "in force", "0", "", "yes", "no"),
    ("allow", "web/node-exporter", "in force", "0", "", "yes", "no"),
    ("allow", "web/ntp", "in force", "0", "", "yes", "yes"),
    ("require", "web/https", "in force", "", "0", "", "no"),
    ("waiver", "W-100", "active", "1", "", "no", ""),
    ("waiver", "W-200", "expired", "0", "", "no", ""),  # it would cover one: renew, not remove
    ("waiver", "W-300", "unused", "0", "", "yes", ""),
]


def _rows(run: RunResult) -> list[dict[str, str]]:
    text = FORMATS["register"].render(run)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_register_lists_every_allowance_with_its_use(composite: RunResult) -> None:
    rows = _rows(composite)
    assert list(rows[0]) == list(register.COLUMNS)
    got = [(r["type"], r["id"], r["status"], r["allowed_in_run"], r["requirement_met_on"],
            r["removal_candidate"], r["review_overdue"]) for r in rows]
    assert got == REGISTER
    # the use counts are the listeners each rule decided, counted from the hosts themselves
    decided = Counter(jl.rule for h in composite.hosts for jl in h.listeners
                      if jl.verdict.value == "allowed")
    for r in rows:
        if r["type"] == "allow":
            assert int(r["allowed_in_run"]) == decided[r["id"]], r["id"]
    https = next(r for r in rows if r["id"] == "web/https-serve")
    assert (https["justification"], https["approved_by"], https["approved_on"],
            https["reviewed_on"], https["review_due"]) == (
        "The shop's storefront, for customers (CHG-2201).", "security-board", "2026-01-15",
        "2026-09-01", "2027-03-01")
    assert (https["host_pattern"], https["hosts"], https["hosts_checked"],
            https["host_names"]) == ("web", "1", "1", "web1")
    ssh = rows[0]
    assert (ssh["hosts"], ssh["hosts_checked"], ssh["source"]) == \
        ("5", "3", "policies/baseline.yml:11")
    ntp = next(r for r in rows if r["id"] == "web/ntp")
    assert ntp["review_due"] == "2025-08-01" and ntp["review_overdue"] == "yes"
    w100 = next(r for r in rows if r["id"] == "W-100")
    assert (w100["conditions"], w100["approved_by"], w100["approved_on"], w100["expires"],
            w100["host_names"]) == ("tcp/8443", "sec-team", "2026-10-01", "2027-03-31", "app1")


def test_register_cells_never_run_as_formulas(composite: RunResult) -> None:
    defs = [dict(d) for d in composite.policy_definitions]
    defs[1] = {**defs[1], "rules": [{**defs[1]["rules"][0], "justification": "=cmd|' /C calc'"},
                                    *defs[1]["rules"][1:]]}
    run = RunResult.from_dict({**composite.to_dict(), "policy_definitions": defs})
    (row,) = [r for r in _rows(run) if r["id"] == "web/https-serve"]
    assert row["justification"] == "'=cmd|' /C calc'"


def test_the_html_register_section(composite: RunResult) -> None:
    page = FORMATS["html"].render(composite, RenderOptions(rendered_at="x"))
    section = page.split('<section id="register">', 1)[1].split("</section>", 1)[0]
    assert section.count('<tr class="reg ') == len(REGISTER)
    assert section.count(" unneeded") == sum(1 for r in REGISTER if r[5] == "yes")
    assert "review overdue since 2025-08-01" in section
    assert "7 allowed nothing on any checked host: candidates for removal." in section
    assert '<a href="#register">Ports register (12)</a>' in page


def _word(value: Any) -> str:
    """An enum or token of trestle's models as its text."""
    while not isinstance(value, str):
        value = getattr(value, "value", None) or value.root
    return value


def _oscal(run: RunResult, tmp_path: Path) -> tuple[dict[str, Any], Any]:
    text = FORMATS["oscal"].render(run)
    path = tmp_path / "results.oscal.json"
    path.write_text(text)
    loaded = AssessmentResults.oscal_read(path)  # trestle's pydantic models: extra fields fail
    assert isinstance(loaded, AssessmentResults)
    return json.loads(text)["assessment-results"], loaded


def test_oscal_loads_in_trestle_and_maps_the_run(composite: RunResult, tmp_path: Path) -> None:
    _, loaded = _oscal(composite, tmp_path)
    (result,) = loaded.results
    items = {i.props[0].value: i for i in result.local_definitions.inventory_items}
    assert sorted(items) == sorted(h.name for h in composite.hosts)
    listeners = sum(len(h.listeners) for h in composite.hosts)
    discovery = [o for o in result.observations if o.types and _word(o.types[0]) == "discovery"]
    assert len(discovery) == listeners
    for obs in discovery:  # every listener's subject is its host
        (subject,) = obs.subjects
        assert _word(subject.type) == "inventory-item"
        assert items[subject.title].uuid == subject.subject_uuid
    open_findings = [f for h in composite.hosts for f in h.findings if not f.waived]
    waived = [f for h in composite.hosts for f in h.findings if f.waived]
    unchecked = [h for h in composite.hosts if not h.checked]
    assert len(result.findings) == len(open_findings) + len(waived) + len(unchecked)
    states = Counter(_word(f.target.status.state) for f in result.findings)
    assert states == {"not-satisfied": len(result.findings)}
    spice = next(f for f in result.findings if f.title == "forbidden tcp/1923 on web1")
    props = {p.name: p.value for p in spice.props}
    assert (props["severity"], props["rule"], spice.target.target_id) == \
        ("critical", "baseline/spice", "fleetcheck-forbidden")
    obs_ids = {o.uuid for o in result.observations}
    assert all(r.observation_uuid in obs_ids for f in result.findings
               for r in f.related_observations)
    not_checked = [f for f in result.findings if f.target.target_id == "fleetcheck-checked"]
    assert sorted(f.title for f in not_checked) == ["legacy1 could not be checked",
                                                    "win1 could not be checked"]


def test_waivers_are_risk_acceptances_with_their_dates(composite: RunResult,
                                                      tmp_path: Path) -> None:
    _, loaded = _oscal(composite, tmp_path)
    risks = {r.title: r for r in loaded.results[0].risks}
    assert sorted(risks) == ["Waiver W-100", "Waiver W-200", "Waiver W-300"]
    w100 = risks["Waiver W-100"]
    assert _word(w100.status) == "deviation-approved"
    assert w100.deadline.isoformat() == "2027-03-31T23:59:59+00:00"
    (approved,) = w100.risk_log.entries
    assert approved.start.isoformat() == "2026-10-01T00:00:00+00:00"
    parties = {p.uuid: p.name for p in loaded.metadata.parties}
    assert parties[approved.logged_by[0].party_uuid] == "sec-team"
    (waived,) = [f for f in loaded.results[0].findings
                 if f.related_risks and f.related_risks[0].risk_uuid == w100.uuid]
    assert waived.title == "stray tcp/8443 on app1"
    expired = risks["Waiver W-200"]
    assert _word(expired.status) == "open"
    assert [e.title for e in expired.risk_log.entries] == ["Deviation approved",
                                                           "Deviation expired"]
    assert expired.risk_log.entries[1].start.isoformat() == "2026-07-01T00:00:00+00:00"


def test_oscal_is_the_same_for_the_same_run_and_ids_are_unique(composite: RunResult,
                                                                tmp_path: Path) -> None:
    text = FORMATS["oscal"].render(composite)
    assert FORMATS["oscal"].render(RunResult.from_dict(composite.to_dict())) == text
    uuids = re.findall(r'"(?:uuid)": "([0-9a-f-]{36})"', text)
    assert len(uuids) == len(set(uuids)) > 30
    hostile = json.loads(text)
    said = [o["description"] for o in hostile["assessment-results"]["results"][0]["observations"]]
    assert any("<script>alert(1)</script>" in t for t in said)  # JSON strings, as written


def test_oscal_text_is_its_data_written_by_the_rows_rule(composite: RunResult) -> None:
    # Records made as text (pretty.Row) are laid out as the writer lays out the same data.
    noisy = synthetic.with_stderr(synthetic.synthetic_run(60), "x")
    for run in (composite, noisy, synthetic.synthetic_run(0)):
        text = oscal.render(run)
        assert pretty.dumps(json.loads(text), rows=True) + "\n" == text
        assert oscal.document(run) == json.loads(text)
        assert "".join(oscal.render_chunks(run)) == text


def test_oscal_ids_are_the_uuid_modules_version_5(composite: RunResult) -> None:
    ids = oscal_host.Ids(composite)
    for parts in [("host", "web1"), ("listener", "h", "tcp", 4, "::", 22, None), ("é\x1f\x00",)]:
        name = "\x1f".join(map(str, parts))
        assert ids(*parts) == str(uuid.uuid5(uuid.UUID(ids.base), name))
    seed = f"{composite.started_at}|{composite.finished_at}|{composite.meta.get('hostname', '')}"
    assert ids.base == str(uuid.uuid5(uuid.UUID(oscal_host.ROOT), seed))
    assert ids.host("web1") == ids("host", "web1")


def test_props_written_once_per_run_keep_each_hosts_own_value(composite: RunResult) -> None:
    # A hand-edited run file: users that compare equal (1, 1.0, True) but read differently.
    data = composite.to_dict()
    users: list[Any] = [1, 1.0, True, "1"]
    checked = [h for h in data["hosts"] if h["listeners"]]
    for host, user in zip(checked, users, strict=False):
        for li in host["listeners"]:
            li["user"] = user
    run = RunResult.from_dict(data)
    results = oscal.document(run)["assessment-results"]["results"][0]
    by_host = {o["subjects"][0]["title"]: {p["value"] for p in o.get("props", ())
                                            if p["name"] == "user"}
               for o in results["observations"] if o["types"] == ["discovery"]}
    assert [by_host[h["name"]] for h in checked][:len(users)] == [
        {str(u)} for u in users][:len(checked)]
