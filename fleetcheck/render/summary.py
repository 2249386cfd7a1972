"""The summary a scan prints: the verdict, the counts, what is open (grouped), what could not
be checked (grouped by cause, each with a hint), warnings, and where the reports are.

It is what a person reads after a run, on a terminal or in a CI log; the full text
report stays in its file. `quiet` keeps only the verdict line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fleetcheck.model import RunResult
from fleetcheck.render import changes_view, view
from fleetcheck.render.groups import FindingGroup, group_findings, hosts_line
from fleetcheck.render.hints import causes
from fleetcheck.render.lastrun import scrubbed
from fleetcheck.render.options import RenderOptions
from fleetcheck.render.overview import overview_lines, run_overview
from fleetcheck.render.textfit import BOLD, GREEN, RED, YELLOW, paint, wrap

_TONE = {"ok": GREEN + BOLD, "bad": RED + BOLD, "warn": YELLOW + BOLD, "": ""}
TOP_GROUPS = 15  # groups of open findings the summary lists before pointing at the reports
HOST_NAMES = 6  # names (or ranges) a group row lists


def render(run: RunResult, options: RenderOptions | None = None, *,
           reports: Sequence[Path | str] = (), quiet: bool = False, full: bool = False) -> str:
    """The summary of `run`; `reports` are the files written, named at the end. Host lists
    are cut after a few names ('and N more') unless `full`."""
    opts = options or RenderOptions()
    width, color = opts.fitted_width(), opts.color
    run = scrubbed(run)  # nothing a host printed may act on the terminal
    head = view.headline(run)
    if quiet:  # one line whatever the width, for scripts reading it
        return paint(head.line(), _TONE[head.tone], color) + "\n"
    lines = [paint(line, _TONE[head.tone], color) for line in wrap(head.line(), width)]
    lines += wrap(" · ".join(f"{label} {n}" for label, n, _ in view.status_counts(run)), width)
    lines += overview_lines(run_overview(run), width)
    if run.changes is not None:  # history (or a baseline) compared the run
        lines += wrap(changes_view.summary_line(run), width)
    for warning in view.warnings(run):
        lines += [paint(x, YELLOW, color) for x in wrap(f"WARNING: {warning}", width)]
    names = 1 << 30 if full else HOST_NAMES
    lines += _open(run, width, color, names)
    lines += _unchecked(run, width, color, names)
    if reports:
        lines += ["", "Reports:", *(f"  {p}" for p in reports)]
    return "\n".join(lines) + "\n"


def _group_line(g: FindingGroup, color: bool, names: int) -> str:
    sev = g.severity.label.upper()
    if not g.violation:
        sev += " (below fail-on)"
    where = f"{g.proto}/{'any' if g.port is None else g.port}"
    what = " ".join(x for x in (g.kind.value.upper() if g.red else g.kind.value, where,
                                f"({g.service})" if g.service else "", g.scope if g.port
                                is not None else "", g.process or "") if x)
    hosts = g.hosts
    count = view.plural(len(hosts), "host")
    text = f"{sev:<9} {what} · {count}: {hosts_line(hosts, names)}"
    return paint(text, RED + BOLD if g.red else "", color)


def _open(run: RunResult, width: int, color: bool, names: int) -> list[str]:
    """Open findings as groups, worst first; the sentence of each once."""
    open_rows, _ = view.finding_rows(run)
    if not open_rows:
        return []
    # Once history exists what changed leads: groups with a new or reopened finding first
    # (each part keeps its order: worst, then most hosts).
    groups = sorted(group_findings(open_rows),
                    key=lambda g: not ({"new", "reopened"} & g.changes.keys()))
    title = f"Open findings: {len(open_rows):,} in {view.plural(len(groups), 'group')}"
    lines = ["", title]
    for g in groups[:TOP_GROUPS]:
        lines += wrap(_group_line(g, color, names), width, "", "    ")
        age = g.age()
        lines += wrap(g.message + (f" [{age}]" if age else ""), width, "    ", "    ")
    if len(groups) > TOP_GROUPS:
        lines.append(f"  ... and {len(groups) - TOP_GROUPS} more groups (every finding is in "
                     "the reports)")
    return lines


def _unchecked(run: RunResult, width: int, color: bool, names: int) -> list[str]:
    """One line per cause with its hosts, the first host's error, what to do, and the
    facts that make it specific (keys known for other names, keys each login tried)."""
    grouped = causes(view.unchecked_hosts(run))
    if not grouped:
        return []
    total = sum(len(c.hosts) for c in grouped)
    causes_text = view.plural(len(grouped), "cause")
    lines = ["", f"Not checked: {view.plural(total, 'host')} ({causes_text})"]
    for cause in grouped:
        which = hosts_line(cause.names, names)
        lines += [paint(x, YELLOW, color)
                  for x in wrap(f"{cause.title} · {view.plural(len(cause.hosts), 'host')}: "
                                f"{which}", width, "", "    ")]
        host, message = cause.example
        lines += wrap(f"{host}: {message}", width, "    ", "    ")
        for detail in cause.details:
            lines += wrap(detail, width, "    ", "      ")
        if cause.hint:
            lines += wrap(f"hint: {cause.hint}", width, "    ", "    ")
    return lines
