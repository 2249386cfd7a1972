"""The text report: summary first, then findings, hosts that could not be checked, listeners."""

from __future__ import annotations

from tabulate import tabulate

from fleetcheck.model import HostResult, RunResult, Severity, Status, Verdict

_RED, _YELLOW, _GREEN, _BOLD, _RESET = "\033[31m", "\033[33m", "\033[32m", "\033[1m", "\033[0m"
_BAD_VERDICTS = frozenset({Verdict.FORBIDDEN, Verdict.STRAY, Verdict.WRONG_BIND,
                           Verdict.WRONG_PROCESS})


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and text else text


def verdict_line(run: RunResult) -> str:
    """One sentence: compliant, or how many violations on how many hosts, and who was missed."""
    s = run.summary
    unchecked = s.unreachable + s.errors
    if s.violations:
        worst = next((sev for sev, n in s.by_severity.items() if n), "")
        head = (f"NONCOMPLIANT: {s.violations} violation{'s' * (s.violations != 1)} "
                f"(worst: {worst}) on {s.violating_hosts} of {s.hosts} host{'s' * (s.hosts != 1)}")
    elif unchecked:
        head = (f"NOT VERIFIED: no violations, but {unchecked} of {s.hosts} hosts "
                "could not be checked")
    else:
        head = f"COMPLIANT: {s.hosts} host{'s' * (s.hosts != 1)} checked, no violations"
    tail = [f"{s.compliant} compliant", f"{s.noncompliant} noncompliant",
            f"{s.unreachable} unreachable", f"{s.errors} errors"]
    if s.waived:
        tail.append(f"{s.waived} waived")
    if not s.complete:
        tail.append("RUN INCOMPLETE (interrupted)")
    return f"{head} · " + " · ".join(tail)


def render(run: RunResult, *, color: bool = False) -> str:
    """The whole text report; `color` adds ANSI colour for a terminal."""
    s = run.summary
    parts = [
        f"fleetcheck {run.tool_version} · started {run.started_at} · finished {run.finished_at}",
        _paint(verdict_line(run), _RED if s.violations else _YELLOW if s.exit_code else _GREEN,
               color),
        *(_paint(f"WARNING: {w}", _YELLOW + _BOLD, color) for w in run.meta.get("warnings", ())),
        "",
    ]
    findings = [(h, f) for h in run.hosts for f in h.findings]
    findings.sort(key=lambda hf: (hf[1].waived, hf[1].sort_key(), hf[0].name))
    if findings:
        rows = []
        for h, f in findings:
            sev = f.severity.label.upper()
            if f.waived:
                sev = f"{sev} (waived)"
            elif f.severity >= Severity.parse(s.fail_on):
                sev = _paint(sev, _RED + _BOLD, color)
            rows.append([sev, h.name, f.kind.value, f.proto, f.port if f.port is not None else "",
                         f.address or "", f.process or "", f.rule or "", f.message])
        parts += ["FINDINGS", tabulate(rows, headers=["SEVERITY", "HOST", "KIND", "PROTO", "PORT",
                                                       "ADDRESS", "PROCESS", "RULE", "MESSAGE"],
                                       tablefmt="simple", disable_numparse=True), ""]
    unchecked = [h for h in run.hosts if not h.checked]
    if unchecked:
        rows = [[h.name, h.address, _paint(h.status.value, _YELLOW, color),
                 h.error.kind if h.error else "", h.error.message if h.error else ""]
                for h in unchecked]
        parts += ["NOT CHECKED", tabulate(rows, headers=["HOST", "ADDRESS", "STATUS", "KIND",
                                                          "ERROR"], tablefmt="simple"), ""]
    parts += ["HOSTS", _hosts_table(run.hosts, color), ""]
    for h in run.hosts:
        if h.checked:
            parts += [_listeners(h, color), ""]
    return "\n".join(parts).rstrip("\n") + "\n"


def _hosts_table(hosts: tuple[HostResult, ...], color: bool) -> str:
    rows = []
    for h in hosts:
        colour = _GREEN if h.status is Status.COMPLIANT else _RED \
            if h.status is Status.NONCOMPLIANT else _YELLOW
        rows.append([h.name, h.address, _paint(h.status.value, colour, color), h.os or "",
                     h.collector or "", len(h.listeners) if h.checked else "",
                     sum(1 for f in h.findings if not f.waived) if h.checked else "",
                     "; ".join(h.notes)])
    return tabulate(rows, headers=["HOST", "ADDRESS", "STATUS", "OS", "COLLECTOR", "LISTENERS",
                                   "FINDINGS", "NOTES"], tablefmt="simple", disable_numparse=True)


def _listeners(host: HostResult, color: bool) -> str:
    rows = []
    for jl in host.listeners:
        li = jl.listener
        verdict = jl.verdict.value
        if jl.verdict in _BAD_VERDICTS:
            verdict = _paint(verdict.upper(), _RED + _BOLD, color)
        rows.append([li.proto, li.port, li.address + (f"%{li.iface}" if li.iface else ""),
                     li.process or "?", li.pid or "", li.user or "", verdict, jl.rule or ""])
    title = f"LISTENERS on {host.name} ({host.collector})"
    if not rows:
        return f"{title}: none"
    return title + "\n" + tabulate(rows, headers=["PROTO", "PORT", "ADDRESS", "PROCESS", "PID",
                                                  "USER", "VERDICT", "RULE"],
                                   tablefmt="simple", disable_numparse=True)
