"""The text report: the verdict first, then the same sections as the HTML report, in its order."""

from __future__ import annotations

from fleetcheck.model import RunResult, Severity
from fleetcheck.render import nstext, text_changes, texthost, view
from fleetcheck.render.groups import FindingGroup, compact_hosts
from fleetcheck.render.hints import causes
from fleetcheck.render.lastrun import scrubbed
from fleetcheck.render.options import RenderOptions
from fleetcheck.render.overview import overview_lines, run_overview, waived_groups
from fleetcheck.render.shared import Shared, commands_of
from fleetcheck.render.textfit import (
    BOLD,
    GREEN,
    RED,
    YELLOW,
    facts,
    flow,
    paint,
    records,
    table,
    wrap,
)
from fleetcheck.render.waived import expiring_waivers, warning_window

_TONE = {"ok": GREEN, "bad": RED + BOLD, "warn": YELLOW + BOLD, "": ""}
_SEVERITY = {Severity.CRITICAL: RED + BOLD, Severity.HIGH: RED, Severity.MEDIUM: YELLOW}
# How many host names a fleet-view row lists before pointing at the HTML/JSON reports.
FLEET_NAMES = 8


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """The whole text report, laid out to fit `options.width`, coloured if `options.color`."""
    opts = options or RenderOptions()
    width, color = opts.fitted_width(), opts.color
    run = scrubbed(run)  # nothing a host printed may act on the terminal
    head = view.headline(run)
    out = [*wrap("fleetcheck report · " + " · ".join(view.run_line(run)), width),
           *(paint(line, _TONE[head.tone], color) for line in wrap(head.line(), width)), ""]
    for warning in view.warnings(run):
        out += [paint(line, YELLOW, color) for line in wrap(f"WARNING: {warning}", width)]
    if view.warnings(run):
        out.append("")
    out += _summary(run, width, color)
    out += text_changes.render(run, width, color)
    out += _findings(run, width, color)
    out += _unchecked(run, width, color)
    out += _waivers(run, width, color)
    out += _fleet(run, width, color)
    out += nstext.images(run, width, color)
    shared = commands_of(run)
    out += _run(run, width, shared)
    out += texthost.hosts_section(run, width, color, shared)
    return "\n".join(out).rstrip("\n") + "\n"


def _section(title: str) -> list[str]:
    """A section title underlined."""
    return [title, "=" * len(title)]


def _summary(run: RunResult, width: int, color: bool) -> list[str]:
    """Status counts, open findings by severity and kind, error kinds, exit code."""
    s = run.summary
    lines = [*_section("SUMMARY"),
             *flow([(f"{label} {n}", _TONE[tone]) for label, n, tone in view.status_counts(run)],
                   width, color),
             *flow([(f"{label} {n}", "") for label, n in view.severity_counts(run)], width,
                   color, "open findings by severity: ")]
    if s.by_kind:
        lines += flow([(f"{k} {n}", "") for k, n in s.by_kind.items()], width, color,
                      "open findings by kind: ")
    if s.error_kinds:
        lines += flow([(f"{k} {n}", "") for k, n in s.error_kinds.items()], width, color,
                      "could not be checked: ")
    lines += overview_lines(run_overview(run), width)
    return [*lines, *wrap(f"exit code {s.exit_code} (fail on {s.fail_on} and worse)", width), ""]


def _run(run: RunResult, width: int,
         shared: Shared) -> list[str]:
    """When, how and by whom the run ran, every input file with its digest, and the
    commands that ran on several hosts."""
    lines = [*_section("RUN"), *facts(view.run_facts(run), width), ""]
    inputs = view.input_rows(run)
    lines.append(f"Input files ({len(inputs)})")
    if inputs:
        lines.append(table(inputs, ["KIND", "PATH", "SHA256"], width, flex=(1, 2)))
    else:
        lines.append("  none recorded")
    return [*lines, "", *texthost.commands_block(shared, width)]


def _group_severity(g: FindingGroup, color: bool, waived: bool) -> str:
    """A group's severity word, coloured when it is a violation."""
    label = g.severity.label.upper()
    if not g.violation and not waived:
        return label + " (below fail-on)"
    return paint(label, _SEVERITY.get(g.severity, ""), color and g.violation)


def _sentenced_table(body: list[list[object]], headers: list[str],
                     sentences: list[list[str]], width: int, flex: tuple[int, ...]) -> str:
    """A table whose every row is followed by its sentence over the whole width.

    Squeezed into a column the sentence would wrap a word per line on an ordinary
    terminal; when even the table cannot fit, each row becomes a record.
    """
    rendered = table(body, headers, width, flex=flex, separated=True).splitlines()
    rule = rendered[1] if len(rendered) > 1 else ""
    if not rule.startswith("-") or rendered.count(rule) != len(body) + 1:  # records
        return records([[*(str(c) for c in row), " ".join(m)]
                        for row, m in zip(body, sentences, strict=True)],
                       [*headers, "MESSAGE"], width)
    out, pending = rendered[:2], iter(sentences)
    for text_line in rendered[2:]:  # each rule after a row stands where its sentence goes
        if text_line == rule:
            out += [w for sentence in next(pending) for w in wrap(sentence, width, "    ",
                                                                   "      ")]
        else:
            out.append(text_line)
    return "\n".join(out)


