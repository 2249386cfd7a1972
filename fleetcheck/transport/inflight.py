"""Commands running right now, so that an interrupt can stop every one of them.

A transport registers how to stop each command it starts (kill a local process
group, signal and close a remote channel) and withdraws it when the command ends.
When a run is interrupted (Ctrl-C, SIGTERM, SIGHUP) the engine calls `stop_all`:
no probe outlives the run, here or on a host.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator


class InFlight:
    """A thread-safe set of stop functions, one per running command."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stops: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self._stopping = False

    def add(self, stop: Callable[[], None]) -> int:
        """Register a running command's `stop`; a token for `discard`. After `stop_all`
        a command registering is stopped at once: an interrupt came first."""
        token = next(self._ids)
        with self._lock:
            self._stops[token] = stop
            stopping = self._stopping
        if stopping:
            _quietly(stop)
        return token

    def discard(self, token: int) -> None:
        """The command ended: forget how to stop it."""
        with self._lock:
            self._stops.pop(token, None)

    @contextlib.contextmanager
    def running(self, stop: Callable[[], None]) -> Iterator[None]:
        """Within this block the command can be stopped by `stop_all`."""
        token = self.add(stop)
        try:
            yield
        finally:
            self.discard(token)

    def stop_all(self) -> int:
        """Stop every running command, and any started from now on; how many were stopped."""
        with self._lock:
            self._stopping = True
            stops = list(self._stops.values())
        for stop in stops:
            _quietly(stop)
        return len(stops)

    def reset(self) -> None:
        """Allow commands again (a new run in the same process)."""
        with self._lock:
            self._stopping = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._stops)


def _quietly(stop: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):  # the command may have ended meanwhile
        stop()


INFLIGHT = InFlight()  # the process's running commands
