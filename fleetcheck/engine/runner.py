"""The runner: per-host work on `forks` threads; one host's exception becomes its failed result.

Each item gets a deadline. Tasks enforce it themselves (every timeout is capped
by what is left of it); the runner is the backstop for a task stuck where no
timeout reaches (a hung name lookup): past deadline + grace it records the item
as failed, abandons the thread (a daemon) and starts another in its place, so
one host can never hold the run.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.frozen import frozen

T = TypeVar("T")
R = TypeVar("R")

GRACE = 2.0  # seconds past an item's deadline before the runner gives up on its thread


@frozen
class RunOutcome(Generic[R]):
    """Results of the items that finished, in input order; `complete` is False if interrupted."""

    results: tuple[R, ...]
    complete: bool
    not_run: tuple[int, ...]  # indexes of items that never finished


class _Pool(Generic[T, R]):
    """Threads taking item indexes from a shared deque and posting (index, result) to a queue."""

    def __init__(self, items: Sequence[T], task: Callable[[T], R],
                 on_error: Callable[[T, BaseException], R], width: int) -> None:
        self.items, self.task, self.on_error = items, task, on_error
        self.todo = collections.deque(range(len(items)))
        self.started: dict[int, float] = {}
        self.posted: queue.SimpleQueue[tuple[int, R]] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.closing = False
        self.threads = 0
        self.width = width  # threads wanted; one above it leaves after its current item
        self.working = 0
        self.abandoned = 0  # threads given up on: each still counts in `working`
        self.alive: list[threading.Thread] = []

    def spawn(self) -> bool:
        """Start one more thread; False when this machine has no thread left to give (a
        cgroup's pids.max, a low `ulimit -v`): the run goes on with the threads it has."""
        self.threads += 1
        with self.lock:
            self.working += 1
        thread = threading.Thread(target=self._work, name=f"fleetcheck-{self.threads}",
                                  daemon=True)
        try:
            thread.start()
        except RuntimeError:  # "can't start new thread"
            with self.lock:
                self.working -= 1
            return False
        self.alive.append(thread)
        return True

    def drain(self, grace: float) -> None:
        """Wait up to `grace` seconds for the threads still in an item to leave it."""
        end = time.monotonic() + grace
        for thread in self.alive:
            if thread.ident is not None:  # started
                thread.join(max(0.0, end - time.monotonic()))

    def _work(self) -> None:
        while True:
            with self.lock:
                if self.closing or not self.todo or \
                        self.working > self.width + self.abandoned:
                    self.working -= 1
                    return
                i = self.todo.popleft()
                self.started[i] = time.monotonic()
            try:
                result = self.task(self.items[i])
            except Exception as exc:  # any failure on one host is that host's data
                result = self.on_error(self.items[i], exc)
            self.posted.put((i, result))


class Handoff:
    """Lets another thread take items a running `run_all` has not started (to run elsewhere)."""

    def __init__(self) -> None:
        self.given: set[int] = set()
        self._pool: _Pool[Any, Any] | None = None

    def backlog(self) -> int:
        """How many items are still waiting for a thread."""
        return len(self._pool.todo) if self._pool is not None else 0

    def take(self, count: int, width: int) -> list[int]:
        """Remove up to `count` waiting items (the last ones) and narrow the run to `width`."""
        pool = self._pool
        if pool is None:
            return []
        with pool.lock:
            taken = [pool.todo.pop() for _ in range(min(count, len(pool.todo)))]
            pool.width = max(1, width)
            self.given.update(taken)
        return sorted(taken)


def run_all(items: Sequence[T], task: Callable[[T], R], on_error: Callable[[T, BaseException], R],
            *, forks: int, deadline: float | None = None,
            on_done: Callable[[int, R], None] | None = None,
            stop: Callable[[], bool] | None = None,
            handoff: Handoff | None = None,
            halt: Callable[[], object] | None = None) -> RunOutcome[R]:
    """Run `task` for every item, `forks` at a time; Ctrl-C (or `stop()`) keeps what finished.

    `on_done(index, result)` is called from the calling thread as each item finishes.
    Items taken through `handoff` are neither run here nor counted as missing. When the
    run is cut short, `halt()` stops what the running items are doing, and the run waits
    (up to GRACE) for their threads to leave them: a thread left in the middle of an item
    as the process exits could have started a command that nothing stops any more.
    """
    pool: _Pool[T, R] = _Pool(items, task, on_error, max(1, forks))
    given = handoff.given if handoff is not None else set()
    if handoff is not None:
        handoff._pool = pool
    done: dict[int, R] = {}
    complete = True
    try:  # from the first thread started: an interrupt closes the pool (the finally)
        for _ in range(min(max(1, forks), len(items))):
            if not pool.spawn():
                break
        if not pool.alive and items:  # not one thread: every host unchecked, said so
            _no_thread(pool, done, on_done)
        while len(done) + len(given) < len(items):
            if stop is not None and stop():
                complete = False
                break
            try:
                i, result = pool.posted.get(timeout=0.2)
            except queue.Empty:
                if deadline is not None:
                    _give_up_overdue(pool, done, deadline, on_done)
                continue
            if i not in done:  # a late result of an item already given up is dropped
                done[i] = result
                if on_done is not None:
                    on_done(i, result)
    except KeyboardInterrupt:
        complete = False
    finally:
        with pool.lock:
            pool.closing = True
        if not complete and halt is not None:
            halt()
            pool.drain(GRACE)
    order = sorted(done)
    missing = tuple(i for i in range(len(items)) if i not in done and i not in given)
    return RunOutcome(tuple(done[i] for i in order), complete and not missing, missing)


def _no_thread(pool: _Pool[T, R], done: dict[int, R],
               on_done: Callable[[int, R], None] | None) -> None:
    """Record every waiting item as failed: no thread could be started to run it."""
    with pool.lock:
        todo = list(pool.todo)  # items handed off were taken out of it
        pool.todo.clear()
    for i in todo:
        done[i] = pool.on_error(pool.items[i], RuntimeError("can't start new thread"))
        if on_done is not None:
            on_done(i, done[i])


def _give_up_overdue(pool: _Pool[T, R], done: dict[int, R], deadline: float,
                     on_done: Callable[[int, R], None] | None) -> None:
    """Record items running past their deadline as failed and replace their threads."""
    now = time.monotonic()
    with pool.lock:
        overdue = [i for i, t0 in pool.started.items()
                   if i not in done and now - t0 > deadline + GRACE]
    for i in overdue:
        failure = HostFailure(ErrorKind.DEADLINE,
                              f"no result within the per-host deadline of {deadline:g}s")
        done[i] = pool.on_error(pool.items[i], failure)
        if on_done is not None:
            on_done(i, done[i])
        with pool.lock:
            pool.abandoned += 1
        # The stuck thread keeps its slot; the run keeps its width (when a thread is left).
        if not pool.spawn() and pool.working <= pool.abandoned:
            _no_thread(pool, done, on_done)
