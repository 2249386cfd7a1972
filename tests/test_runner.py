"""The runner: concurrency bounded by forks; one item's exception is that item's result."""

from __future__ import annotations

import threading
import time

from fleetcheck.runner import run_all


def test_exception_becomes_that_items_result_and_order_is_kept() -> None:
    def task(n: int) -> str:
        if n == 3:
            raise RuntimeError("boom")
        return f"ok{n}"

    outcome = run_all(list(range(6)), task, lambda n, exc: f"failed{n}:{exc}", forks=3)
    assert outcome.results == ("ok0", "ok1", "ok2", "failed3:boom", "ok4", "ok5")
    assert outcome.complete
    assert outcome.not_run == ()


def test_no_more_than_forks_at_once() -> None:
    lock = threading.Lock()
    running = peak = 0

    def task(_: int) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    run_all(list(range(20)), task, lambda n, exc: None, forks=4)
    assert 1 < peak <= 4
