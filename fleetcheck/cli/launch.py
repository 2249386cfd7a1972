"""The console entry point: fleetcheck loaded with the garbage collector paused, then run."""

from __future__ import annotations

import gc
import sys
import warnings

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
    arriving while fleetcheck loads ends it as one arriving later would (exit 130)."""
    from fleetcheck.engine.interrupts import stop_signals_interrupt

    stop_signals_interrupt()
    if not sys.warnoptions:
        warnings.simplefilter("ignore")
    gc.disable()
    try:
        from fleetcheck.cli.main import entry as run
    except KeyboardInterrupt:
        sys.stderr.write("fleetcheck: interrupted\n")
        sys.exit(130)  # ExitStatus.INTERRUPTED, not imported: loading is what was cut
    finally:
        gc.enable()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    run()
