"""Views of the run last rendered, arranged once for every format a scan writes of it.

A scan renders text, HTML and Markdown from one RunResult, and each asks for the same
finding rows, host order, listener standings, fleet view and groups; at fleet scale
arranging them again costs each format tens of milliseconds. The views are kept for the
last run object only, keyed on its identity (`is`), as `jsonout` keeps its JSON text: the
run is held, so its id cannot be reused by another, and a RunResult is not changed once
judged, so a view of it never goes stale. Whoever returns a cached list hands out a copy
(or a tuple): no caller can change what the next format reads.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from fleetcheck.model import CommandRecord, HostResult, RunResult
from fleetcheck.sanitize import scrub_lines

T = TypeVar("T")
# Per-host views kept at most: a few per host of the largest fleets, and a bound for a
# process that asks about hosts of many runs without rendering any run whole.
_HOST_VIEWS_MAX = 200_000

# (run, its views by key). Replaced whole (one assignment), never edited in place for
# another run, so a reader holding the old pair keeps a consistent one.
_LAST: list[tuple[RunResult | None, dict[Hashable, Any]]] = [(None, {})]


def _views(run: RunResult | None) -> dict[Hashable, Any]:
    """The views of `run`, a fresh table when it is not the run last seen."""
    last_run, views = _LAST[0]
    if last_run is not run:
        views = {}
        _LAST[0] = (run, views)
    return views


def of_run(run: RunResult, key: Hashable, make: Callable[[], T]) -> T:
    """The view `key` of `run`, made by `make()` the first time it is asked for."""
    views = _views(run)
    try:
        found: T = views[key]
    except KeyError:
        found = views[key] = make()
    return found


def of_host(host: HostResult, key: Hashable, make: Callable[[], T]) -> T:
    """The view `key` of `host` (a host of the run last seen, or of a copy of it that kept
    the host), made by `make()` the first time it is asked for."""
    views = _LAST[0][1]
    slot = (key, id(host))
    held = views.get(slot)
    if held is not None and held[0] is host:  # the host itself is held: ids stay unique
        found: T = held[1]
        return found
    found = make()
    if len(views) >= _HOST_VIEWS_MAX:  # hosts of runs never rendered whole: start afresh
        views = {}
        _LAST[0] = (None, views)
    views[slot] = (host, found)
    return found


def scrubbed(run: RunResult) -> RunResult:
    """`scrub_lines(run)` (every string made safe for a terminal, and one line but the
    commands' output), worked out once per run: the text report and the summary both ask,
    and a clean run's answer is the run itself."""
    return of_run(run, "scrubbed", lambda: scrub_lines(run, CommandRecord))
