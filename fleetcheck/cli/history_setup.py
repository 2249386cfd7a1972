"""History as `scan` uses it: where the database is, what the run is compared with, and
recording it without ever changing the verdict.

A history failure (a database from a newer fleetcheck, a corrupt or locked file, a full
disk) is one line on stderr naming the file and a warning in every report; the run's
reports are written and its exit code is what its findings decide.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from fleetcheck.cli.argtypes import count, seconds
from fleetcheck.cli.env import Env
from fleetcheck.cli.runfile import read_run
from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen, replace
from fleetcheck.history import (
    DEFAULT_KEEP_DAYS,
    DEFAULT_TIMEOUT,
    History,
    HistoryError,
    HostPast,
    compare,
    default_path,
    pasts_from_run,
)
from fleetcheck.model import Comparison, HistoryNote, HostResult, RunResult, Severity

LATEST = "latest"


@frozen
class HistorySettings:
    """Where the database is (None: history off), how long to wait for it, what to keep."""

    database: Path | None
    timeout: float = DEFAULT_TIMEOUT
    keep_days: int | None = DEFAULT_KEEP_DAYS  # None: keep every run's details


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """--history-db and --history-timeout: which database, how long to wait for it."""
    parser.add_argument("--history-db", metavar="FILE",
                        help="the history database (default: fleetcheck-history.sqlite3 in "
                             "the report directory)")
    parser.add_argument("--history-timeout", type=seconds, default=DEFAULT_TIMEOUT,
                        metavar="SECONDS",
                        help="how long to wait for another run holding the database "
                             f"(default: {DEFAULT_TIMEOUT:g})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The history options of `scan`."""
    g = parser.add_argument_group("history")
    add_database_arguments(g)  # type: ignore[arg-type]
    g.add_argument("--no-history", action="store_true",
                   help="do not compare with or record into the history database")
    g.add_argument("--history-keep-days", type=count, default=DEFAULT_KEEP_DAYS, metavar="N",
                   help=f"keep run details N days (default: {DEFAULT_KEEP_DAYS}; 0: for "
                        "ever); daily totals are always kept")
    g.add_argument("--baseline", metavar="RUN.json|latest",
                   help="compare with this saved run instead of each host's previous run "
                        "in the history database ('latest': the database)")
    g.add_argument("--fail-on-new", action="store_true",
                   help="exit 1 only for violations new or reopened since the baseline "
                        "(default baseline: latest)")


def history_settings(args: argparse.Namespace, env: Env, report_dir: Path | None
                     ) -> HistorySettings:
    """The history settings the command line asks for: the one place defaults are decided.
    The database lives in the report directory unless --history-db names it; a run that
    writes no report directory keeps no history unless --history-db is given."""
    if getattr(args, "no_history", False):
        return HistorySettings(None)
    timeout = args.history_timeout
    if timeout is None or timeout < 0:
        raise InputError("--history-timeout must be 0 or more seconds")
    keep = getattr(args, "history_keep_days", DEFAULT_KEEP_DAYS)
    if keep is not None and keep < 0:
        raise InputError("--history-keep-days must be 0 (keep for ever) or more")
    if args.history_db == "-":  # '-' is stdout for every -o; a database is no stream
        raise InputError("--history-db -: a history database is a file, not standard output")
    if args.history_db:
        database = env.path(args.history_db)
    elif report_dir is not None:
        database = default_path(report_dir)
    else:  # no report directory (-o -, or only --report destinations): nowhere to keep it
        return HistorySettings(None)
    return HistorySettings(database, timeout, keep or None)


def warn(env: Env, error: HistoryError) -> None:
    """The one line a history failure prints."""
    env.stderr.write(f"fleetcheck: error: {error.path}: history not recorded: "
                     f"{error.reason}\n")


