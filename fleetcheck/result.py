"""The run result's derived facts, computed once: host status, summary, exit code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from fleetcheck.errors import UNREACHABLE_KINDS, ErrorKind, ExitStatus
from fleetcheck.model import Finding, HostError, HostResult, Severity, Status, Summary


def host_status(findings: Sequence[Finding], error: HostError | None) -> Status:
    """Compliant only when listeners were read and no unwaived finding above info remains."""
    if error is not None:
        return Status.UNREACHABLE if error.kind in UNREACHABLE_KINDS else Status.ERROR
    if any(not f.waived and f.severity > Severity.INFO for f in findings):
        return Status.NONCOMPLIANT
    return Status.COMPLIANT


def summarize(hosts: Sequence[HostResult], fail_on: Severity, *, complete: bool) -> Summary:
    """Counts over all hosts and the exit code they imply (see DESIGN.md)."""
    statuses = Counter(h.status for h in hosts)
    findings = [f for h in hosts for f in h.findings]
    open_findings = [f for f in findings if not f.waived]
    violations = sum(1 for f in open_findings if f.severity >= fail_on)
    violating_hosts = sum(1 for h in hosts
                          if any(not f.waived and f.severity >= fail_on for f in h.findings))
    unchecked = statuses[Status.UNREACHABLE] + statuses[Status.ERROR]
    if violations:
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
        by_severity={s.label: by_severity[s.label] for s in sorted(Severity, reverse=True)},
        by_kind=dict(sorted(Counter(f.kind.value for f in open_findings).items())),
        error_kinds=dict(sorted(Counter(h.error.kind for h in hosts if h.error).items())),
        fail_on=fail_on.label,
        complete=complete,
        exit_code=int(code),
    )


def not_run_error() -> HostError:
    """The error of a host the run never reached (interrupted)."""
    return HostError(ErrorKind.NOT_RUN.value, "the run was interrupted before this host finished")
