"""How many hosts this process can check at once within its open files limit (`ulimit -n`).

Each host being checked holds a few descriptors (its SSH socket, a local command's pipes);
the run itself holds some more (the history database and its journal, report files, the
files it reads). Past the limit a connection fails with EMFILE and the host is lost to a
limit of this machine, so the run asks for no more hosts at once than fit.
"""

from __future__ import annotations

import os
import resource

FDS_PER_HOST = 4  # an SSH socket, or a local command's three pipes; and one to spare
RESERVE = 24  # the run's own: history database, journal, reports, inputs, /dev/null


def open_now() -> int:
    """Descriptors this process holds now (3 when /proc cannot say)."""
    try:
        return len(os.listdir("/proc/self/fd")) - 1  # the listing's own descriptor
    except OSError:
        return 3


def forks_within_limit(forks: int) -> tuple[int, str | None]:
    """`forks`, or fewer (at least 1) when the open files limit cannot hold that many hosts
    at once, with a warning saying so."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return forks, None
    fits = max(1, (soft - open_now() - RESERVE) // FDS_PER_HOST)
    if fits >= forks:
        return forks, None
    return fits, (f"open files are limited to {soft} (ulimit -n): checking {fits} "
                  f"host{'s' if fits != 1 else ''} at a time instead of {forks}")
