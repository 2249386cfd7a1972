"""The one alarm thread behind every command's deadline (transport/alarms.py)."""

from __future__ import annotations

import gc
import threading
import time
import weakref

from fleetcheck.transport.alarms import arm


def test_alarms_fire_in_time_order_and_cancelled_ones_never() -> None:
    """A later alarm armed first does not hold back an earlier one; a cancelled one never
    fires; each says whether it fired."""
    fired: list[str] = []
    done = threading.Event()
    def last() -> None:
        fired.append("late")
        done.set()

    late = arm(0.6, last)
    early = arm(0.05, lambda: fired.append("early"))
    never = arm(0.1, lambda: fired.append("never"))
    never.cancel()
    started = time.monotonic()
    assert done.wait(5)
    assert fired == ["early", "late"]
    assert time.monotonic() - started >= 0.5
    assert early.fired and late.fired and not never.fired


def test_a_cancelled_alarm_lets_go_of_what_it_would_call() -> None:
    """What a cancelled alarm held (a channel, its connection) is freed at once, not when
    the alarm's time would have come."""
    class Held:
        def close(self) -> None:
            raise AssertionError("cancelled, yet called")

    held = Held()
    gone = weakref.ref(held)
    alarm = arm(60, held.close)
    alarm.cancel()
    del held
    gc.collect()
    assert gone() is None


def test_a_failing_call_does_not_stop_the_thread() -> None:
    """An alarm whose call raises is that command's failure; later alarms still fire."""
    def boom() -> None:
        raise OSError("connection already gone")

    ok = threading.Event()
    arm(0.01, boom)
    arm(0.05, ok.set)
    assert ok.wait(5)
