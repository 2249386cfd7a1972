"""How many hosts this process can check at once within its limits: open files (`ulimit -n`)
and address space (`ulimit -v`).

Each host being checked holds a few descriptors (its SSH socket, a local command's pipes)
and two threads (the worker's and its SSH transport's), each with a stack as large as
`ulimit -s` and room for its allocations; the run itself holds some more of both. Past a
limit a connection fails with EMFILE, or a thread, a lazy import or an allocation fails,
and the host is lost to this machine's limits: so the run asks for no more hosts at once
than fit.
"""

from __future__ import annotations

import os
import resource

FDS_PER_HOST = 4  # an SSH socket, or a local command's three pipes; and one to spare
RESERVE = 24  # the run's own: history database, journal, reports, inputs, /dev/null
MIB = 1 << 20
THREADS_PER_HOST = 2  # the worker's and its SSH transport's
HEAP_PER_HOST = 16 * MIB  # a host's own allocations (buffers, output, its malloc arena)
MEMORY_RESERVE = 160 * MIB  # the run's own: results, reports, history, libraries loaded late
DEFAULT_STACK = 8 * MIB  # a thread's stack when `ulimit -s` says unlimited (glibc)


def open_now() -> int:
    """Descriptors this process holds now (3 when /proc cannot say)."""
    try:
        return len(os.listdir("/proc/self/fd")) - 1  # the listing's own descriptor
    except OSError:
        return 3


def _mapped_now() -> int:
    """Bytes of address space this process has mapped (0 when /proc cannot say)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _by_files() -> tuple[int, str] | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(1, (soft - open_now() - RESERVE) // FDS_PER_HOST), \
        f"open files are limited to {soft} (ulimit -n)"


M_ARENA_MAX = -8  # glibc's mallopt() parameter
ARENAS_UNDER_A_LIMIT = 2


def fewer_malloc_arenas() -> None:
    """Under an address space limit, let glibc's malloc keep 2 arenas, not 8 per core.

    Each thread that allocates may get an arena of its own, 64 MiB of address space each:
    sixteen of them take 1 GiB of a `ulimit -v` before a host's first byte. Threads take
    turns holding the interpreter lock, so sharing arenas costs nothing here. Elsewhere
    (another C library) nothing is changed; nor without a limit."""
    if resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:
        return
    import ctypes  # here: only a run under an address space limit needs it (a few ms to load)

    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_ARENA_MAX, ARENAS_UNDER_A_LIMIT)


def _by_memory() -> tuple[int, str] | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    fewer_malloc_arenas()
    stack, _ = resource.getrlimit(resource.RLIMIT_STACK)
    stack = DEFAULT_STACK if stack == resource.RLIM_INFINITY else stack
    per_host = THREADS_PER_HOST * stack + HEAP_PER_HOST
    spare = soft - _mapped_now() - MEMORY_RESERVE
    return max(1, spare // per_host), f"address space is limited to {soft // MIB} MiB " \
        "(ulimit -v)"


def forks_within_limit(forks: int) -> tuple[int, str | None]:
    """`forks`, or fewer (at least 1) when this process's limits cannot hold that many
    hosts at once, with a warning saying which limit and how many."""
    tightest = min((b for b in (_by_files(), _by_memory()) if b is not None),
                   default=None, key=lambda b: b[0])
    if tightest is None or tightest[0] >= forks:
        return forks, None
    fits, why = tightest
    return fits, (f"{why}: checking {fits} host{'s' if fits != 1 else ''} at a time "
                  f"instead of {forks}")
