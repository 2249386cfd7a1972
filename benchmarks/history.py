"""History at scale: a year of nightly runs of a large fleet with ~1 % churn a night.

Run from the repository root: `PYTHONPATH=. python benchmarks/history.py` (365 nights of
10,000 hosts; `--hosts 500 --nights 30` for a quick look). The fleet is the render
benchmark's synthetic one (realistic listeners and findings judged by the real policies);
each night about `--churn` of the hosts change: a stray opens (new, or reopened when it
was open before), one closes (fixed), a daemon restarts with a new PID (persisting), or the
host is unreachable for the night (unverified). Each night is recorded exactly as `scan`
records it, into a real database file, keeping `--keep-days` of run details.

Prints, per sampled night and over all nights: the queries a report needs (each host's
past and the trend: `compare`), recording the run (`record`, commit included), and
`fleetcheck history --host` (the query alone, and the whole command in-process); then
the database's size and rows. Targets: database <= 300 MB, recording <= 3 s, the report's
queries <= 1 s, `history --host` <= 100 ms.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import print_table
from fleetcheck.cli.env import Env
from fleetcheck.cli.main import main as cli_main
from fleetcheck.engine.summary import judge_run, not_run_error
from fleetcheck.history import History, query
from fleetcheck.model import (
    Finding,
    FindingKind,
    HostResult,
    JudgedListener,
    Listener,
    RunResult,
    Severity,
    Status,
    Verdict,
)
from tests.render.synthetic import synthetic_run

EXTRA_PORTS = tuple(range(9100, 9110))  # strays that come and go


def _stray(host: str, port: int, pid: int) -> tuple[JudgedListener, Finding]:
    li = Listener("tcp", 4, "0.0.0.0", port, "extrad", pid, "app")
    fid = "FC-" + hashlib.sha256(f"{host}/{port}".encode()).hexdigest()[:12]
    return (JudgedListener(li, Verdict.STRAY, None),
            Finding(fid, FindingKind.STRAY, Severity.HIGH, "tcp", port, "0.0.0.0", "extrad",
                    None, f"TCP {port} on 0.0.0.0 (extrad, pid {pid}) is not allowed by any "
                          "rule; default: deny in baseline", pid=pid, family=4))


class Fleet:
    """The synthetic fleet and what each host has changed so far."""

    def __init__(self, hosts: int, churn: float, seed: int) -> None:
        self.base = synthetic_run(hosts)
        self.rng = random.Random(seed)  # noqa: S311 -- reproducible test data
        self.churn = churn
        self.extra: dict[int, set[int]] = {}
        self.pid_bump: dict[int, int] = {}

    def _host(self, i: int) -> HostResult:
        host = self.base.hosts[i]
        ports = self.extra.get(i)
        if not host.checked or (not ports and i not in self.pid_bump):
            return host
        bump = self.pid_bump.get(i, 0)
        listeners = [dataclasses.replace(jl, listener=dataclasses.replace(
            jl.listener, pid=(jl.listener.pid or 0) + bump)) for jl in host.listeners]
        findings = [dataclasses.replace(f, pid=(f.pid or 0) + bump) for f in host.findings]
        for port in sorted(ports or ()):
            jl, f = _stray(host.name, port, 30000 + bump)
            listeners.append(jl)
            findings.append(f)
        return dataclasses.replace(host, listeners=tuple(listeners), findings=tuple(findings),
                                   status=Status.NONCOMPLIANT if findings else host.status)

    def night(self) -> list[HostResult]:
        """Tonight's hosts after ~churn of them changed."""
        n = len(self.base.hosts)
        away: set[int] = set()
        for i in self.rng.sample(range(n), max(1, round(n * self.churn))):
            roll = self.rng.random()
            ports = self.extra.setdefault(i, set())
            if roll < 0.4:
                ports.add(self.rng.choice(EXTRA_PORTS))  # new, or back (reopened)
            elif roll < 0.7 and ports:
                ports.discard(self.rng.choice(sorted(ports)))  # fixed
            elif roll < 0.9:
                self.pid_bump[i] = self.pid_bump.get(i, 0) + 1  # restarted
            else:
                away.add(i)  # unreachable tonight
        hosts = []
        for i in range(n):
            if i in away and self.base.hosts[i].checked:
                error = dataclasses.replace(not_run_error(), kind="connect_timeout",
                                            message="no answer within 10 s")
                hosts.append(dataclasses.replace(self.base.hosts[i], status=Status.UNREACHABLE,
                                                 error=error, listeners=(), findings=()))
            else:
                hosts.append(self._host(i))
        return hosts


