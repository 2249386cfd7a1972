"""The CSV report: one row per finding (then one per host that could not be checked)."""

from __future__ import annotations

import csv
import io

from fleetcheck.model import RunResult
from fleetcheck.render import view
from fleetcheck.render.options import RenderOptions

COLUMNS = ("severity", "kind", "host", "host_address", "host_status", "proto", "port",
           "service", "address", "process", "pid", "rule", "violation", "waived", "waiver",
           "message", "id", "change", "first_seen", "age_days")
# A spreadsheet runs a cell that starts with one of these as a formula: a process name
# such as "=HYPERLINK(...)" must arrive as text, so such cells get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A value as a CSV cell that a spreadsheet shows as text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """RFC 4180 CSV with a header: open findings, waived findings, then unchecked hosts."""
    del options
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    open_rows, waived_rows = view.finding_rows(run)
    for r in [*open_rows, *waived_rows]:
        f = r.finding
        writer.writerow([_cell(v) for v in (
            f.severity.label, f.kind.value, r.host.name, r.host.address, r.host.status.value,
            f.proto, f.port, r.service, f.address, f.process, f.pid, f.rule,
            "yes" if r.violation else "no", "yes" if f.waived else "no", f.waiver, f.message,
            f.id, f.change.value if f.change else "", f.first_seen, f.age_days)])
    for h in view.unchecked_hosts(run):
        kind = h.error.kind if h.error else h.status.value
        message = h.error.message if h.error else "not checked"
        writer.writerow([_cell(v) for v in (
            "", "unchecked", h.name, h.address, h.status.value, "", "", "", "", "", "", "",
            "", "no", "", f"{kind}: {message}", "", "", "", "")])
    return buf.getvalue()
