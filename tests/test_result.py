"""Host status, summary and exit code are computed once, from findings and errors."""

from __future__ import annotations

import pytest

from fleetcheck.engine.summary import host_status, summarize
from fleetcheck.errors import ErrorKind, ExitStatus
from fleetcheck.model import Finding, FindingKind, HostError, HostResult, Severity, Status
from fleetcheck.policy.judge import finding_id


def _finding(sev: Severity, waived: bool = False) -> Finding:
    return Finding(id=finding_id("h", FindingKind.STRAY, "tcp", 1, "0.0.0.0", None),
                   kind=FindingKind.STRAY, severity=sev, proto="tcp", port=1,
                   address="0.0.0.0", process=None, rule=None, message="m", waived=waived)


def _host(name: str, findings: tuple[Finding, ...] = (), error: HostError | None = None
          ) -> HostResult:
    return HostResult(name, name, (), host_status(findings, error), error=error,
                      findings=findings)


UNREACHABLE = HostError(ErrorKind.CONNECTION_REFUSED.value, "refused")
AUTH = HostError(ErrorKind.AUTH_FAILED.value, "denied")


@pytest.mark.parametrize(("hosts", "fail_on", "complete", "code"), [
    ([_host("a")], Severity.LOW, True, ExitStatus.OK),
    ([_host("a", (_finding(Severity.HIGH),))], Severity.LOW, True, ExitStatus.VIOLATIONS),
    ([_host("a", (_finding(Severity.MEDIUM),))], Severity.HIGH, True, ExitStatus.OK),
    ([_host("a", (_finding(Severity.CRITICAL, waived=True),))], Severity.LOW, True, ExitStatus.OK),
    ([_host("a"), _host("b", error=UNREACHABLE)], Severity.LOW, True, ExitStatus.INCOMPLETE),
    ([_host("a", (_finding(Severity.HIGH),)), _host("b", error=AUTH)], Severity.LOW, True,
     ExitStatus.VIOLATIONS),
    ([_host("a")], Severity.LOW, False, ExitStatus.INCOMPLETE),
])
def test_exit_code(hosts: list[HostResult], fail_on: Severity, complete: bool,
                   code: ExitStatus) -> None:
    assert summarize(hosts, fail_on, complete=complete).exit_code == code


def test_statuses_are_never_compliant_without_a_read() -> None:
    assert host_status((), UNREACHABLE) is Status.UNREACHABLE
    assert host_status((), AUTH) is Status.ERROR
    assert host_status((_finding(Severity.INFO),), None) is Status.COMPLIANT
    assert host_status((_finding(Severity.LOW),), None) is Status.NONCOMPLIANT


def test_summary_counts() -> None:
    hosts = [_host("a", (_finding(Severity.CRITICAL), _finding(Severity.LOW, waived=True))),
             _host("b", error=UNREACHABLE), _host("c", error=AUTH), _host("d")]
    s = summarize(hosts, Severity.HIGH, complete=True)
    assert (s.hosts, s.compliant, s.noncompliant, s.unreachable, s.errors) == (4, 1, 1, 1, 1)
    assert (s.findings, s.waived, s.violations, s.violating_hosts) == (1, 1, 1, 1)
    assert s.by_severity["critical"] == 1 and s.by_severity["low"] == 0
    assert s.error_kinds == {"auth_failed": 1, "connection_refused": 1}
