"""The console entry point: fleetcheck loaded with the garbage collector paused, then run."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import warnings
from typing import NoReturn

# A run keeps what it makes (each host's result, the reports' parts) and makes few reference
# cycles, so the collector's default (a young collection every 700 allocations, ~200 per
# 1,000 hosts, each walking objects that are still alive) is mostly wasted work: ~3.5% of a
# run's CPU at 1,000 hosts, against ~1.5% with this (12 collections), and 5 MiB more peak RSS.
YOUNG_THRESHOLD = 20_000


def entry() -> None:
    """Load the command line and run it (`fleetcheck` and `python -m fleetcheck`).

    Loading makes a great many objects and no garbage, so the cyclic collector only costs
    time there (a full collection of a few hundred thousand objects, every run); what it
    made lives as long as the process, so it is frozen: later collections skip it. Then
    young collections are made rarer (see YOUNG_THRESHOLD). Python's own warnings (a
    library's deprecation, `re`'s hint on a user's pattern) are not printed unless asked for
    with -W or PYTHONWARNINGS: they name fleetcheck's source lines, not the user's input.
    SIGTERM and SIGHUP end any command as Ctrl-C does, from the start (`interrupts`); one
    arriving while fleetcheck loads ends it as one arriving later would (exit 130). A
    standard descriptor that was closed is first opened on /dev/null (`claim_standard_fds`)."""
    closed = claim_standard_fds()
    try:
        from fleetcheck.engine.interrupts import RAISED, stop_signals_interrupt

        stop_signals_interrupt()
    except KeyboardInterrupt:  # a Ctrl-C before fleetcheck's own handler was set
        _loading_cut()
    if not sys.warnoptions:
        warnings.simplefilter("ignore")
    gc.disable()
    try:
        from fleetcheck.cli.main import main
    except KeyboardInterrupt:
        _loading_cut()
    finally:
        gc.enable()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    from fleetcheck.cli.env import closed_at_start

    closed_at_start(closed)
    status = main()
    # The status is decided (the verdict's): a signal now, while Python shuts down (which
    # puts its default handlers back), must not turn it into a death by that signal.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    _exit(status, interrupted=RAISED.is_set())


def claim_standard_fds() -> frozenset[int]:
    """Open /dev/null on each standard descriptor (0, 1, 2) that is closed; returns those.

    A closed stdout's number is otherwise the next file opened (a report, the history
    database), and whatever is printed lands in it. The interpreter saw them closed and
    left `sys.stdin`/`sys.stdout`/`sys.stderr` None: they become /dev/null streams, and the
    command's own streams say the write failed (`env.closed_at_start`). Nothing of
    fleetcheck is loaded here: the signal handlers come first (see `entry`).
    """
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is None:
            closed.add(fd)
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))  # noqa: SIM115
    return frozenset(closed)


INTERRUPTED = 130  # ExitStatus.INTERRUPTED, not imported here: loading may be what was cut


def _exit(status: int, *, interrupted: bool) -> NoReturn:
    """End the process with `status`. After an interrupt, directly once the standard streams
    are flushed: CPython (3.11) counts a KeyboardInterrupt that passed through code run by
    exec() (dataclasses make their methods so) as never caught, even when it was, and then
    ends `python -m fleetcheck` by SIGINT whatever the status; the status is the verdict."""
    if not interrupted:
        # Everything left is freed as Python shuts down, and the collections it makes there
        # would walk all of it once more first (~0.1 s of CPU after a 300-host scan, more
        # than the hosts' history): frozen, they skip it. Nothing is left unfinished by
        # this: files, the database and the reports were closed by the command itself.
        gc.freeze()
        sys.exit(status)
    import logging  # here: loaded before the signal handlers are set, it would delay them

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


def _loading_cut() -> NoReturn:
    """A signal while fleetcheck loads: said as one arriving later is (exit 130)."""
    sys.stderr.write("fleetcheck: interrupted\n")
    _exit(INTERRUPTED, interrupted=True)
