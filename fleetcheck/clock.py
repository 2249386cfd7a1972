"""The one clock of a run: UTC for every time fleetcheck writes, monotonic for how long.

Every time a run records (started_at, finished_at, run ids and report names, first_seen,
the history's days) is UTC, and "today" — the date waivers and rule reviews are judged on,
unless --today says otherwise — is the UTC date of the run's start, whatever the time zone
of the machine: the same day for every runner of a fleet, and the day its started_at shows.
A run reads the wall clock once, at its start; its finish is that start plus the time the
monotonic clock measured, so a clock stepped back during a run (NTP, a resumed virtual
machine) never makes it end before it began.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import field

from fleetcheck.frozen import frozen

# A date written by hand in any time zone is at most this much after the UTC date (no zone
# is a whole day ahead of UTC: UTC+14 at most): the slack before such a date is "future".
LOCAL_AHEAD = dt.timedelta(days=1)


def iso(when: dt.datetime) -> str:
    """A time as fleetcheck writes it: UTC, whole seconds, 'YYYY-MM-DDTHH:MM:SSZ'."""
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def now_iso() -> str:
    """The current time, as fleetcheck writes times."""
    return iso(dt.datetime.now(dt.UTC))


def today() -> dt.date:
    """Today's date in UTC (not the machine's time zone's)."""
    return dt.datetime.now(dt.UTC).date()


@frozen
class Start:
    """The moment a run starts: the wall clock (UTC) read once, and the monotonic clock."""

    wall: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    mono: float = field(default_factory=time.monotonic)

    @property
    def iso(self) -> str:
        """The start, as fleetcheck writes times."""
        return iso(self.wall)

    @property
    def today(self) -> dt.date:
        """The run's date: the UTC date of its start."""
        return self.wall.astimezone(dt.UTC).date()

    def later_iso(self) -> str:
        """Now, as the start plus the monotonic time since (never before the start)."""
        return iso(self.wall + dt.timedelta(seconds=max(0.0, time.monotonic() - self.mono)))
