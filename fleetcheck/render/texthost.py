"""The text report's hosts: an index of them, then each host's compact section.

A host's section is a few lines whatever the fleet's size: the title with the OS, one line
of facts, one line per listener (its columns named once, above the first host), findings
no listener shows, and each command's exit code. A command that ran on several hosts (the
probe: the same script but for each host's nonce) is written out once, in the RUN section.
"""

from __future__ import annotations

from collections.abc import Sequence

from fleetcheck.model import HostResult, JudgedListener, RunResult, Severity
from fleetcheck.render import nstext, nsview, view
from fleetcheck.render.shared import Shared, key
from fleetcheck.render.textfit import BOLD, DIM, GREEN, RED, YELLOW, paint, table, wrap
from fleetcheck.render.waived import Standing

_TONE = {"ok": GREEN, "bad": RED + BOLD, "warn": YELLOW + BOLD, "": ""}
LISTENER_COLUMNS = ("PORT", "SERVICE", "ADDRESS", "PROCESS", "PID", "USER", "VERDICT", "RULE",
                    "NOTES")
RAW = "raw output in the HTML and JSON reports"


def commands_block(shared: Shared, width: int) -> list[str]:
    """The RUN section's list of commands that ran on several hosts, each written once."""
    if not shared:
        return []
    lines = wrap(f"Commands run on several hosts ({len(shared)}), each written out once: a "
                 "host's section names it (command #N) with its exit code, time and output "
                 "lines", width)
    for c in shared.values():
        nonce = ", each with its own nonce" if c.example.nonce else ""
        lines += wrap(f"#{c.number} on {c.hosts} hosts{nonce}: $ "
                      f"{view.command_preview(c.example.command)}", width, "  ", "      ")
    return [*lines, ""]


def hosts_section(run: RunResult, width: int, color: bool,
                  shared: Shared) -> list[str]:
    """The hosts index (one line each), what a host's section holds, then every section."""
    hosts = view.sorted_hosts(run)
    # An index, one short line a host (its name, status and counts): the address, OS,
    # collector and notes' text are on its section's first lines, and long FQDNs would
    # make a wider table wrap.
    rows = [[h.name, paint(h.status.value + (f" ({h.error.kind})" if h.error else ""),
                           _TONE[view.host_status_tone(h.status)], color),
             len(h.listeners) if h.checked else "",
             view.open_findings(h) if h.checked else "", len(h.notes) or ""] for h in hosts]
    title = f"HOSTS ({len(hosts)})"
    lines = [title, "=" * len(title),
             table(rows, ["HOST", "STATUS", "SOCKETS", "FINDINGS", "NOTES"], width,
                   flex=(0, 1)), "",
             *wrap("Each host below: its name (address), status and OS; collector, privilege, "
                   "policies, groups and time taken; one line per listener ("
                   + " ".join(LISTENER_COLUMNS) + "); findings no listener shows; each "
                   "command (#N: as written out under RUN) with its exit code, time and "
                   f"output lines ({RAW}).", width), ""]
    threshold = view.fail_on(run)
    for h in hosts:
        lines += host_section(h, width, color, threshold, shared)
    return lines


def listener_table(h: HostResult, rows: Sequence[tuple[JudgedListener, Standing | None]],
                   width: int, color: bool) -> str:
    """Listeners with their verdicts, one indented line each, columns as LISTENER_COLUMNS."""
    body = []
    for jl, standing in rows:
        li = jl.listener
        bad = jl.verdict in view.BAD_VERDICTS and standing is None
        verdict = (paint(jl.verdict.value.upper(), RED + BOLD, color) if bad
                   else view.verdict_words(jl, standing))
        body.append([view.proto_port(li.proto, li.port), view.service_name(li.port, li.proto),
                     view.bind_address(li), li.process or "?",
                     "" if li.pid is None else li.pid, li.user or "", verdict,
                     jl.rule or ("(default)" if jl.verdict.value == "allowed" else ""),
                     "; ".join(x for x in (view.owner_unknown_why(h, li), view.listener_notes(li))
                               if x)])
    laid = table(body, LISTENER_COLUMNS, width - 2, flex=(1, 2, 3, 5, 7, 8), named=False)
    return "\n".join("  " + line if line else line for line in laid.split("\n"))