def _cli_timeline(db: Path, host: str) -> float:
    """Seconds `fleetcheck history --host` takes in-process (parsing, opening, printing)."""
    out = io.StringIO()
    env = Env(stdout=out, stderr=io.StringIO(), stdin=io.StringIO(), environ={},
              cwd=db.parent)
    start = time.perf_counter()
    code = cli_main(["history", "--history-db", str(db), "--host", host], env)
    took = time.perf_counter() - start
    assert code == 0, out.getvalue()
    return took


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


def main() -> None:
    """Record the nights, sample the timings, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--keep-days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1923)
    parser.add_argument("--dir", type=Path, help="where the database goes (default: a "
                        "temporary directory, removed afterwards)")
    args = parser.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="fc-history-bench-"))
    db_path = workdir / "history.sqlite3"
    db_path.unlink(missing_ok=True)
    start = time.perf_counter()
    fleet = Fleet(args.hosts, args.churn, args.seed)
    built = time.perf_counter() - start
    base: RunResult = fleet.base
    listeners = sum(len(h.listeners) for h in base.hosts)
    findings = sum(len(h.findings) for h in base.hosts)
    print(f"fleet: {args.hosts} hosts, {listeners} listeners, {findings} findings "
          f"(built in {built:.1f} s); {args.nights} nights, churn {args.churn:.1%}, "
          f"run details kept {args.keep_days} days; database {db_path}")
    samples = {1, 2, 30, 90, 91, 180, args.nights} & set(range(1, args.nights + 1))
    picker = random.Random(args.seed)  # noqa: S311 -- which host's timeline to time
    every: list[tuple[float, float]] = []  # wall seconds: compare, record
    cpu: list[tuple[float, float]] = []  # CPU seconds of this process: compare, record
    rows = []
    dt_start = 1_700_000_000  # a fixed epoch: nights are a day apart
    with History(db_path, timeout=60) as db:
        for night in range(1, args.nights + 1):
            when = time.strftime("%Y-%m-%dT02:00:00Z",
                                 time.gmtime(dt_start + night * 86400))
            hosts = fleet.night()
            p0, c0 = time.process_time(), time.perf_counter()
            comparison = db.compare(hosts, when)
            p1, c1 = time.process_time(), time.perf_counter()
            settled, summary = judge_run(comparison.hosts, Severity.LOW, complete=True)
            run = dataclasses.replace(base, run_id=f"night-{night:03d}", started_at=when,
                                      finished_at=when, hosts=settled, summary=summary,
                                      changes=comparison.changes)
            q0, r0 = time.process_time(), time.perf_counter()
            db.record(run, keep_days=args.keep_days)
            q1, r1 = time.process_time(), time.perf_counter()
            every.append((c1 - c0, r1 - r0))
            cpu.append((p1 - p0, q1 - q0))
            if night in samples:
                name = base.hosts[picker.randrange(len(base.hosts))].name
                q0 = time.perf_counter()
                line = query.timeline(db.conn, name)
                q1 = time.perf_counter()
                assert line is not None
                cli = _cli_timeline(db_path, name)
                c = comparison.changes
                assert c is not None
                rows.append([night, c.new, c.reopened, len(c.fixed), len(c.unverified),
                             c1 - c0, r1 - r0, q1 - q0, cli, _size(db_path) / 1e6])
                print(f"night {night}: compare {c1 - c0:.3f} s, record {r1 - r0:.3f} s",
                      flush=True)
        counts = {t: db.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                  for t in ("runs", "host_runs", "items", "spans", "daily", "hosts")}
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print_table("Sampled nights (seconds; size in MB with the WAL)",
                ["night", "new", "reopened", "fixed", "unverified", "report queries",
                 "record", "history --host (query)", "history --host (command)", "DB MB"],
                rows)
    table = []
    for label, index, target in (("report queries (compare)", 0, 1.0),
                                 ("record one run", 1, 3.0)):
        for kind, values in (("wall", [e[index] for e in every]),
                             ("CPU", [e[index] for e in cpu])):
            table.append([f"{label}, {kind}", statistics.median(values), _p95(values),
                          max(values), target])
    print_table("All nights (seconds; CPU is this process's, which a busy machine's other "
                "jobs do not inflate)", ["", "median", "p95", "max", "target"], table)
    print_table("Database", ["file MB", *counts], [[_size(db_path) / 1e6, *counts.values()]])
    if args.dir is None:
        for p in workdir.glob("*"):
            p.unlink()
        workdir.rmdir()


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


if __name__ == "__main__":
    main()