class ScanHistory:
    """One scan's history: the database (if any), the baseline, and what became of them."""

    def __init__(self, settings: HistorySettings, env: Env, *, gate: str = "all",
                 baseline: tuple[str, RunResult] | None = None, shard: bool = False) -> None:
        self.settings = settings
        self.env = env
        self.gate = gate
        self.shard = shard
        self.db: History | None = None
        self.error: HistoryError | None = None
        self.baseline: tuple[dict[str, str], dict[str, HostPast]] | None = None
        if baseline is not None:
            name, run = baseline
            past = pasts_from_run(run.hosts, run.started_at, run.changes.fixed if run.changes
                                  else (), run.changes.unverified if run.changes else ())
            self.baseline = ({"source": "run", "path": name, "run_id": run.run_id}, past)
        # A shard only reads the history (its merge records the run): where there is none
        # yet, it compares as with an empty one rather than leave an empty database behind.
        self.none_yet = shard and settings.database is not None and \
            not settings.database.exists()
        if settings.database is not None and not self.none_yet:
            try:
                self.db = History(settings.database, settings.timeout)
            except HistoryError as exc:
                self._failed(exc)

    @classmethod
    def start(cls, args: argparse.Namespace, env: Env, report_dir: Path | None) -> ScanHistory:
        """From `scan`'s arguments; InputError (before any host is contacted) for a bad
        combination or an unreadable baseline file."""
        return cls.checked(args, env, report_dir)()

    @classmethod
    def checked(cls, args: argparse.Namespace, env: Env, report_dir: Path | None, *,
                shard: bool = False) -> Callable[[], ScanHistory]:
        """The arguments checked and the baseline file read now (InputError for either, so
        a scan can say it before it prompts for a password); the database is opened when
        the returned function is called, once the report directory exists."""
        settings = history_settings(args, env, report_dir)
        baseline = args.baseline or (LATEST if args.fail_on_new else None)
        if baseline == LATEST and settings.database is None:
            # name what actually left the run without a database: -o - never said --no-history
            why = ("which --no-history turns off (give" if getattr(args, "no_history", False)
                   else "and a run that writes no report directory keeps none (give "
                   "--history-db FILE, or")
            raise InputError(f"--baseline {LATEST} compares with the history database, {why} "
                             "--baseline RUN.json)")
        saved = (baseline, read_run(baseline, env)) if baseline not in (None, LATEST) else None
        return lambda: cls(settings, env, gate="new" if args.fail_on_new else "all",
                           baseline=saved, shard=shard)

    def _failed(self, exc: HistoryError) -> None:
        if self.error is None:
            warn(self.env, exc)
        self.error = exc
        if self.db is not None:
            self.db.close()
            self.db = None

    def compare(self, hosts: Sequence[HostResult], now: str) -> Comparison:
        """The hosts compared with the baseline (a file) or their previous checked runs."""
        found: Comparison | None = None
        if self.db is not None:
            try:
                found = self.db.compare(hosts, now)
            except HistoryError as exc:
                self._failed(exc)
        elif self.none_yet:
            found = replace(compare(hosts, {}, now, against={
                "source": "history", "database": str(self.settings.database)}), trend=())
        if self.baseline is not None:
            against, pasts = self.baseline
            by_file = compare(hosts, pasts, now, against)
            return replace(by_file, trend=found.trend if found else None)
        return found or Comparison(tuple(hosts), None)

    def apply(self, run: RunResult) -> RunResult:
        """`run` with every host compared (`compare`), its changes and trend, and judged
        again so that the gate (--fail-on-new) decides the exit code from the changes."""
        comparison = self.compare(run.hosts, run.started_at)
        hosts, summary = judge_run(comparison.hosts, Severity.parse(run.summary.fail_on),
                                   complete=run.summary.complete, gate=self.gate)
        out = replace(run, hosts=hosts, summary=summary, changes=comparison.changes)
        if comparison.trend is None:
            return out
        return replace(out, trend=(*comparison.trend, out.trend_point()))

    def finish(self, run: RunResult) -> RunResult:
        """Record `run` (when the database is usable) and say in it what became of that.
        A shard records nothing: the run its merge makes is the one history entry."""
        database = str(self.settings.database) if self.settings.database else None
        if self.shard:
            return replace(run, history=HistoryNote("off"))
        if self.db is not None:
            try:
                self.db.record(run, keep_days=self.settings.keep_days)
            except HistoryError as exc:
                self._failed(exc)
        if database is None:
            return replace(run, history=HistoryNote("off"))
        if self.error is None:
            return replace(run, history=HistoryNote("recorded", database))
        sentence = f"History was not recorded: {self.error.path}: {self.error.reason}."
        return replace(
            run, history=HistoryNote("failed", database, self.error.reason),
            meta={**run.meta, "warnings": [*run.meta.get("warnings", ()), sentence]})

    def __enter__(self) -> ScanHistory:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
