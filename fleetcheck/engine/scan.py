"""A scan, as a library call: planned hosts in, one RunResult out, on the engine asked for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fleetcheck import __version__
from fleetcheck.clock import Start, now_iso
from fleetcheck.engine.base import Engine
from fleetcheck.engine.check import Job, unchecked_host
from fleetcheck.engine.options import MIN_SHARE, ScanOptions
from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import ErrorKind, InputError, exhausted
from fleetcheck.model import (
    HostError,
    HostResult,
    InputFile,
    RunResult,
    Severity,
    WaiverRecord,
    new_run_id,
)
from fleetcheck.plan import PlannedHost
from fleetcheck.policy.serialize import policy_definitions
from fleetcheck.policy.waivers import WaiverBook
from fleetcheck.sanitize import writable
from fleetcheck.transport.base import Connector
from fleetcheck.transport.inflight import INFLIGHT

ENGINES = ("threads", "processes")


def choose_engine(options: ScanOptions, hosts: int, *, connect: Connector | None) -> Engine:
    """The engine `options.engine` names; by default processes when workers > 1, else threads.

    A given connector lives in this process, so it means threads; so does a growing
    run too small ever to hand hosts to a second process.
    """
    more = min(options.workers, hosts) > 1 and (not options.grow or hosts >= 2 * MIN_SHARE)
    name = options.engine or ("processes" if more and connect is None else "threads")
    if name == "threads":
        from fleetcheck.engine.threads import ThreadEngine

        return ThreadEngine()
    if name == "processes":
        from fleetcheck.engine.processes import ProcessEngine

        return ProcessEngine(max(1, min(options.workers, hosts)), grow=options.grow)
    raise InputError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")


def scan(hosts: Sequence[PlannedHost], *, options: ScanOptions,
         inputs: Sequence[InputFile] = (), meta: dict[str, Any] | None = None,
         connect: Connector | None = None,
         on_done: Callable[[HostResult], None] | None = None,
         waivers: WaiverBook | None = None, engine: Engine | None = None,
         start: Start | None = None,
         collected: Callable[[], None] | None = None) -> RunResult:
    """Check every host and return the run result; an interrupt yields an incomplete result.

    `start` is the run's start when the caller read the clock already (the date its
    waivers were judged on comes from it); else now. `collected` is called once every
    host has its result or the run was cut short, before the run is judged (the caller
    stops treating signals as interrupts there: judging is not checking).
    """
    start = start or Start()
    done: dict[int, HostResult] = {}

    def notify(i: int, result: HostResult) -> None:
        done[i] = result
        if on_done is not None:
            on_done(result)

    try:
        INFLIGHT.reset()
        engine = engine or choose_engine(options, len(hosts), connect=connect)
        outcome = engine.run(hosts, Job(options, waivers, connect), on_done=notify)
        by_index, complete = outcome.results, outcome.complete
        if collected is not None:
            collected()
    except Exception as exc:
        what = exhausted(exc) or ("processes" if isinstance(exc, BlockingIOError) else None)
        if what is None:  # (a worker process not forked: EAGAIN, past a pids limit)
            raise
        # This machine ran out (the engine's own thread, a worker's queue): the hosts
        # without a result are unchecked for that reason, and the run is still judged.
        INFLIGHT.stop_all()
        error = HostError(ErrorKind.LOCAL_RESOURCES.value, f"this machine ran out of {what} "
                          f"before the host was checked ({exc.__class__.__name__}: {exc})")
        by_index = {i: done.get(i) or unchecked_host(h, error) for i, h in enumerate(hosts)}
        complete = True
        if collected is not None:
            collected()
    except KeyboardInterrupt:
        # An interrupt the engine did not catch (it came while the engine started its
        # threads or processes, say): nothing keeps running, and what finished is kept.
        INFLIGHT.stop_all()
        by_index, complete = dict(done), False
        if collected is not None:
            collected()
    used = getattr(engine, "processes", None)  # a growing run knows only now
    if meta is not None and "workers" in meta and isinstance(used, int):
        meta = {**meta, "workers": used}
    return assemble(hosts, by_index, complete=complete, options=options,
                    started=start.iso, inputs=inputs, meta=meta, waivers=waivers,
                    finished=start.later_iso())


def assemble(hosts: Sequence[PlannedHost], by_index: dict[int, HostResult], *, complete: bool,
             options: ScanOptions, started: str, inputs: Sequence[InputFile] = (),
             meta: dict[str, Any] | None = None, waivers: WaiverBook | None = None,
             finished: str | None = None) -> RunResult:
    """The run result of `hosts` from the results that came back: hosts without one are
    `not_run`, every host is settled against the threshold, the summary computed once."""
    results = [by_index[i] if i in by_index else unchecked_host(h)
               for i, h in enumerate(hosts)]
    return assemble_results(results, complete=complete and len(by_index) == len(hosts),
                            fail_on=options.fail_on, started=started, inputs=inputs, meta=meta,
                            waivers=waivers, definitions=policy_definitions(hosts),
                            finished=finished)


def assemble_results(results: Sequence[HostResult], *, complete: bool, fail_on: Severity,
                     started: str, inputs: Sequence[InputFile] = (),
                     meta: dict[str, Any] | None = None, waivers: WaiverBook | None = None,
                     definitions: Sequence[dict[str, Any]] = (),
                     finished: str | None = None) -> RunResult:
    """The run of one result per host (a scan's, or merged shards'): sorted, settled against
    `fail_on`, the waivers' statuses and the summary computed once; it finished at
    `finished` (default: now)."""
    ordered = sorted(results, key=lambda r: r.name)
    settled, summary = judge_run(ordered, fail_on, complete=complete)
    # This machine's side of the run (argv words, file names, and the messages quoting
    # them) may hold undecodable bytes: made text here, once, before any report is written.
    inputs, meta, definitions = writable((tuple(inputs), dict(meta or {}), tuple(definitions)))
    records: tuple[WaiverRecord, ...] = ()
    if waivers is not None:
        records, warnings = writable(waivers.records(settled))
        meta["waiver_date"] = waivers.today.isoformat()
        meta["warnings"] = [*meta.get("warnings", ()), *warnings]
    return RunResult(
        run_id=new_run_id(started),
        tool_version=__version__, started_at=started,
        finished_at=finished or now_iso(),
        inputs=inputs, hosts=settled, summary=summary,
        meta=meta, waivers=records, policy_definitions=definitions,
    )
