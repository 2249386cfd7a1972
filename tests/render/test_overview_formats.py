"""The executive overview states the same figures in text, HTML and Markdown
(docs/reports.md): coverage, compliance by policy and group, the most widespread problems
and the hosts with most open findings."""

from __future__ import annotations

import dataclasses
import html
import re

from fleetcheck.engine.summary import summarize
from fleetcheck.model import JudgedListener, Listener, RunResult, Severity, Verdict
from fleetcheck.render import FORMATS, RenderOptions, summary
from fleetcheck.render.overview import run_overview


def test_every_overview_figure_is_in_text_html_and_markdown(composite: RunResult) -> None:
    overview = run_overview(composite)
    assert overview.top_groups and overview.worst_hosts and overview.by_policy
    widest = [f"{g.kind.value} {g.where}" for g in overview.top_groups[:3]]
    worst = [h.name for h, _ in overview.worst_hosts]
    texts = {name: FORMATS[name].render(composite, RenderOptions())
             for name in ("text", "markdown", "html")}
    texts["summary"] = summary.render(composite, RenderOptions())
    texts["html"] = html.unescape(re.sub(r"<[^>]+>", " ", texts["html"]))
    for name, text in texts.items():
        flat = " ".join(text.replace("\\", "").split())
        assert re.search(r"most widespread", flat, re.I), name
        assert re.search(r"most open findings", flat, re.I), name
        assert re.search(r"coverage", flat, re.I), name
        for what in (*widest, *worst):
            assert what in flat, (name, what)
        for c in overview.by_policy:
            assert c.name in flat, (name, c.name)


def test_coverage_counts_what_is_open_below_fail_on_and_not_what_is_listed(
        composite: RunResult) -> None:
    """A listener whose finding is open below --fail-on has an open finding (the grouped
    findings and "most open findings" count it); a container-only listener a policy only
    lists has none. Allowed, open and waived add up to every listener judged by a rule."""
    base = run_overview(composite).coverage
    lowered = dataclasses.replace(composite, summary=summarize(
        list(composite.hosts), Severity.CRITICAL, complete=True))
    low = run_overview(lowered).coverage
    assert low.flagged == base.flagged and low.listeners == base.listeners
    assert low.allowed + low.flagged + low.waived == low.listeners
    host = composite.hosts[0]
    listed = JudgedListener(Listener(proto="tcp", family=4, address="10.88.0.2", port=9090),
                            Verdict.LISTED, None)
    more = dataclasses.replace(composite, hosts=(
        dataclasses.replace(host, listeners=(*host.listeners, listed)), *composite.hosts[1:]))
    cover = run_overview(more).coverage
    assert cover.listeners == base.listeners + 1 and cover.flagged == base.flagged
