"""The processes engine: one run spread over several processes, so it is not held to one core.

Hosts are dealt round-robin to `workers` processes at the start (`--workers N`), or
this process starts alone and hands waiting hosts to a new one whenever it is found
CPU-bound (the default). Spawned processes (spawn: safe with threads, and a child
starts in the network namespace of the thread that spawned it) each run the
thread-pool runner with their share of the forks and send every host's result back
as soon as it finishes, so that a Ctrl-C still has every finished host to report.
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
import time
from collections.abc import Iterator, Sequence
from typing import Any

from fleetcheck.engine.base import Done, Outcome, Stop
from fleetcheck.engine.check import Job, unchecked_host
from fleetcheck.engine.interrupts import die_with_parent
from fleetcheck.engine.limits import fewer_malloc_arenas
from fleetcheck.engine.options import MIN_SHARE
from fleetcheck.engine.runner import Handoff
from fleetcheck.engine.threads import ThreadEngine
from fleetcheck.errors import ErrorKind
from fleetcheck.model import HostError, HostResult
from fleetcheck.plan import PlannedHost
from fleetcheck.progress import Progress, ProgressHandler
from fleetcheck.redact import run_redactor

log = logging.getLogger("fleetcheck.engine.processes")

# How long the parent waits for children to send what they have after a Ctrl-C.
STOP_GRACE = 3.0
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


# A process is added only while this one is the bottleneck: each costs an interpreter's
# start (~0.2 s of CPU) and the transfer of every result it sends back, which buys
# nothing while this process mostly waits on the network (as it does at ~50 hosts/s).
BUSY = 0.75  # share of one core this process used over the last look: it is CPU-bound
LOOK = 1.0  # seconds between looks


class ProcessEngine:
    """Checks hosts in up to `workers` processes, each running the threads engine on its share.

    Fixed (`grow` False): the hosts are dealt round-robin to `workers` processes at the
    start. Growing: this process starts alone and hands part of its waiting hosts to a new
    process each time it is found CPU-bound, up to `workers` in all.
    """

    name = "processes"

    def __init__(self, workers: int, *, grow: bool = False, busy: float = BUSY,
                 min_share: int = MIN_SHARE, look: float = LOOK) -> None:
        self.workers, self.grow = workers, grow
        self.busy, self.min_share, self.look = busy, min_share, look
        self.processes = 1  # after a run: how many processes it took, this one included

    def run(self, hosts: Sequence[PlannedHost], job: Job, *, on_done: Done | None = None,
            stop: Stop | None = None) -> Outcome:
        """Results by index of the hosts that finished, and whether all did."""
        del stop  # Ctrl-C is how a local run is stopped; children poll their own event
        growth = _Growth(self.busy, self.min_share, self.look) if self.grow else None
        by_index, complete, self.processes = check_in_processes(
            hosts, job, workers=self.workers, on_done=on_done, growth=growth)
        return Outcome(by_index, complete)


def check_in_processes(hosts: Sequence[PlannedHost], job: Job, *, workers: int,
                       on_done: Done | None = None,
                       growth: _Growth | None = None
                       ) -> tuple[dict[int, HostResult], bool, int]:
    """Check `hosts` in up to `workers` processes: results by index, whether the run
    completed, and how many processes it took.

    This process is worker 0 (its threads check its share while a pump thread
    relays the results of the spawned ones): one interpreter fewer to start.
    """
    options = job.options
    relay = _Relay(hosts, Job(options, job.waivers), on_done)
    # The pump also starts the processes added later: a worker dies with the thread that
    # started it (PR_SET_PDEATHSIG follows threads), and the pump outlives them all.
    pump = threading.Thread(target=relay.pump, name="fleetcheck-relay", daemon=True,
                            args=(growth, workers, options.forks))
    complete = True
    try:  # from the first process started: an interrupt stops every one (the finally)
        if growth is None:
            forks = max(1, -(-options.forks // workers))  # the run's width, shared out
            own = list(range(0, len(hosts), workers))
            for w in range(1, workers):
                relay.start(list(range(w, len(hosts), workers)), forks)
            relay.sealed = True
            engine = ThreadEngine(forks)
        else:
            own = list(range(len(hosts)))
            engine = ThreadEngine(options.forks, growth.handoff)
        pump.start()
        mine = engine.run([hosts[i] for i in own], job,
                          on_done=lambda j, r: relay.record(own[j], r))
        if not mine.complete:  # the runner caught a Ctrl-C
            raise KeyboardInterrupt
        relay.seal()
        while pump.is_alive():
            pump.join(0.2)  # a timed join, so that Ctrl-C still gets through
    except KeyboardInterrupt:
        complete = False
        relay.seal()
        relay.stop.set()  # children stop taking hosts and send what they have
        if pump.is_alive():
            with contextlib.suppress(KeyboardInterrupt):
                pump.join(STOP_GRACE)
    finally:
        relay.seal()
        relay.closing = True
        for w, proc in relay.procs.items():
            if w in relay.finished:  # it said it is done: let it exit before insisting
                proc.join(timeout=STOP_GRACE)
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=5)
    by_index = relay.by_index
    for w, proc in relay.procs.items():
        if proc.exitcode not in (0, None) and complete:
            message = f"worker process {w} died (exit code {proc.exitcode})"
            kind = ErrorKind.INTERNAL
            if proc.exitcode == NO_THREAD:
                message = f"worker process {w} could not start a thread (this machine's limits)"
                kind = ErrorKind.LOCAL_RESOURCES
            for i in relay.shares[w]:
                by_index.setdefault(i, unchecked_host(hosts[i], HostError(kind.value, message)))
    return by_index, complete and len(by_index) == len(hosts), 1 + len(relay.procs)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Processes started within start with the stop signals blocked (held, not lost; here
    only while they are started). A worker unblocks them once it has its own handlers: a
    Ctrl-C to the process group while it loads would otherwise print a traceback there.
    multiprocessing's resource tracker keeps them blocked: a hangup of the terminal no
    longer kills it mid-run (its successor printed a KeyError traceback per semaphore)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


class _Relay:
    """Starts worker processes and collects results from this process's runner and theirs."""

    def __init__(self, hosts: Sequence[PlannedHost], job: Job, on_done: Done | None) -> None:
        self.hosts, self.job, self.on_done = hosts, job, on_done
        self.ctx = multiprocessing.get_context("spawn")
        with _signals_held():  # the queue's lock starts multiprocessing's resource tracker
            self.results: Any = self.ctx.Queue()
            self.stop: Any = self.ctx.Event()
        self.procs: dict[int, Any] = {}
        self.shares: dict[int, list[int]] = {}
        self.widths: dict[int, int] = {}
        self.by_index: dict[int, HostResult] = {}
        self.finished: set[int] = set()
        self.closing = False
        self.sealed = False  # no process will be added
        self.adding = threading.Lock()  # held while a process is added, and to seal
        self._lock = threading.Lock()

    def start(self, indexes: list[int], forks: int) -> None:
        """Start a worker process checking the hosts at `indexes`, `forks` at a time."""
        w = len(self.procs) + 1
        self.shares[w], self.widths[w] = indexes, forks
        self.procs[w] = self.ctx.Process(
            target=_child, name=f"fleetcheck-worker-{w}", daemon=True,
            args=(w, indexes, [self.hosts[i] for i in indexes], self.job, forks,
                  self.results, self.stop, os.getpid()))
        with _signals_held():
            self.procs[w].start()

    def seal(self) -> None:
        """No process is added from now on (waits for one being added)."""
        with self.adding:
            self.sealed = True

    def record(self, i: int, result: HostResult) -> None:
        """Keep one host's result (the first one) and report it."""
        with self._lock:
            if i in self.by_index:
                return
            self.by_index[i] = result
            if self.on_done is not None:
                self.on_done(i, result)

    def pump(self, growth: _Growth | None, workers: int, forks: int) -> None:
        """Relay children's messages until sealed and every child said it is done (or died);
        with `growth`, add processes (up to `workers`) while this one is busy."""
        while not self.closing and not (self.sealed and len(self.finished) >= len(self.procs)):
            try:
                self._receive(0.2)
            except queue.Empty:
                for w, proc in list(self.procs.items()):
                    if w not in self.finished and not proc.is_alive():
                        with contextlib.suppress(queue.Empty):
                            while True:  # what it sent before dying
                                self._receive(0.05)
                        self.finished.add(w)
            if growth is not None and len(self.procs) + 1 < workers:
                growth.consider(self, forks)

    def _receive(self, timeout: float) -> None:
        message = self.results.get(timeout=timeout)
        if message[0] == "host":
            self.record(message[1], HostResult.from_dict(message[2]))
        elif message[0] == "done":
            self.finished.add(message[1])


