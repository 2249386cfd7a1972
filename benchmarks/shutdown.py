"""What a scan costs after its command has finished: Python shutting the process down.

A scan runs as a user types it (`python -m fleetcheck scan`, every report format) on the
lab of `ssh_fanout.py` (one namespace, one real sshd, N loopback hosts), through a small
launcher that notes the process's CPU when fleetcheck asks to exit (`sys.exit`, the
verdict decided and every report written). The process's whole CPU, read from outside
once it is gone, less that figure is what the interpreter's shutdown cost: freeing what
the run made, and the collections it makes first. Checkouts (`--also-root DIR`: an older
commit's worktree) alternate with this one, so a busy minute costs each alike:

    PYTHONPATH=. python -m benchmarks.shutdown --hosts 300,1000 --rounds 3 \\
        --also-root ../fleetcheck-old

As root, from the repository root; needs iproute2 and OpenSSH's sshd.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import children_cpu, print_table
from benchmarks.ssh_fanout import ROOT, BenchHost
from tests.lab.netns import in_netns

# Run in the measured process: fleetcheck's own entry point, with `sys.exit` noting the
# process's CPU (time.process_time counts from the process's start) on the way out.
_LAUNCHER = """
import sys, time
exit_now, path = sys.exit, sys.argv.pop(1)
def noted(status=None):
    with open(path, "w") as f:
        f.write(repr(time.process_time()))
    exit_now(status)
sys.exit = noted
from fleetcheck.cli.launch import entry
sys.argv = ["fleetcheck", *sys.argv[1:]]
entry()
"""



def one_run(bench: BenchHost, root: Path, n: int, work: Path) -> tuple[float, float]:
    """(CPU seconds until the exit was asked for, CPU seconds in all) of one scan."""
    known, inventory, _ = bench.files(n)
    noted = work / "at-exit"
    reports = work / "reports"
    argv = [sys.executable, "-c", _LAUNCHER, str(noted), "scan", "-i", str(inventory),
            "-o", str(reports), "-f", "50", "--format", "all", "--known-hosts", str(known),
            "--private-key", str(bench.key), "-u", "root", "-T", "60",
            "--command-timeout", "120"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(bench.dir),
           "PYTHONPATH": str(root), "LANG": "C.UTF-8", "CI": "true"}
    before = children_cpu()
    proc = subprocess.run(argv, env=env, cwd=root, capture_output=True, text=True,
                          check=False)
    total = children_cpu() - before
    if proc.returncode != 1:  # every lab host has its stray listener: exit 1, all checked
        raise RuntimeError(f"scan exited {proc.returncode}: {proc.stderr[-2000:]}")
    return float(noted.read_text()), total


def main(argv: list[str] | None = None) -> int:
    """Print the shutdown cost for each size and checkout."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", default="300,1000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--also-root", action="append", default=[], type=Path)
    args = parser.parse_args(argv)
    roots = [ROOT, *(r.resolve() for r in args.also_root)]
    rows = []
    with BenchHost(0) as bench, in_netns(bench.ns.name), \
            tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.hosts.split(",")):
            got: dict[Path, list[tuple[float, float]]] = {r: [] for r in roots}
            for k in range(args.rounds):
                for root in roots[k % len(roots):] + roots[:k % len(roots)]:
                    work = Path(tempfile.mkdtemp(dir=tmp))
                    got[root].append(one_run(bench, root, n, work))
            for root, runs in got.items():
                at_exit = statistics.median(a for a, _ in runs)
                total = statistics.median(t for _, t in runs)
                after = statistics.median(t - a for a, t in runs)
                rows.append([n, root.name, f"{1e3 * at_exit:.0f}", f"{1e3 * total:.0f}",
                             f"{1e3 * after:.0f}", f"{1e3 * after / n:.3f}"])
    print_table(f"A scan's CPU until it asks to exit and in all, median of {args.rounds} "
                "rounds (ms)", ["hosts", "checkout", "until exit", "in all",
                                "shutting down", "shutting down / host"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
