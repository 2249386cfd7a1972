"""The threads engine: this process checks the hosts, `forks` at a time."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence

from fleetcheck.engine.base import Done, Outcome, Stop
from fleetcheck.engine.check import Job, check_host, failed_host
from fleetcheck.engine.runner import Handoff, run_all
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.connect import DefaultConnector
from fleetcheck.transport.inflight import INFLIGHT


class ThreadEngine:
    """Checks hosts on `forks` threads here; an interrupt stops every running command."""

    name = "threads"
    processes = 1  # what the run's `workers` records

    def __init__(self, forks: int | None = None, handoff: Handoff | None = None) -> None:
        self.forks = forks  # None: the job's options.forks
        self.handoff = handoff  # hosts not yet started may be taken to run elsewhere

    def run(self, hosts: Sequence[PlannedHost], job: Job, *, on_done: Done | None = None,
            stop: Stop | None = None) -> Outcome:
        """Results by index of the hosts that finished, and whether all did."""
        connector = job.connect or DefaultConnector(job.options.ssh)
        complete = False
        try:
            with _fewer_collections():
                outcome = run_all(hosts, lambda h: check_host(h, connector, job), failed_host,
                                  forks=self.forks or job.options.forks,
                                  deadline=job.options.deadline, on_done=on_done, stop=stop,
                                  handoff=self.handoff, halt=INFLIGHT.stop_all)
            complete = outcome.complete
        finally:
            if not complete:
                INFLIGHT.stop_all()  # interrupted: nothing keeps running here or on a host
            connector.close()
        given = self.handoff.given if self.handoff is not None else set()
        finished = sorted(set(range(len(hosts))) - set(outcome.not_run) - given)
        return Outcome(dict(zip(finished, outcome.results, strict=True)), outcome.complete)


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
