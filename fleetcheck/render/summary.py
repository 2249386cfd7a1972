"""The summary a scan prints: the verdict, the counts, what is open (grouped), what could not
be checked (grouped by cause, each with a hint), warnings, and where the reports are.

It is what a person reads after a run, on a terminal or in a CI log; the full text
report stays in its file. `quiet` keeps only the verdict line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fleetcheck.model import HostResult, RunResult
from fleetcheck.render import view
from fleetcheck.render.groups import FindingGroup, group_findings, hosts_line, natural_key
from fleetcheck.render.hints import hint_for
from fleetcheck.render.options import RenderOptions
from fleetcheck.render.textfit import BOLD, GREEN, RED, YELLOW, paint, wrap
from fleetcheck.sanitize import scrub

_TONE = {"ok": GREEN + BOLD, "bad": RED + BOLD, "warn": YELLOW + BOLD, "": ""}
TOP_GROUPS = 15  # groups of open findings the summary lists before pointing at the reports
HOST_NAMES = 6  # names (or ranges) a group row lists


def render(run: RunResult, options: RenderOptions | None = None, *,
           reports: Sequence[Path | str] = (), quiet: bool = False) -> str:
    """The summary of `run`; `reports` are the files written, named at the end."""
    opts = options or RenderOptions()
    width, color = opts.fitted_width(), opts.color
    run = scrub(run)  # nothing a host printed may act on the terminal
    head = view.headline(run)
    lines = [paint(line, _TONE[head.tone], color) for line in wrap(head.line(), width)]
    if quiet:
        return "\n".join(lines) + "\n"
    lines += wrap(" · ".join(f"{label} {n}" for label, n, _ in view.status_counts(run)), width)
    for warning in view.warnings(run):
        lines += [paint(x, YELLOW, color) for x in wrap(f"WARNING: {warning}", width)]
    lines += _open(run, width, color)
    lines += _unchecked(run, width, color)
    if reports:
        lines += ["", "Reports:", *(f"  {p}" for p in reports)]
    return "\n".join(lines) + "\n"


def _group_line(g: FindingGroup, color: bool) -> str:
    sev = g.severity.label.upper()
    if not g.violation:
        sev += " (below fail-on)"
    where = f"{g.proto}/{'any' if g.port is None else g.port}"
    what = " ".join(x for x in (g.kind.value.upper() if g.red else g.kind.value, where,
                                f"({g.service})" if g.service else "", g.scope if g.port
                                is not None else "", g.process or "") if x)
    hosts = g.hosts
    count = view.plural(len(hosts), "host")
    text = f"{sev:<9} {what} · {count}: {hosts_line(hosts, HOST_NAMES)}"
    return paint(text, RED + BOLD if g.red else "", color)


def _open(run: RunResult, width: int, color: bool) -> list[str]:
    """Open findings as groups, worst first; the sentence of each once."""
    open_rows, _ = view.finding_rows(run)
    if not open_rows:
        return []
    groups = group_findings(open_rows)
    title = f"Open findings: {len(open_rows):,} in {view.plural(len(groups), 'group')}"
    lines = ["", title]
    for g in groups[:TOP_GROUPS]:
        lines += wrap(_group_line(g, color), width, "", "    ")
        lines += wrap(g.message, width, "    ", "    ")
    if len(groups) > TOP_GROUPS:
        lines.append(f"  ... and {len(groups) - TOP_GROUPS} more groups (every finding is in "
                     "the reports)")
    return lines


def causes(run: RunResult) -> list[tuple[str, list[HostResult]]]:
    """Unchecked hosts grouped by error kind, the largest cause first."""
    by_kind: dict[str, list[HostResult]] = {}
    for h in view.unchecked_hosts(run):
        by_kind.setdefault(h.error.kind if h.error else h.status.value, []).append(h)
    return sorted(((k, sorted(v, key=lambda h: natural_key(h.name))) for k, v in by_kind.items()),
                  key=lambda kv: (-len(kv[1]), kv[0]))


def _unchecked(run: RunResult, width: int, color: bool) -> list[str]:
    """One line per cause with its hosts, the first host's error, and what to do."""
    grouped = causes(run)
    if not grouped:
        return []
    total = sum(len(hosts) for _, hosts in grouped)
    causes_text = view.plural(len(grouped), "cause")
    lines = ["", f"Not checked: {view.plural(total, 'host')} ({causes_text})"]
    for kind, hosts in grouped:
        names = hosts_line([h.name for h in hosts], HOST_NAMES)
        lines += [paint(x, YELLOW, color)
                  for x in wrap(f"{kind} · {view.plural(len(hosts), 'host')}: {names}", width,
                                "", "    ")]
        first = hosts[0].error
        if first is not None:
            lines += wrap(f"{hosts[0].name}: {first.message}", width, "    ", "    ")
        hint = hint_for(kind, hosts)
        if hint:
            lines += wrap(f"hint: {hint}", width, "    ", "    ")
    return lines
