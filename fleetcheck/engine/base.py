"""The engine contract: planned hosts in, one result per host that finished out.

Engines are peers (threads here, worker processes, Celery workers elsewhere): each
turns a sequence of planned hosts into host results, calling `on_done(index, result)`
as each finishes, and stops taking hosts when `stop()` says so or on Ctrl-C. What
the run does with the results (threshold, summary, reports, history) is not theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from fleetcheck.frozen import frozen
from fleetcheck.model import HostResult

if TYPE_CHECKING:
    from fleetcheck.engine.check import Job
    from fleetcheck.plan import PlannedHost

Done = Callable[[int, HostResult], None]
Stop = Callable[[], bool]


@frozen
class Outcome:
    """Results by index into the hosts given, and False when the run was cut short."""

    results: dict[int, HostResult]
    complete: bool


class Engine(Protocol):
    """Turns planned hosts into host results."""

    name: str

    def run(self, hosts: Sequence[PlannedHost], job: Job, *, on_done: Done | None = None,
            stop: Stop | None = None) -> Outcome:
        """Check `hosts`; the results of those that finished, and whether all did."""
        ...
