"""Where a whole scan's client CPU goes: `fleetcheck scan` under cProfile on the SSH bench lab.

The lab is `ssh_fanout.py`'s (one namespace, one real sshd, N loopback hosts with a stray
TCP 1923 each). The scan runs as a user types it, every report format, `--workers 1` so
that every host's work happens in the profiled process; prints its wall and CPU time and
the profile's top entries by own time and by cumulative time:

    sudo PYTHONPATH=. python -m benchmarks.profile_scan --hosts 1000 [--top 25]

`--root DIR` profiles the fleetcheck checked out in DIR (e.g. an older commit) in the
same lab, for before/after figures. `--sampler py-spy` samples every thread instead
(cProfile sees only the main thread, where the hosts' work shows as waiting): the
functions ranked by the share of non-idle samples they were running (own) or on the
stack of (inclusive). py-spy reads the process without stopping it (`--nonblocking`):
stopping every thread 200 times a second distorts what it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import children_cpu
from benchmarks.ssh_fanout import ROOT, BenchHost
from tests.lab.netns import in_netns


def print_samples(raw: str, top: int) -> None:
    """The functions most often running (own) and on the stack (inclusive) in py-spy's stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    for title, counter in (("own", own), ("inclusive", inclusive)):
        print(f"\ntop {top} by {title} share of {total} non-idle samples")
        for frame, n in counter.most_common(top):
            print(f"{100 * n / total:6.1f} %  {frame}")


def main() -> None:
    """Build the lab, profile one scan, print the figures and the top entries."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--format", default="all")
    parser.add_argument("--sampler", choices=("cprofile", "py-spy"), default="cprofile")
    parser.add_argument("--workers", default="1")
    args = parser.parse_args()
    with BenchHost(0) as bench, in_netns(bench.ns.name):
        known, yml, _ = bench.files(args.hosts)
        out = bench.dir / "scan.prof"
        prof = ([sys.executable, "-m", "cProfile", "-o", str(out)] if args.sampler == "cprofile"
                else ["py-spy", "record", "--nolineno", "--nonblocking", "-s", "-r", "200",
                      "-f", "raw", "-o", str(out), "--", sys.executable])
        argv = [*prof, "-m", "fleetcheck", "scan",
                "-i", str(yml), "-o", str(bench.dir / "reports"), "-f", str(args.forks),
                "--format", args.format, "--workers", args.workers, "--known-hosts", str(known),
                "--private-key", str(bench.key), "-u", "root", "-T", "60",
                "--command-timeout", "120"]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(bench.dir),
               "PYTHONPATH": str(args.root.resolve()), "LANG": "C.UTF-8", "CI": "true"}
        cpu0, wall0 = children_cpu(), time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=args.root, capture_output=True, text=True,
                              check=False)
        wall, cpu = time.perf_counter() - wall0, children_cpu() - cpu0
        # cProfile swallows the exit code: the JSON report says whether every host was checked.
        reports = [p for p in (bench.dir / "reports").glob("fleetcheck-2*.json")
                   if not p.name.endswith(".oscal.json")]
        summary = json.loads(reports[0].read_text())["summary"] if reports else {}
        if summary.get("noncompliant") != args.hosts:
            raise SystemExit(f"not every host checked: {summary} {proc.stderr[-800:]}")
        print(f"{args.hosts} hosts: {wall:.2f} s wall, {cpu:.2f} s client CPU "
              f"({cpu / args.hosts * 1000:.2f} ms per host, profiler included)")
        if args.sampler == "py-spy":
            print_samples(out.read_text(), args.top)
            return
        stats = pstats.Stats(str(out))
        stats.strip_dirs().sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
