"""A scan, as a library call: planned hosts in, one RunResult out, on the engine asked for."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from fleetcheck import __version__
from fleetcheck.engine.base import Engine
from fleetcheck.engine.check import Job, unchecked_host
from fleetcheck.engine.options import ScanOptions
from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import InputError
from fleetcheck.model import (
    Comparison,
    HostResult,
    InputFile,
    RunResult,
    WaiverRecord,
    new_run_id,
)
from fleetcheck.plan import PlannedHost
from fleetcheck.policy.serialize import policy_definitions
from fleetcheck.policy.waivers import WaiverBook
from fleetcheck.transport.base import Connector
from fleetcheck.transport.inflight import INFLIGHT

ENGINES = ("threads", "processes")
# Compares a run's hosts with their previous checked runs (history or a baseline file),
# given the run's start time; see fleetcheck.history.
Compare = Callable[[Sequence[HostResult], str], Comparison]


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def choose_engine(options: ScanOptions, hosts: int, *, connect: Connector | None) -> Engine:
    """The engine `options.engine` names; by default processes when workers > 1, else threads.

    A given connector lives in this process, so it means threads.
    """
    name = options.engine or ("processes" if min(options.workers, hosts) > 1
                              and connect is None else "threads")
    if name == "threads":
        from fleetcheck.engine.threads import ThreadEngine

        return ThreadEngine()
    if name == "processes":
        from fleetcheck.engine.processes import ProcessEngine

        return ProcessEngine(max(1, min(options.workers, hosts)))
    raise InputError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")


def scan(hosts: Sequence[PlannedHost], *, options: ScanOptions,
         inputs: Sequence[InputFile] = (), meta: dict[str, Any] | None = None,
         connect: Connector | None = None,
         on_done: Callable[[HostResult], None] | None = None,
         waivers: WaiverBook | None = None, engine: Engine | None = None,
         compare: Compare | None = None) -> RunResult:
    """Check every host and return the run result; an interrupt yields an incomplete result."""
    started = now_iso()
    INFLIGHT.reset()
    engine = engine or choose_engine(options, len(hosts), connect=connect)
    notify = (lambda _i, r: on_done(r)) if on_done is not None else None
    outcome = engine.run(hosts, Job(options, waivers, connect), on_done=notify)
    return assemble(hosts, outcome.results, complete=outcome.complete, options=options,
                    started=started, inputs=inputs, meta=meta, waivers=waivers,
                    compare=compare)


def assemble(hosts: Sequence[PlannedHost], by_index: dict[int, HostResult], *, complete: bool,
             options: ScanOptions, started: str, inputs: Sequence[InputFile] = (),
             meta: dict[str, Any] | None = None, waivers: WaiverBook | None = None,
             compare: Compare | None = None) -> RunResult:
    """The run result of `hosts` from the results that came back: hosts without one are
    `not_run`, every host is compared with its previous checked run (`compare`), then
    settled against the threshold and the summary computed once, gate included."""
    results = [by_index[i] if i in by_index else unchecked_host(h)
               for i, h in enumerate(hosts)]
    results.sort(key=lambda r: r.name)
    comparison = compare(results, started) if compare is not None else None
    settled, summary = judge_run(comparison.hosts if comparison else results, options.fail_on,
                                 complete=complete and len(by_index) == len(hosts),
                                 gate=options.gate)
    meta = dict(meta or {})
    records: tuple[WaiverRecord, ...] = ()
    if waivers is not None:
        records, warnings = waivers.records(settled)
        meta["waiver_date"] = waivers.today.isoformat()
        meta["warnings"] = [*meta.get("warnings", ()), *warnings]
    run = RunResult(
        run_id=new_run_id(started),
        tool_version=__version__, started_at=started, finished_at=now_iso(),
        inputs=tuple(inputs), hosts=settled, summary=summary,
        meta=meta, waivers=records, policy_definitions=policy_definitions(hosts),
        changes=comparison.changes if comparison else None,
    )
    if comparison is None or comparison.trend is None:
        return run
    return dataclasses.replace(run, trend=(*comparison.trend, run.trend_point()))
