"""`fleetcheck history`: the runs recorded, one host's timeline, pruning and importing."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any

from fleetcheck.cli import history_setup
from fleetcheck.cli.argtypes import count, seconds
from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env, write_data
from fleetcheck.cli.output import terminal_width
from fleetcheck.cli.runfile import load_run, read_run_text
from fleetcheck.clock import now_iso
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.frozen import replace
from fleetcheck.history import DEFAULT_KEEP_DAYS, DEFAULT_TIMEOUT, History, HistoryError, query
from fleetcheck.history.compare import utc
from fleetcheck.history.db import failures
from fleetcheck.history.identity import FINDING
from fleetcheck.model import RunResult
from fleetcheck.render.changes_view import day
from fleetcheck.render.textfit import table
from fleetcheck.sanitize import scrub_lines
from fleetcheck.words import plural

LAST_RUNS = 30  # runs listed without --since or --last


def _database_arguments(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    """Which database: -o DIR (the report directory a scan used) or --history-db FILE.

    On an action's own parser the defaults are suppressed, so they never hide the values
    given before the action's name.
    """
    quiet = {"default": argparse.SUPPRESS} if sub else {}
    parser.add_argument("-o", "--output-dir", metavar="DIR", **quiet,  # type: ignore[arg-type]
                        help="the report directory whose database to read (default: output_dir "
                             "of fleetcheck.yml, else reports/)")
    parser.add_argument("--history-db", metavar="FILE", **quiet,  # type: ignore[arg-type]
                        help="the history database (default: fleetcheck-history.sqlite3 in "
                             "the report directory)")
    parser.add_argument("--history-timeout", type=seconds, metavar="SECONDS",
                        default=argparse.SUPPRESS if sub else DEFAULT_TIMEOUT,
                        help="how long to wait for a run holding the database")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `history` and its actions `prune` and `import`."""
    _database_arguments(parser, sub=False)
    parser.add_argument("--host", metavar="HOST", help="the timeline of one host")
    parser.add_argument("--since", metavar="DATE",
                        help="only runs and changes from this date (YYYY-MM-DD or ISO time)")
    parser.add_argument("--last", type=count, metavar="N",
                        help=f"the last N runs (default: {LAST_RUNS} without --since)")
    parser.add_argument("--daily", action="store_true",
                        help="daily totals (kept for ever) instead of runs")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text (default) or json")
    actions = parser.add_subparsers(dest="action", metavar="ACTION",
                                    parser_class=type(parser))
    prune = actions.add_parser("prune", help="drop run details older than N days",
                               description="drop run details older than N days; daily "
                               "totals, open findings and first sightings stay")
    prune.add_argument("--keep-days", type=count, required=True, metavar="N",
                       help=f"keep the last N days of run details (scans keep "
                            f"{DEFAULT_KEEP_DAYS} by default)")
    _database_arguments(prune, sub=True)
    imp = actions.add_parser("import", help="record saved runs (RUN.json files) into the "
                             "database", description="record saved runs, oldest first; runs "
                             "already recorded are skipped")
    imp.add_argument("runs", nargs="+", metavar="RUN.json")
    _database_arguments(imp, sub=True)


