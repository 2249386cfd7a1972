"""Worker processes: one run spread over several processes, so it is not held to one core.

Hosts are dealt round-robin to `workers` spawned processes (spawn: safe with
threads, and a child starts in the network namespace of the thread that
spawned it). Each child runs the thread-pool runner with its share of the
forks and sends every host's result back as soon as it finishes, so that a
Ctrl-C in the parent still has every finished host to report.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any

from fleetcheck.errors import ErrorKind
from fleetcheck.model import HostError, HostResult
from fleetcheck.plan import PlannedHost
from fleetcheck.result import host_status

# How long the parent waits for children to send what they have after a Ctrl-C.
STOP_GRACE = 3.0


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def check_in_processes(hosts: Sequence[PlannedHost], options: Any, *, workers: int,
                       on_done: Callable[[int, HostResult], None] | None = None,
                       ) -> tuple[dict[int, HostResult], bool]:
    """Check `hosts` in `workers` processes; results by index, and whether the run completed."""
    ctx = multiprocessing.get_context("spawn")
    results: Any = ctx.Queue()
    stop = ctx.Event()
    forks = max(1, -(-options.forks // workers))  # the run's width, shared out
    procs = []
    for w in range(workers):
        indexes = list(range(w, len(hosts), workers))
        proc = ctx.Process(target=_child, name=f"fleetcheck-worker-{w}", daemon=True,
                           args=(w, indexes, [hosts[i] for i in indexes], options, forks,
                                 results, stop))
        proc.start()
        procs.append(proc)
    by_index: dict[int, HostResult] = {}
    finished: set[int] = set()
    complete = True

    def receive(timeout: float) -> None:
        message = results.get(timeout=timeout)
        if message[0] == "host":
            i, result = message[1], HostResult.from_dict(message[2])
            if i not in by_index:
                by_index[i] = result
                if on_done is not None:
                    on_done(i, result)
        elif message[0] == "done":
            finished.add(message[1])

    try:
        while len(finished) < workers:
            try:
                receive(0.5)
            except queue.Empty:
                for w, proc in enumerate(procs):
                    if w not in finished and not proc.is_alive():
                        _drain(receive)
                        finished.add(w)  # died without saying so: its hosts are reported
    except KeyboardInterrupt:
        complete = False
        stop.set()
        end = time.monotonic() + STOP_GRACE
        with contextlib.suppress(KeyboardInterrupt):
            while len(finished) < workers and time.monotonic() < end:
                with contextlib.suppress(queue.Empty):
                    receive(0.2)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=5)
    for w, proc in enumerate(procs):
        if proc.exitcode not in (0, None) and complete:
            message = f"worker process {w} died (exit code {proc.exitcode})"
            for i in range(w, len(hosts), workers):
                if i not in by_index:
                    by_index[i] = _crashed(hosts[i], message)
    return by_index, complete and len(by_index) == len(hosts)


def _drain(receive: Callable[[float], None]) -> None:
    with contextlib.suppress(queue.Empty):
        while True:
            receive(0.05)


def _crashed(host: PlannedHost, message: str) -> HostResult:
    error = HostError(ErrorKind.INTERNAL.value, message)
    return HostResult(name=host.name, address=host.address, groups=host.groups,
                      status=host_status((), error), error=error, policies=host.policy_names)


def _child(worker: int, indexes: list[int], hosts: list[PlannedHost], options: Any,
           forks: int, results: Any, stop: Any) -> None:
    """A worker: check its hosts, post each result as it finishes, then say it is done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what a Ctrl-C means
    level = getattr(options, "extra", {}).get("log_level")
    if level is not None:  # -v in the parent: this process logs to the same stderr
        logging.basicConfig(level=level, format="fleetcheck: %(name)s: %(message)s")
    from fleetcheck.scan import check_hosts

    def post(i: int, result: HostResult) -> None:
        results.put(("host", indexes[i], result.to_dict()))

    try:
        check_hosts(hosts, options, forks=forks, on_done=post, stop=stop.is_set)
    finally:
        results.put(("done", worker))
        results.close()
        results.join_thread()
