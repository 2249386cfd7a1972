"""The runner: per-host work on a thread pool; one host's exception becomes its failed result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RunOutcome(Generic[R]):
    """Results in input order; `complete` is False when the run was interrupted."""

    results: tuple[R, ...]
    complete: bool
    not_run: tuple[int, ...]  # indexes of items that never finished


def run_all(items: Sequence[T], task: Callable[[T], R], on_error: Callable[[T, BaseException], R],
            *, forks: int, on_done: Callable[[R], None] | None = None) -> RunOutcome[R]:
    """Run `task` for every item, `forks` at a time; Ctrl-C keeps what has finished."""
    done: dict[int, R] = {}

    def guarded(i: int) -> None:
        try:
            result = task(items[i])
        except Exception as exc:  # any failure on one host is that host's data
            result = on_error(items[i], exc)
        done[i] = result
        if on_done is not None:
            on_done(result)

    pool = ThreadPoolExecutor(max_workers=max(1, forks), thread_name_prefix="fleetcheck")
    pending: set[Future[None]] = {pool.submit(guarded, i) for i in range(len(items))}
    complete = True
    try:
        while pending:
            _, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
    except KeyboardInterrupt:
        complete = False
    finally:
        pool.shutdown(wait=complete, cancel_futures=True)
    order = sorted(done)
    missing = tuple(i for i in range(len(items)) if i not in done)
    return RunOutcome(tuple(done[i] for i in order), complete and not missing, missing)