def _group_table(groups: list[FindingGroup], width: int, color: bool, waived: bool) -> str:
    """Findings grouped: one row per problem with its host count and every host (compacted
    into ranges), then the problem's sentence."""
    body: list[list[object]] = []
    sentences: list[list[str]] = []
    for g in groups:
        kind = paint(g.kind.value.upper() if g.red else g.kind.value, RED + BOLD, color and g.red)
        row: list[object] = [_group_severity(g, color, waived), kind, g.where, g.service,
                             g.scope if g.port is not None else "", g.process or "",
                             g.rule or "", len(g.hosts)]
        if waived:
            row.append(", ".join(dict.fromkeys(r.finding.waiver or "" for r in g.rows)))
        body.append(row)
        age = g.age()
        sentences.append([g.message + (f" [{age}]" if age else ""),
                          f"hosts: {', '.join(compact_hosts(g.hosts))}"])
    headers = ["SEVERITY", "KIND", "PORT", "SERVICE", "BIND", "PROCESS", "RULE", "HOSTS",
               *(["WAIVER"] if waived else [])]
    return _sentenced_table(body, headers, sentences, width, (3, 4, 5, 6))


def _findings(run: RunResult, width: int, color: bool) -> list[str]:
    """Open findings grouped (worst first, then most hosts), then the waived ones."""
    open_rows, waived_rows = view.finding_rows(run)
    groups = run_overview(run).groups
    lines = _section(f"FINDINGS ({len(open_rows)} open in {view.plural(len(groups), 'group')})")
    lines.append(_group_table(groups, width, color, False) if open_rows else "none")
    lines.append("")
    if waived_rows:
        waived = waived_groups(run)
        lines += [f"Waived findings ({len(waived_rows)} in {view.plural(len(waived), 'group')})",
                  _group_table(waived, width, color, True), ""]
    return lines


def _unchecked(run: RunResult, width: int, color: bool) -> list[str]:
    """Hosts whose listeners could not be read, one row per cause with its hosts, what the
    first host's error said, and what to do."""
    grouped = causes(view.unchecked_hosts(run))
    total = sum(len(c.hosts) for c in grouped)
    lines = _section(f"NOT CHECKED ({total})")
    if not grouped:
        return [*lines, "none: every host's listeners were read", ""]
    body: list[list[object]] = [[paint(c.title, YELLOW, color), len(c.hosts)] for c in grouped]
    sentences = [[f"hosts: {', '.join(compact_hosts(c.names))}",
                  "{}: {}".format(*c.example), *c.details,
                  *([f"hint: {c.hint}"] if c.hint else [])] for c in grouped]
    return [*lines, _sentenced_table(body, ["CAUSE", "HOSTS"], sentences, width, (0,)), ""]


def _waivers(run: RunResult, width: int, color: bool) -> list[str]:
    """Every waiver, expired first, and the unused ones named."""
    waivers = view.sorted_waivers(run.waivers)
    lines = _section(f"WAIVERS ({len(waivers)})")
    if not waivers:
        return [*lines, "none", ""]
    rows = [[w.id, paint(w.status.upper(), RED + BOLD, color) if w.status == "expired"
             else w.status, w.owner, w.ticket or "", w.expires or "never", w.matched,
             view.waiver_scope(w), w.reason, view.waiver_source(w)] for w in waivers]
    lines.append(table(rows, ["ID", "STATUS", "OWNER", "TICKET", "EXPIRES", "MATCHED", "SCOPE",
                              "REASON", "SOURCE"], width, flex=(0, 2, 3, 6, 7, 8)))
    unused = [w.id for w in waivers if w.status == "unused"]
    if unused:
        lines += wrap(f"Unused waivers (matched nothing): {', '.join(unused)}", width)
    soon = expiring_waivers(run)  # as HTML marks them "expires in N days"
    if soon:
        lines += [paint(x, YELLOW, color) for x in wrap(
            f"Expiring within {view.plural(warning_window(run), 'day')}: " + ", ".join(
                f"{w.id} ({w.expires}, "
                f"{'today' if days == 0 else 'in ' + view.plural(days, 'day')})"
                for w, days in soon),
            width)]
    return [*lines, ""]


def _fleet(run: RunResult, width: int, color: bool) -> list[str]:
    """Each proto/port with how many hosts listen on it and which."""
    rows = view.fleet_rows(run)
    lines = _section(f"FLEET VIEW ({view.plural(len(rows), 'port')})")
    if not rows:
        return [*lines, "no listeners were read", ""]
    body = [[paint(view.proto_port(r.proto, r.port), RED + BOLD, color and r.red), r.service,
             len(r.hosts), ", ".join([f"{v} {n}" for v, n in r.verdicts] + r.apart),
             view.joined(r.hosts, FLEET_NAMES)] for r in rows]
    return [*lines, table(body, ["PORT", "SERVICE", "HOSTS", "VERDICTS", "WHICH"],
                          width, flex=(1, 3, 4)), ""]
