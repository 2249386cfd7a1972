"""The runner: width, one item's failure is its own, the deadline backstop, stopping early."""

from __future__ import annotations

import threading
import time

import pytest

from fleetcheck.engine import runner
from fleetcheck.engine.runner import Handoff, run_all
from fleetcheck.errors import ErrorKind, HostFailure


def _on_error(item: int, exc: BaseException) -> str:
    kind = exc.kind.value if isinstance(exc, HostFailure) else type(exc).__name__
    return f"{item}:failed:{kind}"


def test_runs_every_item_at_the_given_width() -> None:
    """Every item once, results in input order, never more than `forks` at a time."""
    running, peak = 0, 0
    lock = threading.Lock()

    def task(i: int) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1
        return f"{i}:ok"

    seen: list[int] = []
    outcome = run_all(list(range(40)), task, _on_error, forks=5,
                      on_done=lambda i, _r: seen.append(i))
    assert outcome.results == tuple(f"{i}:ok" for i in range(40))
    assert outcome.complete and outcome.not_run == ()
    assert sorted(seen) == list(range(40))
    assert 1 < peak <= 5


def test_an_exception_is_that_items_result() -> None:
    """A task that raises becomes on_error's result for that item only."""
    def task(i: int) -> str:
        if i == 2:
            raise RuntimeError("boom")
        return f"{i}:ok"

    outcome = run_all([0, 1, 2, 3], task, _on_error, forks=2)
    assert outcome.results == ("0:ok", "1:ok", "2:failed:RuntimeError", "3:ok")


def test_stuck_item_is_given_up_at_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task blocked where no timeout reaches is failed after deadline + grace; the rest go on."""
    monkeypatch.setattr(runner, "GRACE", 0.3)  # the test waits it out: 2 s in a real run
    release = threading.Event()

    def task(i: int) -> str:
        if i == 0:
            release.wait(60)  # stands for a hung name lookup
            return "0:late"
        return f"{i}:ok"

    start = time.monotonic()
    try:
        outcome = run_all([0, 1, 2, 3], task, _on_error, forks=1, deadline=0.5)
    finally:
        release.set()
    assert outcome.results == ("0:failed:deadline", "1:ok", "2:ok", "3:ok")
    assert outcome.complete
    assert time.monotonic() - start < 10  # bounded by the deadline, not by the stuck task
    assert ErrorKind.DEADLINE.value == "deadline"


def test_stop_keeps_what_finished() -> None:
    """stop() returning true ends the run: finished items kept, the rest listed as not run."""
    gate = threading.Event()
    stopping = threading.Event()

    def task(i: int) -> str:
        if i > 1:
            stopping.set()
            gate.wait(30)
        return f"{i}:ok"

    try:
        outcome = run_all(list(range(6)), task, _on_error, forks=2, stop=stopping.is_set)
    finally:
        gate.set()
    assert not outcome.complete
    assert set(outcome.results) <= {f"{i}:ok" for i in range(6)}
    assert set(outcome.not_run) | {int(r.split(":")[0]) for r in outcome.results} == \
        set(range(6))
    assert outcome.not_run


def test_handed_off_items_are_neither_run_nor_missing() -> None:
    """Items taken through a Handoff leave the run; it completes without them, narrower."""
    running, settled_peak, finished_after = 0, 0, 0
    lock = threading.Lock()
    taken: list[int] = []
    handoff = Handoff()

    def task(i: int) -> str:
        nonlocal running, settled_peak, finished_after
        with lock:
            running += 1
            if finished_after >= 6:  # every thread that ran before the take has moved on
                settled_peak = max(settled_peak, running)
        if i == 0 and not taken:
            taken.extend(handoff.take(30, 2))  # from a thread of the run: the backlog is full
        time.sleep(0.01)
        with lock:
            running -= 1
            if taken:
                finished_after += 1
        return f"{i}:ok"

    outcome = run_all(list(range(60)), task, _on_error, forks=6, handoff=handoff)
    assert len(taken) == 30 and set(taken) == handoff.given
    assert set(taken) <= set(range(30, 60))  # the last ones waiting
    kept = [i for i in range(60) if i not in handoff.given]
    assert outcome.results == tuple(f"{i}:ok" for i in kept)
    assert outcome.complete and outcome.not_run == ()
    assert handoff.backlog() == 0
    assert 1 <= settled_peak <= 2  # threads above the new width left after their item
