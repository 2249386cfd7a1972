"""THE call site where a finished run is recorded in the history database.

`scan` (every engine, celery included) and `merge` end through `deliver`, which calls
`record_history` once the reports are written. fleetcheck/history/ (the SQLite history)
is being built in parallel; wiring it in is `record_history`'s body and nothing else: it
must never change a run's exit code (a failed history write is reported on stderr, the
verdict stands).
"""

from __future__ import annotations

import argparse

from fleetcheck.cli.destinations import Destinations
from fleetcheck.cli.env import Env
from fleetcheck.cli.output import final_status, send_reports
from fleetcheck.model import RunResult


def record_history(run: RunResult, env: Env, args: argparse.Namespace) -> None:
    """Record `run` in the history database. Does nothing yet: the history is wired here."""
    del run, env, args


def deliver(run: RunResult, dest: Destinations, env: Env, args: argparse.Namespace) -> int:
    """A finished run's last steps, the same for scan and merge: every report where `dest`
    says (the directory with its latest names, files named per format, the CI page, stdout:
    the summary or one format), the history entry; the exit code (`output.final_status`)."""
    written = send_reports(run, dest, env, color=getattr(args, "color", "auto"),
                           quiet=getattr(args, "quiet", False),
                           full=getattr(args, "all_hosts", False))
    record_history(run, env, args)
    return final_status(run, env, written)
