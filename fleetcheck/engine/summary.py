"""The run result's derived facts, computed once: threshold, host status, summary, exit code.

`--fail-on` decides what a finding *is* for the whole run: at or above it, an open
finding is a violation; below it, the finding is shown but marked `below_threshold`
and counts for nothing. Every status, count, renderer and the exit code read that
mark (or this module), so no two parts of a report can disagree about the verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from fleetcheck.errors import UNREACHABLE_KINDS, ErrorKind, ExitStatus
from fleetcheck.frozen import replace
from fleetcheck.model import Change, Finding, HostError, HostResult, Severity, Status, Summary

# What decides exit code 1: every violation, or (--fail-on-new) only those new or reopened
# relative to the baseline.
GATES = ("all", "new")


def is_violation(finding: Finding, fail_on: Severity) -> bool:
    """Open (not waived) and at or above the run's threshold."""
    return not finding.waived and finding.severity >= fail_on


def is_new(finding: Finding) -> bool:
    """New or reopened relative to the baseline; a finding history could not place counts
    as new, so a broken baseline never lets a violation through."""
    return finding.change is not Change.PERSISTING


def with_threshold(findings: Iterable[Finding], fail_on: Severity) -> tuple[Finding, ...]:
    """`findings` with `below_threshold` set on every open one below `fail_on`."""
    out = []
    for f in findings:
        below = not f.waived and f.severity < fail_on
        out.append(f if f.below_threshold == below else replace(
            f, below_threshold=below))
    return tuple(out)


def host_status(findings: Sequence[Finding], error: HostError | None,
                fail_on: Severity = Severity.LOW) -> Status:
    """Compliant only when listeners were read and no violation of `fail_on` remains."""
    if error is not None:
        return Status.UNREACHABLE if error.kind in UNREACHABLE_KINDS else Status.ERROR
    if any(is_violation(f, fail_on) for f in findings):
        return Status.NONCOMPLIANT
    return Status.COMPLIANT


def settle(host: HostResult, fail_on: Severity) -> HostResult:
    """`host` with its findings marked against `fail_on` and its status decided by them."""
    findings = with_threshold(host.findings, fail_on)
    status = host_status(findings, host.error, fail_on)
    if findings == host.findings and status is host.status:
        return host
    return replace(host, findings=findings, status=status)


def summarize(hosts: Sequence[HostResult], fail_on: Severity, *, complete: bool,
              gate: str = "all") -> Summary:
    """Counts over all hosts and the exit code they imply (README.md, "Exit codes").

    Statuses are counted as `fail_on` decides them, whatever a host record says, so
    the counts can never disagree with the exit code. Under gate "new" only violations
    new or reopened relative to the baseline make the exit code 1; the rest still count
    and show.
    """
    if gate not in GATES:
        raise ValueError(f"unknown gate {gate!r} (known: {', '.join(GATES)})")
    statuses = Counter(host_status(h.findings, h.error, fail_on) for h in hosts)
    findings = [f for h in hosts for f in h.findings]
    open_findings = [f for f in findings if not f.waived]
    violations = sum(1 for f in open_findings if f.severity >= fail_on)
    new_violations = sum(1 for f in open_findings if f.severity >= fail_on and is_new(f))
    violating_hosts = sum(1 for h in hosts if any(is_violation(f, fail_on) for f in h.findings))
    unchecked = statuses[Status.UNREACHABLE] + statuses[Status.ERROR]
    if new_violations if gate == "new" else violations:
        code = ExitStatus.VIOLATIONS
    elif unchecked or not complete:
        code = ExitStatus.INCOMPLETE
    else:
        code = ExitStatus.OK
    by_severity = Counter(f.severity.label for f in open_findings)
    return Summary(
        hosts=len(hosts),
        compliant=statuses[Status.COMPLIANT],
        noncompliant=statuses[Status.NONCOMPLIANT],
        unreachable=statuses[Status.UNREACHABLE],
        errors=statuses[Status.ERROR],
        findings=len(open_findings),
        waived=len(findings) - len(open_findings),
        violations=violations,
        violating_hosts=violating_hosts,
        below_threshold=len(open_findings) - violations,
        by_severity={s.label: by_severity[s.label] for s in sorted(Severity, reverse=True)},
        by_kind=dict(sorted(Counter(f.kind.value for f in open_findings).items())),
        error_kinds=dict(sorted(Counter(h.error.kind for h in hosts if h.error).items())),
        fail_on=fail_on.label,
        complete=complete,
        exit_code=int(code),
        gate=gate,
        new_violations=new_violations,
    )


def judge_run(hosts: Sequence[HostResult], fail_on: Severity, *, complete: bool,
              gate: str = "all") -> tuple[tuple[HostResult, ...], Summary]:
    """Every host settled against `fail_on`, and the summary of them: a run's one verdict.

    History's annotations (`change`) must already be on the findings when `gate` is "new".
    """
    settled = tuple(settle(h, fail_on) for h in hosts)
    return settled, summarize(settled, fail_on, complete=complete, gate=gate)


def not_run_error() -> HostError:
    """The error of a host the run never reached (interrupted)."""
    return HostError(ErrorKind.NOT_RUN.value, "the run was interrupted before this host finished")
