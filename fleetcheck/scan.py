"""A scan, as a library call: planned hosts in, one RunResult out."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fleetcheck import __version__
from fleetcheck.collect import CollectFailure, CollectOptions, collect
from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.evaluate import evaluate
from fleetcheck.model import HostError, HostResult, InputFile, RunResult, Severity, WaiverRecord
from fleetcheck.plan import PlannedHost
from fleetcheck.policy.serialize import policy_definitions
from fleetcheck.policy.waivers import WaiverBook
from fleetcheck.result import host_status, not_run_error, summarize
from fleetcheck.runner import run_all
from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT, Transport


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """How to reach hosts and how long to wait for them."""

    forks: int = 10
    fail_on: Severity = Severity.LOW
    command_timeout: float = 60.0
    max_output: int = DEFAULT_MAX_OUTPUT
    extra: dict[str, Any] = field(default_factory=dict)  # transport settings (ssh, host keys)


Connector = Callable[[PlannedHost], Transport]


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def default_connector(options: ScanOptions) -> Connector:
    """The transport for each host's connection type."""
    from fleetcheck.transport.local import LocalTransport

    def connect(host: PlannedHost) -> Transport:
        if host.connection == "local":
            return LocalTransport()
        raise HostFailure(ErrorKind.UNSUPPORTED,
                          f"connection {host.connection!r} is not available yet")

    return connect


def check_host(host: PlannedHost, connect: Connector, options: ScanOptions,
               waivers: WaiverBook | None = None) -> HostResult:
    """Connect, collect, judge, waive: the whole life of one host. Failures become its result."""
    start = time.monotonic()
    if host.unsupported:
        return failed_host(host, HostFailure(ErrorKind.UNSUPPORTED, host.unsupported), start)
    try:
        transport = connect(host)
        try:
            collection = collect(host, transport,
                                 CollectOptions(options.command_timeout, options.max_output))
        finally:
            transport.close()
    except HostFailure as exc:
        return failed_host(host, exc, start)
    judgement = evaluate(host.name, collection.listeners, host.policies)
    findings = waivers.apply(host.name, judgement.findings) if waivers else judgement.findings
    return HostResult(
        name=host.name, address=host.address, groups=host.groups,
        status=host_status(findings, None),
        os=collection.os, collector=collection.collector,
        listeners=judgement.listeners, findings=findings,
        waivers=waivers.selecting(host.name) if waivers else (),
        commands=collection.commands, policies=host.policy_names,
        privileged=collection.privileged, duration=time.monotonic() - start,
        notes=collection.notes,
    )


def failed_host(host: PlannedHost, exc: BaseException, start: float | None = None) -> HostResult:
    """The result of a host that could not be checked; never compliant."""
    if isinstance(exc, HostFailure):
        error = HostError(exc.kind.value, exc.message)
    else:  # a bug or an unforeseen library error: still only this host's problem
        error = HostError(ErrorKind.INTERNAL.value, f"{exc.__class__.__name__}: {exc}")
    commands = (exc.record,) if isinstance(exc, CollectFailure) else ()
    return HostResult(
        name=host.name, address=host.address, groups=host.groups,
        status=host_status((), error), error=error, commands=commands,
        policies=host.policy_names,
        duration=time.monotonic() - start if start is not None else 0.0,
    )


def scan(hosts: Sequence[PlannedHost], *, options: ScanOptions,
         inputs: Sequence[InputFile] = (), meta: dict[str, Any] | None = None,
         connect: Connector | None = None,
         on_done: Callable[[HostResult], None] | None = None,
         waivers: WaiverBook | None = None) -> RunResult:
    """Check every host and return the run result; an interrupt yields an incomplete result."""
    started = now_iso()
    connector = connect or default_connector(options)
    outcome = run_all(hosts, lambda h: check_host(h, connector, options, waivers), failed_host,
                      forks=options.forks, on_done=on_done)
    results = list(outcome.results)
    for i in outcome.not_run:
        h = hosts[i]
        results.append(HostResult(name=h.name, address=h.address, groups=h.groups,
                                  status=host_status((), not_run_error()), error=not_run_error(),
                                  policies=h.policy_names))
    results.sort(key=lambda r: r.name)
    meta = dict(meta or {})
    records: tuple[WaiverRecord, ...] = ()
    if waivers is not None:
        records, warnings = waivers.records(results)
        meta["waiver_date"] = waivers.today.isoformat()
        meta["warnings"] = [*meta.get("warnings", ()), *warnings]
    return RunResult(
        tool_version=__version__, started_at=started, finished_at=now_iso(),
        inputs=tuple(inputs), hosts=tuple(results),
        summary=summarize(results, options.fail_on, complete=outcome.complete),
        meta=meta, waivers=records, policy_definitions=policy_definitions(hosts),
    )
