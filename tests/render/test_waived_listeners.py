"""A listener whose findings are all waived is shown waived, not as an open stray."""

from __future__ import annotations

import dataclasses

from fleetcheck.model import FindingKind, RunResult, Severity
from fleetcheck.render import FORMATS, RenderOptions, view
from tests.render import builders


def _port(run: RunResult, proto: str, port: int) -> view.PortRow:
    (row,) = [r for r in view.fleet_rows(run) if (r.proto, r.port) == (proto, port)]
    return row


def test_a_waived_listener_is_waived_in_the_host_table_and_the_fleet_view(
        composite: RunResult) -> None:
    (app1,) = [h for h in composite.hosts if h.name == "app1"]
    rows = {jl.listener.port: s and s.waiver
            for jl, s in view.listener_rows(app1, view.fail_on(composite))}
    assert rows == {22: None, 8443: "W-100", 31337: None}
    waived = _port(composite, "tcp", 8443)
    assert (waived.verdicts, waived.waived, waived.red, waived.bad) == ((), 1, False, False)
    assert _port(composite, "tcp", 31337).red  # the unwaived stray beside it stays red
    page = FORMATS["html"].render(composite, RenderOptions(rendered_at="x"))
    assert "<td>stray, waived by W-100</td>" in page
    text = FORMATS["text"].render(composite, RenderOptions(rendered_at="x"))
    assert "stray, waived by W-100" in text


def test_one_open_finding_keeps_the_listener_open(composite: RunResult) -> None:
    (app1,) = [h for h in composite.hosts if h.name == "app1"]
    waived = builders.finding_on(composite, "app1", 8443)
    other = dataclasses.replace(waived, id="FC-000000000001", kind=FindingKind.WRONG_PROCESS,
                                waived=False, waiver=None)
    host = dataclasses.replace(app1, findings=(*app1.findings, other))
    run = dataclasses.replace(composite, hosts=(host,))
    assert {jl.listener.port: s for jl, s in view.listener_rows(host, view.fail_on(run))}[8443] \
        is None
    row = _port(run, "tcp", 8443)
    assert (row.verdicts, row.waived, row.red) == ((("stray", 1),), 0, True)


def test_a_listener_below_fail_on_is_shown_below_and_never_red(composite: RunResult) -> None:
    """--fail-on critical: a high stray is listed 'below fail-on', not painted as a violation."""
    (app1,) = [h for h in composite.hosts if h.name == "app1"]
    rows = {jl.listener.port: s for jl, s in view.listener_rows(app1, Severity.CRITICAL)}
    standing = rows[31337]
    assert standing is not None and standing.below and standing.waiver is None
    assert rows[8443] is not None and rows[8443].waiver == "W-100"  # waived stays waived
    assert not view.is_red(next(jl for jl in app1.listeners if jl.listener.port == 31337),
                           standing)
