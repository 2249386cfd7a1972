"""What the probe costs a host with many cgroups, which the fan-out lab's host hides.

`ss -e` (the probe lists sockets with it, for each socket's uid and v6only flag) prints
each socket's cgroup v2 path too, and finds the paths by walking the whole cgroup v2
tree once per run: on a host with hundreds of cgroups (a systemd server) or thousands
(a Kubernetes node) that walk, not the socket listing, is most of the run. This adds N
empty cgroups under a directory of its own in the lab namespace's hierarchy, as slices
of twenty, and times each command the fan-out benchmark's host table does (CPU per
run, median of the rounds, rounds alternated), plus `ss -tulnp`, the listing without -e:

    sudo PYTHONPATH=. python -m benchmarks.probe_cgroups --cgroups 0,200,1000

As root, from the repository root; needs iproute2, OpenSSH's sshd and a cgroup v2
hierarchy (the lab of `ssh_fanout.py`).
"""

from __future__ import annotations

import argparse
import statistics
import sys

from benchmarks.common import print_table
from benchmarks.ssh_fanout import BenchHost, _probe_variants, command_costs
from tests.lab.cgroups import make_cgroup, remove_cgroup
from tests.lab.netns import in_netns, unique_name

SLICE = 20  # cgroups a slice holds (services of a slice, containers of a pod)


def main(argv: list[str] | None = None) -> int:
    """Print the table for each cgroup count asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--cgroups", default="0,200,1000", help="comma-separated counts")
    parser.add_argument("--runs", type=int, default=40, help="runs of a command per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    variants = {**_probe_variants(), "ss without -e (ss -tulnp)": ("ss -tulnp", None)}
    rows = []
    with BenchHost(0) as bench, in_netns(bench.ns.name):
        for n in (int(x) for x in args.cgroups.split(",")):
            top = make_cgroup(unique_name("fcbcg"))
            try:
                for i in range(n):
                    make_cgroup(f"s{i // SLICE}/c{i % SLICE}", top)
                costs = command_costs(bench, variants, args.runs, args.rounds)
            finally:
                remove_cgroup(top)
            base = statistics.median(costs["fan-out's command (ss -Htlnup)"])
            rows += [[n, k, f"{statistics.median(v):.2f}", f"{statistics.median(v) / base:.2f}"]
                     for k, v in costs.items()]
    print_table(f"CPU per run on a host with N more cgroups, median of {args.rounds} rounds of "
                f"{args.runs}", ["cgroups", "command", "CPU ms per run", "÷ ss -Htlnup"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