class _Growth:
    """Measures this process's CPU use and hands waiting hosts to a new process when busy."""

    def __init__(self, busy: float, min_share: int, look: float) -> None:
        self.busy, self.min_share, self.look = busy, min_share, look
        self.handoff = Handoff()
        self.cpu, self.wall = time.process_time(), time.monotonic()

    def consider(self, relay: _Relay, forks: int) -> None:
        """Once a look: add a process if this one was busy since the last look."""
        wall = time.monotonic()
        if wall - self.wall < self.look:
            return
        cpu = time.process_time()
        load = (cpu - self.cpu) / (wall - self.wall)
        self.cpu, self.wall = cpu, wall
        processes = len(relay.procs) + 1
        # The new process gets its fair part of the forks and of this one's waiting
        # hosts; this one keeps what the others leave, so the run keeps its width.
        width = max(1, -(-forks // (processes + 1)))
        own = forks - sum(relay.widths.values()) - width
        share = self.handoff.backlog() // (processes + 1)
        if load < self.busy or share < self.min_share or own < 1:
            return
        with relay.adding:
            if relay.sealed:
                return
            indexes = self.handoff.take(share, own)
            if indexes:
                log.info("this process used %.0f%% of a core: worker process %d takes %d "
                         "of the hosts waiting", 100 * load, processes, len(indexes))
                relay.start(indexes, width)


NO_THREAD = 75  # a worker's exit code when it could not start a single thread (EX_TEMPFAIL)
_STOPPING = threading.Event()  # a worker's first SIGTERM came


def _interrupt(signum: int, frame: Any) -> None:
    """A worker's SIGTERM: the first stops it as an interrupt does (its commands stopped,
    what it has sent); another (the parent insisting, or dead) ends it at once, quietly."""
    del frame
    if _STOPPING.is_set():
        os._exit(128 + signum)
    _STOPPING.set()
    raise KeyboardInterrupt


def _child(worker: int, indexes: list[int], hosts: list[PlannedHost], job: Job,
           forks: int, results: Any, stop: Any, parent: int) -> None:
    """A worker: check its hosts, post each result as it finishes, then say it is done."""
    # The parent decides what a Ctrl-C or a hangup means; SIGTERM (the parent's terminate,
    # or its death) stops this worker as an interrupt does: its commands are stopped too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)
    die_with_parent()
    fewer_malloc_arenas()  # a worker is an interpreter of its own: as its parent does
    if os.getppid() != parent:  # the parent died before this process could ask to follow it
        os._exit(0)
    level = job.options.log_level
    if level is not None:  # -v in the parent: this process logs to the same stderr,
        # through the same sanitiser and with the same secrets masked
        handler = ProgressHandler(Progress(0, sys.stderr, enabled=False),
                                  run_redactor(hosts, job.options.ssh))
        logging.basicConfig(level=level, handlers=[handler])
        if not job.options.library_log:  # paramiko's own records only at -vvv
            logging.getLogger("paramiko").setLevel(logging.WARNING)

    def post(i: int, result: HostResult) -> None:
        results.put(("host", indexes[i], result.to_dict()))

    try:
        # The queue's feeder thread starts with the first message: now, before the host
        # threads, so that under a thread limit the results still have a way out.
        results.put(("started", worker))
    except RuntimeError:  # not one thread to be had: said by the exit code (see run)
        os._exit(NO_THREAD)
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # held since the start
        ThreadEngine(forks).run(hosts, job, on_done=post, stop=stop.is_set)
    except KeyboardInterrupt:
        pass  # stopped (SIGTERM) where the runner does not catch it: nothing of it runs
    finally:
        results.put(("done", worker))
        results.close()
        results.join_thread()
