"""The executive overview states the same figures in text, HTML and Markdown
(docs/reports.md): coverage, compliance by policy and group, the most widespread problems
and the hosts with most open findings."""

from __future__ import annotations

import html
import re

from fleetcheck.model import RunResult
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
