"""Linux collection speed on this machine: each probe tool, and the /proc owner scan.

Run from the project root: `PYTHONPATH=. python benchmarks/linux_collectors.py`.
Prints wall and CPU seconds of the real probe pinned to each tool (on this machine's
own sockets), and the /proc fallback's owner scan (three commands, whatever the
number of processes) against a per-descriptor `readlink` loop, in the same run.
"""

from __future__ import annotations

import subprocess
from functools import partial

from benchmarks.common import measure, print_table
from fleetcheck.collect import CollectOptions, collect
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.local import LocalTransport

ROUNDS = 5

# What the probe did before: one readlink (and, per process, a cat and a stat) per fd.
PER_FD_LOOP = r"""
for p in /proc/[0-9]*; do
  c=$(cat "$p/comm" 2>/dev/null) || continue
  u=$(stat -c %U "$p" 2>/dev/null)
  for fd in "$p"/fd/*; do
    l=$(readlink "$fd" 2>/dev/null) || continue
    case $l in socket:*) echo "${p#/proc/} ${u:--} ${l#socket:} $c";; esac
  done
done
"""
THREE_COMMANDS = r"""
cat /proc/[0-9]*/stat 2>/dev/null
ls -ld /proc/[0-9]* 2>/dev/null
ls -l /proc/[0-9]*/fd 2>/dev/null
"""


def _sh(script: str) -> None:
    subprocess.run(["sh", "-c", script], capture_output=True, check=False)


def main() -> None:
    """Measure and print."""
    rows: list[list[object]] = []
    for tool in ("ss", "netstat", "busybox-netstat", "lsof", "proc"):
        host = PlannedHost(name="bench", address="localhost", groups=(), policies=(),
                           connection="local", tool=tool)
        try:
            listeners = len(collect(host, LocalTransport(), CollectOptions()).listeners)
        except Exception as exc:  # a tool missing here is a row, not a crash
            rows.append([tool, "-", "-", f"{type(exc).__name__}: {exc}"[:60]])
            continue
        runs = [measure(partial(collect, host, LocalTransport(), CollectOptions()))
                for _ in range(ROUNDS)]
        rows.append([tool, round(min(r.wall for r in runs), 3), round(min(r.cpu for r in runs), 3),
                     listeners])
    print_table(f"probe pinned to each tool (best of {ROUNDS})",
                ["tool", "wall s", "cpu s", "listeners"], rows)
    count = int(subprocess.run(["sh", "-c", "ls -d /proc/[0-9]* | wc -l"], capture_output=True,
                               text=True, check=True).stdout)
    old = min((measure(lambda: _sh(PER_FD_LOOP)) for _ in range(ROUNDS)), key=lambda m: m.wall)
    new = min((measure(lambda: _sh(THREE_COMMANDS)) for _ in range(ROUNDS)), key=lambda m: m.wall)
    print_table(f"/proc owner scan over {count} processes (best of {ROUNDS})",
                ["method", "wall s", "cpu s", "speed-up"],
                [["readlink per fd", old.wall, old.cpu, 1.0],
                 ["three commands", new.wall, new.cpu, old.wall / new.wall]])


if __name__ == "__main__":
    main()
