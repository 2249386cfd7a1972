"""THE call site where a finished run is recorded in the history database.

`scan` (every engine, celery included) and `merge` call `record_history` once their
reports are written. fleetcheck/history/ (the SQLite history) is being built in
parallel; wiring it in is this function's body and nothing else: it must never change
a run's exit code (a failed history write is reported on stderr, the verdict stands).
"""

from __future__ import annotations

import argparse

from fleetcheck.cli.env import Env
from fleetcheck.model import RunResult


def record_history(run: RunResult, env: Env, args: argparse.Namespace) -> None:
    """Record `run` in the history database. Does nothing yet: the history is wired here."""
    del run, env, args
