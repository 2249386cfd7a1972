"""Where a whole scan's client CPU goes: `fleetcheck scan` under cProfile on the SSH bench lab.

The lab is `ssh_fanout.py`'s (one namespace, one real sshd, N loopback hosts with a stray
TCP 1923 each). The scan runs as a user types it, every report format, `--workers 1` so
that every host's work happens in the profiled process; prints its wall and CPU time and
the profile's top entries by own time and by cumulative time:

    sudo PYTHONPATH=. python -m benchmarks.profile_scan --hosts 1000 [--top 25]

`--root DIR` profiles the fleetcheck checked out in DIR (e.g. an older commit) in the
same lab, for before/after figures.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.ssh_fanout import ROOT, BenchHost
from tests.lab.netns import in_netns


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Build the lab, profile one scan, print the figures and the top entries."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--format", default="all")
    args = parser.parse_args()
    with BenchHost(0) as bench, in_netns(bench.ns.name):
        known, yml, _ = bench.files(args.hosts)
        out = bench.dir / "scan.prof"
        argv = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "fleetcheck", "scan",
                "-i", str(yml), "-o", str(bench.dir / "reports"), "-f", str(args.forks),
                "--format", args.format, "--workers", "1", "--known-hosts", str(known),
                "--private-key", str(bench.key), "-u", "root", "-T", "60",
                "--command-timeout", "120"]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(bench.dir),
               "PYTHONPATH": str(args.root.resolve()), "LANG": "C.UTF-8", "CI": "true"}
        cpu0, wall0 = _cpu(), time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=args.root, capture_output=True, text=True,
                              check=False)
        wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
        # cProfile swallows the exit code: the JSON report says whether every host was checked.
        reports = list((bench.dir / "reports").glob("fleetcheck-2*.json"))
        summary = json.loads(reports[0].read_text())["summary"] if reports else {}
        if summary.get("noncompliant") != args.hosts:
            raise SystemExit(f"not every host checked: {summary} {proc.stderr[-800:]}")
        print(f"{args.hosts} hosts: {wall:.2f} s wall, {cpu:.2f} s client CPU "
              f"({cpu / args.hosts * 1000:.2f} ms per host, profiler included)")
        stats = pstats.Stats(str(out))
        stats.strip_dirs().sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
