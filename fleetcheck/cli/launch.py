"""The console entry point: fleetcheck loaded with the garbage collector paused, then run."""

from __future__ import annotations

import gc


def entry() -> None:
    """Load the command line and run it (`fleetcheck` and `python -m fleetcheck`).

    Loading makes a great many objects and no garbage, so the cyclic collector only costs
    time there (a full collection of a few hundred thousand objects, every run); what it
    made lives as long as the process, so it is frozen: later collections skip it."""
    gc.disable()
    try:
        from fleetcheck.cli.main import entry as run
    finally:
        gc.enable()
    gc.freeze()
    run()
