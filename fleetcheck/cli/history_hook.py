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
from fleetcheck.cli.output import (
    final_status,
    print_report,
    print_summary,
    stdout_format,
    write_and_list,
)
from fleetcheck.model import RunResult
from fleetcheck.render.write import Written


def record_history(run: RunResult, env: Env, args: argparse.Namespace) -> None:
    """Record `run` in the history database. Does nothing yet: the history is wired here."""
    del run, env, args


def deliver(run: RunResult, formats: Sequence[str], outdir: Path, env: Env,
            args: argparse.Namespace) -> int:
    """A finished run's last steps, the same for scan and merge: report files, stdout (the
    summary, one pipeable format, or with `-o -` the one format asked for), the history
    entry; the exit code (see `output.final_status`)."""
    color, quiet = getattr(args, "color", "auto"), getattr(args, "quiet", False)
    if getattr(args, "output_dir", None) == "-":
        written = Written()
        print_report(run, formats[0], env, color=color)
    else:
        shown = stdout_format(formats)
        written = write_and_list(run, formats, outdir, env, listed=shown != "summary")
        if shown == "summary":
            print_summary(run, env, written.paths, color=color, quiet=quiet)
        else:
            print_report(run, shown, env, written.paths)
    record_history(run, env, args)
    return final_status(run, env, written)
