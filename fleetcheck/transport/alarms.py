"""One thread for every command's deadline alarm, instead of a timer thread a command.

A session arms an alarm for its command's deadline (session.py: paramiko waits without
limit for some answers, and closing the channel wakes it). Starting a `threading.Timer`
for each cost every host a thread (~0.1 ms of CPU); here one daemon thread sleeps until
the earliest alarm. A cancelled alarm drops its callable at once, so that nothing it
held (a channel, its connection) outlives the command waiting for its time to come.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Alarm:
    """A call due at a time; `cancel` before then and it never happens."""

    __slots__ = ("_fire", "fired")

    def __init__(self, fire: Callable[[], None]) -> None:
        self.fired = False
        self._fire: Callable[[], None] | None = fire

    def cancel(self) -> None:
        """Never call it (a no-op once it was called)."""
        with _ALARMS.lock:
            self._fire = None


class _Alarms:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self._due: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, fire: Callable[[], None]) -> Alarm:
        alarm = Alarm(fire)
        with self.lock:
            heapq.heappush(self._due, (time.monotonic() + seconds, next(self._order), alarm))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fleetcheck-alarms",
                                                daemon=True)
                self._thread.start()
            elif self._due[0][2] is alarm:  # earlier than what the thread sleeps for
                self.lock.notify()
        return alarm

    def _run(self) -> None:
        while True:
            with self.lock:
                fire = self._next()
            with contextlib.suppress(Exception):  # a call that fails is its command's: go on
                fire()

    def _next(self) -> Callable[[], None]:
        """Wait (holding the lock) until an armed alarm is due; take and return its call."""
        while True:
            while self._due and self._due[0][2]._fire is None:
                heapq.heappop(self._due)  # cancelled
            if not self._due:
                self.lock.wait()
                continue
            at, _, alarm = self._due[0]
            wait = at - time.monotonic()
            if wait > 0:
                self.lock.wait(wait)
                continue
            heapq.heappop(self._due)
            fire, alarm._fire, alarm.fired = alarm._fire, None, True
            assert fire is not None  # cancelled ones were dropped above, under this lock
            return fire


_ALARMS = _Alarms()


def arm(seconds: float, fire: Callable[[], None]) -> Alarm:
    """Call `fire` on the alarm thread once `seconds` have passed, unless cancelled."""
    return _ALARMS.arm(max(0.0, seconds), fire)
