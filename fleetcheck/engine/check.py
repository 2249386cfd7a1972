"""One host's life: connect, collect, judge, waive, settle. Every failure becomes its result."""

from __future__ import annotations

import time

from fleetcheck.collect import CollectFailure, CollectOptions, collect
from fleetcheck.engine.options import ScanOptions
from fleetcheck.engine.summary import host_status, not_run_error, with_threshold
from fleetcheck.errors import ErrorKind, HostFailure, exhausted
from fleetcheck.frozen import frozen
from fleetcheck.model import HostError, HostResult, TrustedKey
from fleetcheck.plan import PlannedHost
from fleetcheck.policy.judge import evaluate, unread_namespaces
from fleetcheck.policy.waivers import WaiverBook
from fleetcheck.redact import Redactor, host_redactor
from fleetcheck.transport.base import Connector


@frozen
class Job:
    """What checking any host of a run needs besides the host: options, waivers, a connector.

    `connect` None means each engine makes the default connector where it runs (a worker
    process or a remote runner cannot share this process's connections).
    """

    options: ScanOptions
    waivers: WaiverBook | None = None
    connect: Connector | None = None


def check_host(host: PlannedHost, connect: Connector, job: Job) -> HostResult:
    """Connect, collect, judge, waive: the whole life of one host. Failures become its result."""
    options = job.options
    start = time.monotonic()
    deadline = start + options.deadline
    redact = host_redactor(host, options.ssh)  # a host may print back what it was sent
    if host.refused is not None:  # nothing is contacted
        return failed_host(host, HostFailure(host.refused.kind, host.refused.message), start)
    trusted: tuple[TrustedKey, ...] = ()  # accept-new's evidence (SSH)
    try:
        transport = connect(host, deadline)
        trusted = getattr(transport, "trusted_keys", ())
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HostFailure(ErrorKind.DEADLINE, "the per-host deadline passed before "
                                  "the probe could run")
            limits = CollectOptions(min(options.command_timeout, remaining), options.max_output)
            collection = collect(host, transport, limits)
        finally:
            transport.close()
        late = time.monotonic() - deadline
        if late > 0:  # parsing counts too: a host is never judged past its deadline
            raise CollectFailure(ErrorKind.DEADLINE, f"the per-host deadline passed while "
                                 f"its output was read ({late:.1f} s over)",
                                 collection.commands[-1], earlier=collection.commands[:-1],
                                 os=collection.os)
        unread = unread_namespaces(collection.namespaces, host.policies)
        if unread is not None:
            raise CollectFailure(ErrorKind.INCOMPLETE_COLLECTION, unread,
                                 collection.commands[-1], earlier=collection.commands[:-1],
                                 os=collection.os)
    except HostFailure as exc:
        exc.trusted_keys = exc.trusted_keys or trusted
        return failed_host(host, exc, start, redact)
    judgement = evaluate(host.name, collection.listeners, host.policies)
    waivers = job.waivers
    findings = waivers.apply(host.name, judgement.findings) if waivers else judgement.findings
    findings = with_threshold(findings, options.fail_on)
    return redact(HostResult(
        name=host.name, address=host.address, groups=host.groups,
        status=host_status(findings, None, options.fail_on),
        os=collection.os, collector=collection.collector,
        listeners=judgement.listeners, findings=findings,
        waivers=waivers.selecting(host.name) if waivers else (),
        commands=collection.commands, policies=host.policy_names,
        privileged=collection.privileged, duration=time.monotonic() - start,
        notes=collection.notes, trusted_keys=trusted, distribution=collection.distribution,
        namespaces=collection.namespaces,
    ))


def failed_host(host: PlannedHost, exc: BaseException, start: float | None = None,
                redact: Redactor | None = None) -> HostResult:
    """The result of a host that could not be checked; never compliant, never a secret."""
    what = exhausted(exc)  # also behind a HostFailure (EMFILE while a command ran)
    if what is not None:  # this machine's limits, not the host's fault
        shown = exc.message if isinstance(exc, HostFailure) else \
            f"{exc.__class__.__name__}: {exc}"
        error = HostError(ErrorKind.LOCAL_RESOURCES.value,
                          f"this machine ran out of {what} while checking the host ({shown})")
    elif isinstance(exc, HostFailure):
        error = HostError(exc.kind.value, exc.message)
    else:  # a bug or an unforeseen library error: still only this host's problem
        error = HostError(ErrorKind.INTERNAL.value, f"{exc.__class__.__name__}: {exc}")
    commands = exc.records if isinstance(exc, CollectFailure) else ()
    return (redact or host_redactor(host))(HostResult(
        name=host.name, address=host.address, groups=host.groups,
        status=host_status((), error), error=error, commands=commands,
        os=exc.os if isinstance(exc, CollectFailure) else None,
        policies=host.policy_names,
        duration=time.monotonic() - start if start is not None else 0.0,
        trusted_keys=getattr(exc, "trusted_keys", ()),
    ))


def unchecked_host(host: PlannedHost, error: HostError | None = None) -> HostResult:
    """A host that never got a result: not run (the run was interrupted) unless `error` says."""
    error = error or not_run_error()
    return HostResult(name=host.name, address=host.address, groups=host.groups,
                      status=host_status((), error), error=error, policies=host.policy_names)