def _since(value: str | None) -> str | None:
    """--since as the database writes times; InputError for anything else."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value).isoformat() + "T00:00:00Z"
        return utc(value)
    except ValueError:
        raise InputError(f"--since: {value!r} is not a date (YYYY-MM-DD) or ISO time") from None


def run(args: argparse.Namespace, env: Env) -> int:
    """Dispatch to the listing, timeline, prune or import."""
    settings = history_setup.history_settings(args, env,
                                              env.path(args.output_dir or "reports"))
    assert settings.database is not None
    if args.action == "import":
        return _import(args, env, settings)
    try:
        # Pruning a database that is not there is a mistyped path, not a success: like
        # reading, it never creates one (a scan or `history import` does).
        with History(settings.database, settings.timeout, create=False) as db, \
                failures(settings.database, settings.timeout):  # a table gone, a bad value
            if args.action == "prune":
                return _prune(args, env, db)
            if args.host:
                return _timeline(args, env, db)
            return _listing(args, env, db)
    except HistoryError as exc:
        raise InputError(exc.reason, exc.path) from None


def _emit(env: Env, args: argparse.Namespace, data: Any, text: list[str]) -> int:
    if args.format == "json":
        write_data(env, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        env.stdout.write("\n".join(text) + "\n")
    return ExitStatus.OK


def _listing(args: argparse.Namespace, env: Env, db: History) -> int:
    since, width = _since(args.since), terminal_width(env)
    if args.daily:
        rows = query.days(db.conn, since)
        return _emit(env, args, [r.to_dict() for r in rows], [
            f"{db.path}: daily totals ({plural(len(rows), 'day')})",
            table([[r.day, r.runs, r.hosts, r.checked, r.unchecked, r.violations, r.open_total,
                    r.new, r.reopened, r.fixed] for r in rows],
                  ["DAY", "RUNS", "HOSTS", "CHECKED", "UNCHECKED", "VIOLATIONS", "OPEN",
                   "NEW", "REOPENED", "FIXED"], width) if rows else "none"])
    if args.last is not None and args.last < 1:
        raise InputError("--last must be at least 1")
    last = args.last if args.last is not None else (None if since else LAST_RUNS)
    runs = query.runs(db.conn, since, last)
    return _emit(env, args, [r.to_dict() for r in runs], [
        f"{db.path}: {plural(len(runs), 'run')}" + (f" since {since}" if since else ""),
        table([[r.run_id, r.started_at, r.hosts, r.unchecked, r.violations, r.new,
                r.reopened, r.fixed, r.unverified, r.flapping, r.exit_code,
                "" if r.complete else "interrupted"] for r in runs],
              ["RUN", "STARTED", "HOSTS", "UNCHK", "VIOL", "NEW", "REOP", "FIXED", "UNVER",
               "FLAP", "EXIT", "NOTE"], width)
        if runs else "none"])


def _timeline(args: argparse.Namespace, env: Env, db: History) -> int:
    line = query.timeline(db.conn, args.host, _since(args.since))
    if line is None:
        raise InputError(f"no host {args.host!r} in this history", str(db.path))
    width = terminal_width(env)
    data = {"host": line.host, "checks": line.checks, "last_checked_at": line.last_checked_at,
            "last_checked_run": line.last_checked_run,
            "open": [{**o.key._asdict(), "first_seen": o.first_seen, "opened_at": o.opened_at,
                      "opens": o.opens, "flaps": o.flaps, "finding": o.finding}
                     for o in line.open],
            "runs": [dataclasses.asdict(r) for r in line.runs],
            "events": [{"at": e.at, "what": e.what, **e.key._asdict(), "finding": e.finding}
                       for e in line.events]}
    line = scrub_lines(line)  # names and processes came from hosts: one inert line each
    findings = [o for o in line.open if o.key.category == FINDING]
    text = [f"{line.host}: checked {plural(line.checks, 'time')}, last "
            f"{line.last_checked_at or 'never'} ({line.last_checked_run or '-'})",
            "", f"Open findings ({len(findings)})",
            table([[o.key.kind, f"{o.key.proto}/{o.key.port if o.key.port >= 0 else 'any'}",
                    o.key.address, o.key.process, day(o.first_seen), day(o.opened_at),
                    o.flaps] for o in findings],
                  ["KIND", "PORT", "ADDRESS", "PROCESS", "FIRST SEEN", "OPEN SINCE", "FLAPS"],
                  width) if findings else "  none",
            "", f"Runs ({len(line.runs)})",
            table([[r.started_at, r.run_id, r.status + (f" ({r.error_kind})" if r.error_kind
                                                        else ""),
                    r.violations, r.new, r.reopened, r.fixed] for r in line.runs],
                  ["STARTED", "RUN", "STATUS", "VIOLATIONS", "NEW", "REOPENED", "FIXED"],
                  width) if line.runs else "  none",
            "", f"Changes ({len(line.events)})",
            table([[e.at, e.what, e.key.category, e.text] for e in line.events],
                  ["AT", "WHAT", "OF", "IDENTITY"], width, flex=(3,))
            if line.events else "  none"]
    return _emit(env, args, data, text)


def _prune(args: argparse.Namespace, env: Env, db: History) -> int:
    if args.keep_days < 0:
        raise InputError("--keep-days must be 0 or more")
    pruned = db.prune(args.keep_days, now_iso())
    env.stdout.write(f"{db.path}: pruned {plural(pruned.runs, 'run')} and "
                     f"{plural(pruned.host_runs, 'host record')} started before "
                     f"{pruned.cutoff}, and {plural(pruned.spans, 'interval')} closed before "
                     "it; daily totals kept\n")
    return ExitStatus.OK


def _import(args: argparse.Namespace, env: Env,
            settings: history_setup.HistorySettings) -> int:
    """Record saved runs oldest first; every file is read (and must be valid) before any."""
    assert settings.database is not None
    loaded: list[RunResult] = []
    for name in args.runs:
        text = read_run_text(name, env)  # bounded, and a FIFO nobody writes is no hang
        run = load_run(text, name)
        if not run.run_id:  # a run from before run ids: named by its start and its bytes
            digest = hashlib.sha256(text.encode()).hexdigest()[:8]
            run = replace(run, run_id=f"{utc(run.started_at)}-{digest}")
        loaded.append(run)
    loaded.sort(key=lambda r: (utc(r.started_at), r.run_id))
    try:
        with History(settings.database, settings.timeout) as db:
            for run in loaded:
                added = db.add(run)
                if added is None:
                    env.stdout.write(f"{run.run_id}: already recorded, skipped\n")
                    continue
                c = added.changes
                assert c is not None
                env.stdout.write(f"{run.run_id}: recorded {plural(len(run.hosts), 'host')}: "
                                 f"{c.new} new, "
                                 f"{c.reopened} reopened, {len(c.fixed)} fixed, "
                                 f"{len(c.unverified)} not verified\n")
    except HistoryError as exc:
        raise InputError(exc.reason, exc.path) from None
    return ExitStatus.OK


COMMAND = Command("history", "runs recorded in the history database, a host's timeline, "
                  "prune and import", add_arguments, run)
