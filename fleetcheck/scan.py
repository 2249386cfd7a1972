"""A scan, as a library call: planned hosts in, one RunResult out."""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

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
from fleetcheck.transport.ssh import SshOptions


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """How to reach hosts and how long to wait for them."""

    forks: int = 10
    fail_on: Severity = Severity.LOW
    command_timeout: float = 60.0
    deadline: float = 180.0  # per host, connect to last byte: no host holds the run longer
    max_output: int = DEFAULT_MAX_OUTPUT
    workers: int = 1  # processes sharing the hosts (each runs forks/workers threads)
    ssh: SshOptions = field(default_factory=SshOptions)
    extra: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    """Opens a transport to a host, giving up when the host's deadline (monotonic) passes."""

    def __call__(self, host: PlannedHost, deadline: float) -> Transport:
        """An open transport to `host`; HostFailure otherwise."""
        ...

    def close(self) -> None:
        """Release what the connector shares between hosts."""
        ...


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class DefaultConnector:
    """The transport for each host's connection type: local, or SSH (the default)."""

    def __init__(self, options: ScanOptions) -> None:
        self._options = options
        self._ssh: Any = None
        self._lock = threading.Lock()

    def __call__(self, host: PlannedHost, deadline: float) -> Transport:
        """Local for `ansible_connection=local`, SSH for ssh and paramiko."""
        if host.connection == "local":
            from fleetcheck.transport.local import LocalTransport

            return LocalTransport()
        with self._lock:  # one SSH connector (index, keys, jump hosts) for all threads
            if self._ssh is None:
                from fleetcheck.transport.ssh.connector import SshConnector

                self._ssh = SshConnector(self._options.ssh)
        session: Transport = self._ssh(host, deadline)
        return session

    def close(self) -> None:
        """Close shared SSH connections (jump hosts)."""
        if self._ssh is not None:
            self._ssh.close()


def default_connector(options: ScanOptions) -> Connector:
    """The connector a scan uses unless it is given one."""
    return DefaultConnector(options)


def check_host(host: PlannedHost, connect: Connector, options: ScanOptions,
               waivers: WaiverBook | None = None) -> HostResult:
    """Connect, collect, judge, waive: the whole life of one host. Failures become its result."""
    start = time.monotonic()
    deadline = start + options.deadline
    if host.unsupported:
        return failed_host(host, HostFailure(ErrorKind.UNSUPPORTED, host.unsupported), start)
    try:
        transport = connect(host, deadline)
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
    commands = exc.records if isinstance(exc, CollectFailure) else ()
    return HostResult(
        name=host.name, address=host.address, groups=host.groups,
        status=host_status((), error), error=error, commands=commands,
        os=exc.os if isinstance(exc, CollectFailure) else None,
        policies=host.policy_names,
        duration=time.monotonic() - start if start is not None else 0.0,
    )


def check_hosts(hosts: Sequence[PlannedHost], options: ScanOptions, *, forks: int,
                connect: Connector | None = None,
                on_done: Callable[[int, HostResult], None] | None = None,
                stop: Callable[[], bool] | None = None,
                waivers: WaiverBook | None = None) -> tuple[dict[int, HostResult], bool]:
    """Check `hosts` on `forks` threads in this process: results by index, and completeness."""
    connector = connect or default_connector(options)
    try:
        with _fewer_collections():
            outcome = run_all(hosts, lambda h: check_host(h, connector, options, waivers),
                              failed_host,
                              forks=forks, deadline=options.deadline, on_done=on_done, stop=stop)
    finally:
        connector.close()
    finished = sorted(set(range(len(hosts))) - set(outcome.not_run))
    return dict(zip(finished, outcome.results, strict=True)), outcome.complete


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Keep the cyclic GC from rescanning long-lived objects for every few SSH packets.

    Each connection allocates thousands of short-lived objects; with the default
    thresholds the collector keeps walking the policies, modules and results
    that live for the whole run. Freezing them and collecting less often saves
    about a millisecond of CPU per host.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], 20000), max(thresholds[1], 20), max(thresholds[2], 20))
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def scan(hosts: Sequence[PlannedHost], *, options: ScanOptions,
         inputs: Sequence[InputFile] = (), meta: dict[str, Any] | None = None,
         connect: Connector | None = None,
         on_done: Callable[[HostResult], None] | None = None,
         waivers: WaiverBook | None = None) -> RunResult:
    """Check every host and return the run result; an interrupt yields an incomplete result."""
    started = now_iso()
    notify = (lambda _i, r: on_done(r)) if on_done is not None else None
    workers = min(options.workers, len(hosts))
    if workers > 1 and connect is None:
        from fleetcheck.workers import check_in_processes

        by_index, complete = check_in_processes(hosts, options, workers=workers,
                                                on_done=notify, waivers=waivers)
    else:
        by_index, complete = check_hosts(hosts, options, forks=options.forks, connect=connect,
                                         on_done=notify, waivers=waivers)
    results = [by_index[i] if i in by_index else _not_run(h) for i, h in enumerate(hosts)]
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
        summary=summarize(results, options.fail_on,
                          complete=complete and len(by_index) == len(hosts)),
        meta=meta, waivers=records, policy_definitions=policy_definitions(hosts),
    )


def _not_run(h: PlannedHost) -> HostResult:
    return HostResult(name=h.name, address=h.address, groups=h.groups,
                      status=host_status((), not_run_error()), error=not_run_error(),
                      policies=h.policy_names)
