"""The text report's change sections: what is new, reopened, fixed and not verified, first."""

from __future__ import annotations

from fleetcheck.addresses import bind_text
from fleetcheck.model import RunResult
from fleetcheck.render import changes_view
from fleetcheck.render.textfit import BOLD, RED, YELLOW, paint, table, wrap
from fleetcheck.render.view import owner, proto_port

_TONE = {"new": RED + BOLD, "reopened": RED + BOLD, "fixed": "", "unverified": YELLOW + BOLD}


def render(run: RunResult, width: int, color: bool) -> list[str]:
    """The CHANGES block (nothing when the run was compared with nothing)."""
    sections = changes_view.sections(run)
    if not sections:
        return []
    title = "CHANGES"
    lines = [title, "=" * len(title), *wrap(changes_view.summary_line(run), width),
             *wrap(f"Compared with {changes_view.against(run)}.", width)]
    gate = changes_view.gate_line(run)
    if gate:
        lines += wrap(gate, width)
    lines.append("")
    for section in sections:
        head = f"{section.title} ({len(section.rows)})"
        if not section.rows:
            lines += [f"{head}: none", ""]
            continue
        lines.append(paint(head, _TONE[section.key], color))
        lines += wrap(section.note, width, "  ")
        gone = section.key in ("fixed", "unverified")
        rows = [[r.finding.severity.label, r.host, r.finding.kind.value,
                 proto_port(r.finding.proto, r.finding.port),
                 bind_text(r.finding.address, r.finding.iface),
                 owner(r.finding.process, r.finding.pid),
                 *([changes_view.day(r.finding.first_seen), changes_view.day(r.last_seen)]
                   if gone else [changes_view.age_words(r.finding)])] for r in section.shown]
        headers = ["SEVERITY", "HOST", "KIND", "PORT", "ADDRESS", "PROCESS",
                   *(["FIRST SEEN", "LAST SEEN"] if gone else ["AGE"])]
        lines.append(table(rows, headers, width, flex=(1, 4, 5, 6)))
        if section.more:
            lines += wrap(section.more, width, "  ", "  ")
        lines.append("")
    return lines