def _facts(h: HostResult, width: int, head: str, painted: str) -> list[str]:
    """The title (with the OS when it fits), then collector, privilege, policies, groups
    and time taken on one line."""
    os_words = view.os_words(h) or "OS unknown"
    rest = [f"collector {h.collector or 'none'}", f"privileged {view.yes_no(h.privileged)}",
            f"policies {', '.join(h.policies) or 'none'}",
            f"groups {', '.join(h.groups) or 'none'}", f"took {view.seconds(h.duration)}"]
    if len(head) + 3 + len(os_words) <= width:
        lines = [f"{painted} · {os_words}"]
    else:
        lines, rest = [painted], [os_words, *rest]
    if h.error:
        lines += wrap(f"error {h.error.kind}: {h.error.message}", width, "  ", "    ")
    return [*lines, *_joined(rest, width)]


def _joined(pieces: Sequence[str], width: int) -> list[str]:
    """Pieces joined by ' · ' in lines indented to fit `width`, breaking between pieces
    (within one only when it alone is too long)."""
    rows: list[list[str]] = [[]]
    used = 2
    for piece in pieces:
        if rows[-1] and used + 3 + len(piece) > width:
            rows.append([])
            used = 4
        used += (3 if rows[-1] else 0) + len(piece)
        rows[-1].append(piece)
    return [line for n, row in enumerate(rows)
            for line in wrap(" · ".join(row), width, "    " if n else "  ", "    ")]


def _commands(h: HostResult, width: int, color: bool,
              shared: Shared) -> list[str]:
    """Each command's exit code, time and output lines; a command no other host ran is
    previewed here, one that several ran is named by its number in the RUN section."""
    lines = []
    for cmd in h.commands:
        code = "none" if cmd.exit_code is None else cmd.exit_code
        counts = (f"exit code {code} · {view.seconds(cmd.duration)} · stdout "
                  f"{view.plural(view.line_count(cmd.stdout), 'line')} · stderr "
                  f"{view.plural(view.line_count(cmd.stderr), 'line')}")
        known = shared.get(key(cmd))
        if known is None:
            lines += wrap(f"$ {view.command_preview(cmd.command)}", width, "  ")
        else:  # written out once, as #N in the RUN section
            counts = f"command #{known.number}: {counts}"
        lines += [paint(line, DIM, color) for line in wrap(counts, width, "  ", "    ")]
        if not h.checked and cmd.stderr.strip():
            lines += [ln for line in cmd.stderr.strip().splitlines()[:5]
                      for ln in wrap(f"stderr: {line}", width, "  ")]
    return lines


def host_section(h: HostResult, width: int, color: bool, threshold: Severity,
                 shared: Shared) -> list[str]:
    """One host: title and facts, notes, listeners with verdicts, the commands that ran."""
    head = f"--- {h.name} ({h.address}): {h.status.value.upper()}"
    painted = (f"--- {h.name} ({h.address}): "
               + paint(h.status.value.upper(), _TONE[view.host_status_tone(h.status)], color))
    lines = _facts(h, width, head, painted)
    for note in h.notes:
        lines += wrap(f"note: {note}", width, "  ", "    ")
    if h.checked and nsview.has_containers(h):  # one table per namespace / container
        lines += nstext.grouped(h, width, color, threshold, listener_table)
    elif h.checked:
        rows = view.listener_rows(h, threshold)
        lines.append(listener_table(h, rows, width, color) if rows else "  no listeners")
    for f in h.findings:
        if f.address is None:  # a requirement nothing met: no listener row shows it
            waived = f" (waived by {f.waiver})" if f.waived else ""
            lines += wrap(f"{f.kind.value}: {f.message}{waived}", width, "  ", "    ")
    return [*lines, *_commands(h, width, color, shared), ""]
