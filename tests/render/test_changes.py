"""Reports lead with what changed: the change sections, every finding's age, the HTML trend
chart and the waivers by owner, from runs recorded in a real history database."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from fleetcheck.engine.summary import judge_run
from fleetcheck.model import RunResult, Severity, WaiverRecord
from fleetcheck.render import FORMATS, RenderOptions, changes_view, summary
from tests.history.nights import at, checked, down, night, open_db, stray
from tests.render import builders
from tests.render.builders import XSS

SOON = (
    WaiverRecord(id="W-1", status="active", reason="r", owner="ops@example.net",
                 expires="2026-11-10", matched=2),
    WaiverRecord(id="W-2", status="active", reason="r", owner="ops@example.net",
                 expires="2026-12-31", matched=1),
    WaiverRecord(id="W-3", status="active", reason="r", owner="db@example.net",
                 expires="2026-11-04"),
    WaiverRecord(id="W-4", status="expired", reason="r", owner="db@example.net",
                 expires="2026-10-01"),
)


def _recorded(tmp: Path) -> RunResult:
    """Night 4 of a fleet: new, reopened (a flap), fixed, not verified, a hostile name."""
    fleet = [
        [checked("a", stray(8080)), checked("b", stray(9000)), checked("c", stray(7000)),
         checked("x", stray(31337, process=XSS))],
        [checked("a", stray(8080)), checked("b"), checked("c", stray(7000)),
         checked("x", stray(31337, process=XSS))],
        [checked("a", stray(8080)), checked("b"), checked("c", stray(7000)),
         checked("x", stray(31337, process=XSS))],
        [checked("a", stray(8080), stray(6000)), checked("b", stray(9000)), down("c"),
         checked("x")],
    ]
    with open_db(tmp) as db:
        for day, hosts in enumerate(fleet, 1):
            run = night(db, hosts, at(day))
    return dataclasses.replace(run, waivers=SOON, meta={"waiver_date": "2026-11-04"})


@pytest.fixture
def recorded(tmp_path: Path) -> RunResult:
    return _recorded(tmp_path)


def test_sections_in_order_with_their_findings(recorded: RunResult) -> None:
    got = {s.key: [(r.host, r.finding.port) for r in s.rows]
           for s in changes_view.sections(recorded)}
    assert list(got) == ["new", "reopened", "fixed", "unverified"]
    assert got == {"new": [("a", 6000)], "reopened": [("b", 9000)],
                   "fixed": [("x", 31337)], "unverified": [("c", 7000)]}
    assert changes_view.summary_line(recorded) == \
        "Since last run: 1 new, 1 reopened, 1 fixed, 1 not verified; 1 persisting"


def test_text_leads_with_the_changes_and_every_finding_has_its_age(
        recorded: RunResult) -> None:
    text = FORMATS["text"].render(recorded, RenderOptions())
    order = [text.index(t) for t in ("SUMMARY", "CHANGES", "New since last run (1)",
                                      "Reopened (1)", "Fixed (1)", "Not verified tonight (1)",
                                      "FINDINGS (3 open")]
    assert order == sorted(order)
    flat = " ".join(text.split())
    for age in ("[new]", "[reopened, first seen 2026-11-01 (3 days ago), flapped 1 time]",
                "[open 3 days (since 2026-11-01)]"):
        assert age in flat
    assert "\x1b" not in text


def test_a_run_compared_with_nothing_has_no_change_sections() -> None:
    composite = builders.composite_run()
    assert changes_view.sections(composite) == []
    assert "CHANGES" not in FORMATS["text"].render(composite, RenderOptions())
    assert 'id="changes"' not in FORMATS["html"].render(composite, RenderOptions())


def test_html_sections_chart_ages_and_owner_rollups(recorded: RunResult) -> None:
    html = FORMATS["html"].render(recorded, RenderOptions(rendered_at=at(5)))
    assert html.index('id="summary"') < html.index('id="changes"') < html.index('id="trend"') \
        < html.index('id="findings"')
    for key in ("new", "reopened", "fixed", "unverified"):
        assert f'id="changes-{key}"' in html
    chart = html[html.index("<svg"):html.index("</svg>")]
    assert chart.count('<polyline class="series') == 4
    assert "violations: 3" in chart and "unchecked hosts: 1" in chart
    points = re.findall(r'points="([^"]+)"', chart)
    assert all(len(p.split()) == 4 for p in points)  # four runs, this one last
    assert "<script src" not in html and ' style="' not in html  # the CSP allows neither
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<span class="age age-reopened">reopened, first seen 2026-11-01 (3 days ago), ' \
        "flapped 1 time</span>" in html
    owners = html[html.index('id="waiver-owners"'):]
    owners = owners[:owners.index("</table>")]
    rows = re.findall(r'<td data-label="Owner">([^<]+)</td>', owners)
    assert rows == ["db@example.net", "ops@example.net"]  # the soonest expiry first
    assert "W-3</a> (2026-11-04, today)" in owners
    assert "W-1</a> (2026-11-10, 6 days left)" in owners
    assert "W-2" not in owners  # beyond 14 days


def test_csv_and_junit_carry_change_and_age(recorded: RunResult) -> None:
    csv = FORMATS["csv"].render(recorded, RenderOptions()).splitlines()
    assert csv[0].endswith(",change,first_seen,age_days,iface")
    assert any(line.endswith(",new,2026-11-04T02:00:00Z,0,") for line in csv)
    junit = FORMATS["junit"].render(recorded, RenderOptions())
    assert "age: reopened, first seen 2026-11-01 (3 days ago), flapped 1 time" in junit


def test_the_gate_is_said_where_the_verdict_is(recorded: RunResult) -> None:
    hosts, summary = judge_run(recorded.hosts, Severity.LOW, complete=True, gate="new")
    gated = dataclasses.replace(recorded, hosts=hosts, summary=summary)
    assert (summary.violations, summary.new_violations, summary.exit_code) == (3, 2, 1)
    text = " ".join(FORMATS["text"].render(gated, RenderOptions()).split())
    assert "2 of them new or reopened since the baseline (--fail-on-new)" in text
    assert "--fail-on-new: exit code 1 only for violations new or reopened" in text


def test_a_first_night_of_many_hosts_lists_the_worst_and_counts_the_rest(
        tmp_path: Path) -> None:
    """A stray on 150 hosts the first night is 150 new findings: each change section lists
    the first 100 (worst first, hosts in natural order) and says how many more there are,
    while the grouped findings show the problem once."""
    with open_db(tmp_path) as db:
        run = night(db, [checked(f"web{i}", stray(1923)) for i in range(1, 151)], at(1))
    (new,) = [s for s in changes_view.sections(run) if s.key == "new"]
    assert len(new.rows) == 150 and len(new.shown) == changes_view.SHOWN == 100
    assert [r.host for r in new.shown[:3]] == ["web1", "web2", "web3"]
    assert new.more.startswith("… and 50 more")
    text = FORMATS["text"].render(run, RenderOptions(width=200))
    assert "New since last run (150)" in text and "… and 50 more" in text
    assert "web[1:150]" in " ".join(text.split())  # the grouped finding: every host, once
    html = FORMATS["html"].render(run, RenderOptions(rendered_at=at(1)))
    listed = html[html.index('id="changes-new"'):html.index('id="changes-reopened"')]
    assert listed.count('<tr class="finding') == 100 and "… and 50 more" in listed


def test_the_terminal_summary_leads_with_what_changed(recorded: RunResult) -> None:
    """The scan's summary says what changed since last run and lists the groups holding a
    new or reopened finding before the ones that only persist, each with its age."""
    out = summary.render(recorded, RenderOptions(width=120))
    flat = " ".join(out.split())
    assert "Since last run: 1 new, 1 reopened, 1 fixed, 1 not verified" in flat
    listed = out[out.index("Open findings:"):]
    order = [listed.index(f"tcp/{port}") for port in (6000, 9000, 8080)]
    assert order == sorted(order), out  # new, then reopened, then persisting
    assert "[new]" in flat and "[reopened, first seen 2026-11-01" in flat
