"""The CSV reports. The flat one: one row per finding, then one per host that could not be
checked, then one per warning of the run, then one per thing the run trusted without
checking (host keys not checked, keys trusted on first use), then one per warning about its
inputs (the inventory's and the policies'). The grouped one (`render_groups`, written
beside it): one row per problem shared by many hosts, with the host count and every host."""

from __future__ import annotations

import csv
import io

from fleetcheck.model import RunResult
from fleetcheck.render import view
from fleetcheck.render.groups import compact_hosts, group_findings
from fleetcheck.render.options import RenderOptions

COLUMNS = ("severity", "kind", "host", "host_address", "host_status", "proto", "port",
           "service", "address", "process", "pid", "rule", "violation", "waived", "waiver",
           "message", "id", "change", "first_seen", "age_days", "iface")
# A spreadsheet runs a cell that starts with one of these as a formula: a process name
# such as "=HYPERLINK(...)" must arrive as text, so such cells get a leading apostrophe.
# Some spreadsheets trim blanks and line ends before looking, and some read the
# full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20: CJK input) as the ASCII ones.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_cell(value: object) -> str:
    """A value as a CSV cell that a spreadsheet shows as text."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) or text.lstrip().startswith(_FORMULA_START):
        return "'" + text
    return text


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """RFC 4180 CSV with a header: open findings, waived findings, unchecked hosts, trust."""
    del options
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    open_rows, waived_rows = view.finding_rows(run)
    for r in [*open_rows, *waived_rows]:
        f = r.finding
        writer.writerow([spreadsheet_cell(v) for v in (
            f.severity.label, f.kind.value, r.host.name, r.host.address, r.host.status.value,
            f.proto, f.port, r.service, f.address, f.process, f.pid, f.rule,
            "yes" if r.violation else "no", "yes" if f.waived else "no", f.waiver, f.message,
            f.id, f.change.value if f.change else "", f.first_seen, f.age_days, f.iface)])
    for h in view.unchecked_hosts(run):
        kind = h.error.kind if h.error else h.status.value
        message = h.error.message if h.error else "not checked"
        writer.writerow([spreadsheet_cell(v) for v in (
            "", "unchecked", h.name, h.address, h.status.value, "", "", "", "", "", "", "",
            "", "no", "", f"{kind}: {message}", "", "", "", "", "")])
    apart = {sentence for _, _, sentence in view.trust(run)} | set(view.input_warnings(run))
    for warning in view.warnings(run):  # trust and input warnings have rows of their own
        if warning not in apart:
            writer.writerow([spreadsheet_cell(v) for v in (
                "", "warning", "", "", "", "", "", "", "", "", "", "", "no", "no", "", warning,
                "", "", "", "", "")])
    hosts = {h.name: h for h in run.hosts}
    for kind, name, sentence in view.trust(run):
        host = hosts.get(name)
        writer.writerow([spreadsheet_cell(v) for v in (
            "", kind, name, host.address if host else "", host.status.value if host else "",
            "", "", "", "", "", "", "", "no", "no", "", sentence, "", "", "", "", "")])
    for sentence in view.input_warnings(run):
        writer.writerow([spreadsheet_cell(v) for v in (
            "", view.INPUT_WARNING, "", "", "", "", "", "", "", "", "", "", "no", "no", "",
            sentence, "", "", "", "", "")])
    return buf.getvalue()


GROUP_COLUMNS = ("severity", "kind", "proto", "port", "service", "bind", "process", "rule",
                 "hosts", "host_list", "violation", "waived", "waivers", "message",
                 "first_seen", "change")


def render_groups(run: RunResult, options: RenderOptions | None = None) -> str:
    """RFC 4180 CSV: one row per group of findings (open groups, then waived), worst first;
    `host_list` names every host, consecutive names as ranges (web[01:40])."""
    del options
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(GROUP_COLUMNS)
    open_rows, waived_rows = view.finding_rows(run)
    for rows, waived in ((open_rows, False), (waived_rows, True)):
        for g in group_findings(rows):
            waivers = ", ".join(dict.fromkeys(r.finding.waiver or "" for r in g.rows)) \
                if waived else ""
            writer.writerow([spreadsheet_cell(v) for v in (
                g.severity.label, g.kind.value, g.proto, g.port, g.service,
                g.scope if g.port is not None else "", g.process, g.rule, len(g.hosts),
                " ".join(compact_hosts(g.hosts)), "yes" if g.violation else "no",
                "yes" if waived else "no", waivers, g.message, g.first_seen,
                g.change_words())])
    return buf.getvalue()
