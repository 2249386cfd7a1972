"""The Markdown summary: a compact, grouped report for pull-request comments and CI pages.

What the terminal summary says, as GitHub-flavoured Markdown: the verdict, the counts,
the executive overview, open findings grouped (one row per problem), unchecked hosts
grouped by cause with hints, and waivers that need action. `scan` appends it to
$GITHUB_STEP_SUMMARY when that is set. Every text a host or an input file supplied is
escaped, so it renders as the characters it is, never as markup, a link or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fleetcheck.model import RunResult
from fleetcheck.render import view
from fleetcheck.render.groups import FindingGroup, hosts_line
from fleetcheck.render.hints import causes
from fleetcheck.render.options import RenderOptions
from fleetcheck.render.overview import percent, run_overview
from fleetcheck.render.waived import expiring_waivers
from fleetcheck.sanitize import printable

GROUPS = 25  # finding groups listed before pointing at the full reports
NAMES = 8  # hosts (or ranges) named per row
# Characters that are markup anywhere in a line (cells never start one): escaped. An
# underscore inside a word (connect_timeout) is no markup in GitHub's Markdown: kept.
_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
# What GitHub's Markdown makes a link of though no markup asks for one: a URL (its ':' before
# '//' escaped ends the match), a 'www.' name (its '.' escaped), and an e-mail address or
# @mention, which escapes do not stop (they are found in the text after parsing): an empty
# HTML comment after the '@' splits the text there.
_AUTOLINK = re.compile(r"(:(?=//))|(?i:(?<=www)(\.))|(@)")
_MARK = {"ok": "✅", "bad": "❌", "warn": "⚠️"}


def md(value: object) -> str:
    """Text as literal Markdown: one line, markup characters escaped, HTML as entities."""
    text = printable(" ".join(str(value).split()))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return _AUTOLINK.sub(_unlinked, text)


def _unlinked(m: re.Match[str]) -> str:
    return "@<!-- -->" if m.group(3) else "\\" + m.group()


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]],
           right: Sequence[int] = ()) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    return [f"| {' | '.join(headers)} |", f"|{'|'.join(align)}|",
            *(f"| {' | '.join(str(c) for c in row)} |" for row in rows)]


def _group_row(g: FindingGroup) -> list[object]:
    sev = g.severity.label + ("" if g.violation else " (below fail-on)")
    what = f"**{md(g.kind.value)}**" if g.red else md(g.kind.value)
    port = md(g.where) + (f" ({md(g.service)})" if g.service else "")
    history = md(g.change_words()) if g.changes else ""
    return [sev, what, port, md(g.scope if g.port is not None else ""), md(g.process or ""),
            md(g.rule or ""), f"{len(g.hosts):,}", md(hosts_line(g.hosts, NAMES)),
            *([history] if history else [])]


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """The Markdown summary of `run`."""
    del options
    head = view.headline(run)
    out = [f"## {_MARK.get(head.tone, '')} fleetcheck: {md(head.word)}".replace("  ", " "), "",
           f"**{md(head.sentence)}**", ""]
    out += _table([label for label, _, _ in view.status_counts(run)],
                  [[f"{n:,}" for _, n, _ in view.status_counts(run)]],
                  right=range(len(view.status_counts(run))))
    out.append("")
    for warning in view.warnings(run):
        out.append(f"> **Warning:** {md(warning)}  ")
    if view.warnings(run):
        out.append("")
    overview = run_overview(run)
    facts = [f"**Coverage:** {md(overview.coverage.words())}"]
    if overview.by_policy:
        facts.append("**Compliant by policy:** " + ", ".join(
            f"{md(c.name)} {percent(c.percent)}" for c in overview.by_policy))
    if overview.by_group:
        facts.append("**Compliant by group:** " + ", ".join(
            f"{md(c.name)} {percent(c.percent)}" for c in overview.by_group[:12])
            + (f", … ({len(overview.by_group) - 12} more)" if len(overview.by_group) > 12 else ""))
    if overview.top_groups:  # the same three as the text summary's "most widespread"
        facts.append("**Most widespread:** " + "; ".join(
            f"{md(g.kind.value)} {md(g.where)} on {view.plural(len(g.hosts), 'host')}"
            for g in overview.top_groups[:3]))
    if overview.worst_hosts:
        facts.append("**Most open findings:** " + ", ".join(
            f"{md(h.name)} ({n})" for h, n in overview.worst_hosts[:6]))
    out += [f"{f}  " for f in facts]
    out += _findings(overview.groups)
    out += _unchecked(run)
    out += _waivers(run)
    out += ["", f"<sub>run {md(run.run_id or run.started_at)} · fleetcheck "
                f"{md(run.tool_version)} · the HTML and JSON reports hold every host and "
                "finding</sub>"]
    return "\n".join(out) + "\n"


def _findings(groups: list[FindingGroup]) -> list[str]:
    if not groups:
        return ["", "### Open findings", "", "None."]
    total = sum(len(g.rows) for g in groups)
    history = any(g.changes for g in groups)
    out = ["", f"### Open findings: {total:,} in {view.plural(len(groups), 'group')}", ""]
    out += _table(["Severity", "Kind", "Port", "Bind", "Process", "Rule", "Hosts", "Which",
                   *(["Change"] if history else [])],
                  [_group_row(g) for g in groups[:GROUPS]], right=(6,))
    if len(groups) > GROUPS:
        out += ["", f"… and {len(groups) - GROUPS} more groups in the full reports."]
    return out


def _unchecked(run: RunResult) -> list[str]:
    grouped = causes(view.unchecked_hosts(run))
    if not grouped:
        return []
    total = sum(len(c.hosts) for c in grouped)
    out = ["", f"### Not checked: {view.plural(total, 'host')}", ""]
    rows = []
    for c in grouped:
        what = "; ".join([md(f"{c.example[0]}: {c.example[1]}"), *(md(d) for d in c.details)])
        rows.append([md(c.title), f"{len(c.hosts):,}", md(hosts_line(c.names, NAMES)), what,
                     md(c.hint)])
    return out + _table(["Cause", "Hosts", "Which", "Error", "Hint"], rows, right=(1,))


def _waivers(run: RunResult) -> list[str]:
    expired = [w for w in run.waivers if w.status == "expired"]
    soon = expiring_waivers(run)
    if not expired and not soon:
        return []
    rows = [[md(w.id), "**expired**", md(w.expires or ""), md(w.owner), md(w.ticket or "")]
            for w in expired]
    rows += [[md(w.id), f"expires in {view.plural(days, 'day')}", md(w.expires or ""),
              md(w.owner), md(w.ticket or "")] for w, days in soon]
    return ["", "### Waivers needing action", "",
            *_table(["Waiver", "Status", "Expires", "Owner", "Ticket"], rows)]
