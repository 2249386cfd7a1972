"""THE call site where a finished run is recorded in the history database.

`scan` (every engine, celery included) and `merge` end through `deliver`, which calls
`record_history` once the reports are written. fleetcheck/history/ (the SQLite history)
is being built in parallel; wiring it in is `record_history`'s body and nothing else: it
must never change a run's exit code (a failed history write is reported on stderr, the
verdict stands).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from fleetcheck.cli.env import Env
from fleetcheck.cli.output import final_status, print_report, stdout_format, write_and_list
from fleetcheck.model import RunResult


def record_history(run: RunResult, env: Env, args: argparse.Namespace) -> None:
    """Record `run` in the history database. Does nothing yet: the history is wired here."""
    del run, env, args


def deliver(run: RunResult, formats: Sequence[str], outdir: Path, env: Env,
            args: argparse.Namespace) -> int:
    """A finished run's last steps, the same for scan and merge: report files, stdout, the
    history entry; the exit code (see `output.final_status`)."""
    written = write_and_list(run, formats, outdir, env)
    print_report(run, stdout_format(formats), env, written.paths)
    record_history(run, env, args)
    return final_status(run, env, written)
