"""The processes engine: one run spread over several processes, so it is not held to one core.

Hosts are dealt round-robin to `workers` processes: this one and workers-1
spawned ones (spawn: safe with threads, and a child starts in the network
namespace of the thread that spawned it). Each runs the thread-pool runner
with its share of the forks; children send every host's result back as soon
as it finishes, so that a Ctrl-C still has every finished host to report.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from fleetcheck.engine.base import Done, Outcome, Stop
from fleetcheck.engine.check import Job, unchecked_host
from fleetcheck.engine.interrupts import die_with_parent
from fleetcheck.engine.threads import ThreadEngine
from fleetcheck.errors import ErrorKind
from fleetcheck.model import HostError, HostResult
from fleetcheck.plan import PlannedHost
from fleetcheck.progress import Progress, ProgressHandler
from fleetcheck.redact import run_redactor

# How long the parent waits for children to send what they have after a Ctrl-C.
STOP_GRACE = 3.0


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class ProcessEngine:
    """Checks hosts in `workers` processes, each running the threads engine on its share."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, hosts: Sequence[PlannedHost], job: Job, *, on_done: Done | None = None,
            stop: Stop | None = None) -> Outcome:
        """Results by index of the hosts that finished, and whether all did."""
        del stop  # Ctrl-C is how a local run is stopped; children poll their own event
        by_index, complete = check_in_processes(hosts, job, workers=self.workers,
                                                on_done=on_done)
        return Outcome(by_index, complete)


def check_in_processes(hosts: Sequence[PlannedHost], job: Job, *, workers: int,
                       on_done: Done | None = None) -> tuple[dict[int, HostResult], bool]:
    """Check `hosts` in `workers` processes; results by index, and whether the run completed.

    This process is worker 0 (its threads check its share while a pump thread
    relays the results of the workers-1 spawned ones): one interpreter fewer to start.
    """
    options = job.options
    ctx = multiprocessing.get_context("spawn")
    results: Any = ctx.Queue()
    stop = ctx.Event()
    forks = max(1, -(-options.forks // workers))  # the run's width, shared out
    shares = [list(range(w, len(hosts), workers)) for w in range(workers)]
    procs: dict[int, Any] = {}
    for w in range(1, workers):
        procs[w] = ctx.Process(target=_child, name=f"fleetcheck-worker-{w}", daemon=True,
                               args=(w, shares[w], [hosts[i] for i in shares[w]],
                                     Job(options, job.waivers), forks, results, stop))
        procs[w].start()
    relay = _Relay(results, procs, on_done)
    pump = threading.Thread(target=relay.pump, name="fleetcheck-relay", daemon=True)
    pump.start()
    complete = True
    try:
        own = ThreadEngine(forks).run([hosts[i] for i in shares[0]], job,
                                      on_done=lambda j, r: relay.record(shares[0][j], r))
        if not own.complete:  # the runner caught a Ctrl-C
            raise KeyboardInterrupt
        while pump.is_alive():
            pump.join(0.2)  # a timed join, so that Ctrl-C still gets through
    except KeyboardInterrupt:
        complete = False
        stop.set()  # children stop taking hosts and send what they have
        with contextlib.suppress(KeyboardInterrupt):
            pump.join(STOP_GRACE)
    finally:
        relay.closing = True
        for proc in procs.values():
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=5)
    by_index = relay.by_index
    for w, proc in procs.items():
        if proc.exitcode not in (0, None) and complete:
            message = f"worker process {w} died (exit code {proc.exitcode})"
            for i in shares[w]:
                by_index.setdefault(i, unchecked_host(hosts[i], HostError(
                    ErrorKind.INTERNAL.value, message)))
    return by_index, complete and len(by_index) == len(hosts)


class _Relay:
    """Collects results from this process's runner and from the children's queue."""

    def __init__(self, results: Any, procs: dict[int, Any],
                 on_done: Done | None) -> None:
        self.results, self.procs, self.on_done = results, procs, on_done
        self.by_index: dict[int, HostResult] = {}
        self.finished: set[int] = set()
        self.closing = False
        self._lock = threading.Lock()

    def record(self, i: int, result: HostResult) -> None:
        """Keep one host's result (the first one) and report it."""
        with self._lock:
            if i in self.by_index:
                return
            self.by_index[i] = result
            if self.on_done is not None:
                self.on_done(i, result)

    def pump(self) -> None:
        """Relay children's messages until every child said it is done (or died)."""
        while len(self.finished) < len(self.procs) and not self.closing:
            try:
                self._receive(0.2)
            except queue.Empty:
                for w, proc in self.procs.items():
                    if w not in self.finished and not proc.is_alive():
                        with contextlib.suppress(queue.Empty):
                            while True:  # what it sent before dying
                                self._receive(0.05)
                        self.finished.add(w)

    def _receive(self, timeout: float) -> None:
        message = self.results.get(timeout=timeout)
        if message[0] == "host":
            self.record(message[1], HostResult.from_dict(message[2]))
        elif message[0] == "done":
            self.finished.add(message[1])


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _child(worker: int, indexes: list[int], hosts: list[PlannedHost], job: Job,
           forks: int, results: Any, stop: Any) -> None:
    """A worker: check its hosts, post each result as it finishes, then say it is done."""
    # The parent decides what a Ctrl-C or a hangup means; SIGTERM (the parent's terminate,
    # or its death) stops this worker as an interrupt does: its commands are stopped too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)
    die_with_parent()
    level = job.options.log_level
    if level is not None:  # -v in the parent: this process logs to the same stderr,
        # through the same sanitiser and with the same secrets masked
        handler = ProgressHandler(Progress(0, sys.stderr, enabled=False),
                                  run_redactor(hosts, job.options.ssh))
        logging.basicConfig(level=level, handlers=[handler])

    def post(i: int, result: HostResult) -> None:
        results.put(("host", indexes[i], result.to_dict()))

    try:
        ThreadEngine(forks).run(hosts, job, on_done=post, stop=stop.is_set)
    finally:
        results.put(("done", worker))
        results.close()
        results.join_thread()
