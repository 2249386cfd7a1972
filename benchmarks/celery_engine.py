"""The celery engine against the local engine on the same N-host lab; coordination overhead.

The lab is the fan-out benchmark's (`benchmarks.ssh_fanout.BenchHost`): one namespace,
one real sshd, N loopback addresses, a stray TCP 1923 on every host. In the same
namespace: a real redis-server (broker and result backend) and `fleetcheck worker`s,
started before the timing and ready. Each command is what a user would type, timed as
its own process, in rotated rounds:

- local: `fleetcheck scan -f F` (the default engine: worker processes on the cores);
- celery, 1 worker: `fleetcheck scan --engine celery`, one worker with `-c 2 -f F/2`;
- celery, 2 workers: two workers with `-c 1 -f F/2` each (the same width in all three).

Printed per row: wall time, CPU (the scan's process plus the workers' processes) and the
coordination overhead per host: (celery - local) / N, in wall ms and CPU ms.

    PYTHONPATH=. python -m benchmarks.celery_engine --hosts 1000 --forks 50 --repeat 3

As root, from the repository root; needs iproute2, OpenSSH's sshd, redis-server and the
celery extra (`pip install -e '.[celery]'`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import children_cpu, print_table
from benchmarks.ssh_fanout import BenchHost
from tests.lab.celeryworker import WorkerProcess
from tests.lab.netns import in_netns
from tests.lab.redis import RedisServer

ROOT = Path(__file__).resolve().parent.parent
LOCAL = "local engine"


@dataclass(frozen=True)
class Setup:
    """One row: the scan's argv and the workers it needs (name, -c, -f)."""

    name: str
    workers: tuple[tuple[str, int, int], ...]


def _session_cpu(pids: list[int]) -> float:
    """CPU seconds of every live process in the sessions led by `pids` (workers and pools)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) in pids:  # field 6 of stat: the session id
            total += sum(int(v) for v in fields[11:13]) / tick
    return total



def run_scan(argv: list[str], env: dict[str, str], reports: Path, n: int,
             workers: list[WorkerProcess]) -> tuple[float, float]:
    """Wall and CPU seconds of one scan (workers' CPU included), after checking every host."""
    for old in reports.glob("*"):
        old.unlink()
    pids = [w.pid for w in workers]
    w0, c0, t0 = _session_cpu(pids), children_cpu(), time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    cpu = children_cpu() - c0 + _session_cpu(pids) - w0
    report = json.loads(next(reports.glob("*.json")).read_text())
    spice = sum(any(f["port"] == 1923 for f in h["findings"]) for h in report["hosts"])
    if proc.returncode != 1 or report["summary"]["noncompliant"] != n or spice != n:
        raise RuntimeError(f"{argv[4:8]} did not check all {n} hosts (exit {proc.returncode}): "
                           f"{report['summary']} {proc.stderr[-600:]}")
    return wall, cpu


def main() -> None:
    """Time each setup over rotated rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shard-size", type=int, default=250)
    args = parser.parse_args()
    n, half = args.hosts, max(1, args.forks // 2)
    setups = [Setup(LOCAL, ()), Setup("celery, 1 worker (-c 2)", (("one", 2, half),)),
              Setup("celery, 2 workers (-c 1 each)", (("a", 1, half), ("b", 1, half)))]
    samples: dict[str, list[tuple[float, float]]] = {s.name: [] for s in setups}
    with BenchHost(0) as bench, in_netns(bench.ns.name):
        known, yml, _ = bench.files(n)
        redis = RedisServer().start()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(bench.dir),
               "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8", "CI": "true"}
        reports = bench.dir / "reports"
        reports.mkdir()
        common = [sys.executable, "-m", "fleetcheck", "scan", "-i", str(yml), "-o", str(reports),
                  "--format", "json", "-u", "root", "--connect-timeout", "60",
                  "--command-timeout", "120"]
        try:
            for r in range(args.repeat):
                for setup in setups[r % len(setups):] + setups[:r % len(setups)]:
                    workers = [WorkerProcess(
                        ["--broker", redis.url, "-n", f"{name}@%h", "-c", str(c), "-f", str(f),
                         "-i", str(yml), "--known-hosts", str(known), "--private-key",
                         str(bench.key), "--connect-timeout", "60"],
                        cwd=ROOT, log=bench.dir / f"{name}.log", environ=env)
                        for name, c, f in setup.workers]
                    try:
                        for w in workers:
                            w.ready()
                        if workers:
                            argv = [*common[:-4], "--command-timeout", "120", "-f",
                                    str(args.forks),
                                    "--engine", "celery", "--broker", redis.url,
                                    "--shard-size", str(args.shard_size)]
                        else:
                            argv = [*common, "-f", str(args.forks), "--known-hosts", str(known),
                                    "--private-key", str(bench.key)]
                        got = run_scan(argv, env, reports, n, workers)
                    finally:
                        for w in workers:
                            w.stop()
                    samples[setup.name].append(got)
                    print(f"round {r + 1}, {setup.name}: {got[0]:.2f}s wall, {got[1]:.2f}s CPU",
                          file=sys.stderr, flush=True)
        finally:
            redis.stop()
    local_wall = statistics.median(s[0] for s in samples[LOCAL])
    local_cpu = statistics.median(s[1] for s in samples[LOCAL])
    rows = []
    for setup in setups:
        wall = statistics.median(s[0] for s in samples[setup.name])
        cpu = statistics.median(s[1] for s in samples[setup.name])
        rows.append([setup.name, wall, n / wall, cpu, wall / local_wall,
                     1000 * (wall - local_wall) / n, 1000 * (cpu - local_cpu) / n])
    print_table(f"{n} hosts, -f {args.forks}, shard size {args.shard_size}, medians of "
                f"{args.repeat} rounds (CPU: the scan and the workers)",
                ["setup", "wall s", "hosts/s", "CPU s", "wall vs local",
                 "overhead ms/host (wall)", "overhead ms/host (CPU)"], rows)


if __name__ == "__main__":
    main()
