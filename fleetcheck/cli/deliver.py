"""The last steps of a finished run, the same for `scan` (every engine) and `merge`.

Both compare the run with history and record it (`history_setup.ScanHistory`: apply,
then finish) before `deliver`, so every report shows the changes and what became of the
history entry; a history failure never changes the verdict.
"""

from __future__ import annotations

import argparse

from fleetcheck.cli.destinations import Destinations
from fleetcheck.cli.env import Env
from fleetcheck.cli.output import final_status, send_reports
from fleetcheck.model import RunResult


def deliver(run: RunResult, dest: Destinations, env: Env, args: argparse.Namespace) -> int:
    """A finished run's last steps, the same for scan and merge: every report where `dest`
    says (the directory with its latest names, files named per format, the CI page, stdout:
    the summary or one format); the exit code (`output.final_status`)."""
    written = send_reports(run, dest, env, color=getattr(args, "color", "auto"),
                           quiet=getattr(args, "quiet", False),
                           full=getattr(args, "all_hosts", False))
    return final_status(run, env, written)
