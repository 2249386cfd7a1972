"""Judging a synthetic fleet: evaluate + waivers per host, and lint of policies and waivers.

Run: PYTHONPATH=. python benchmarks/bench_policies.py [HOSTS]
Prints per-host costs and ratios measured in the same run (no thresholds here).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
from pathlib import Path

from benchmarks.common import measure, print_table
from fleetcheck.inventory import Inventory, InventoryHost
from fleetcheck.model import Listener
from fleetcheck.policy.judge import HostRules, decide, evaluate
from fleetcheck.policy.lint import check_all
from fleetcheck.policy.load import expand_paths
from fleetcheck.policy.problems import Problems
from fleetcheck.policy.waivers import WaiverBook

REPO = Path(__file__).resolve().parent.parent
GROUPS = ["web", "db", "bastion", "workstations"]
PORTS = [22, 25, 53, 80, 111, 443, 631, 1923, 3000, 5353, 5432, 6379, 8080, 9100, 27017]
ADDRESSES = ["0.0.0.0", "::", "127.0.0.1", "::1", "10.0.0.5"]
PROCESSES = ["sshd", "nginx", "postgres", "redis-server", "node", None]


def fleet(n: int) -> Inventory:
    """n hosts spread over the example groups."""
    hosts = tuple(InventoryHost(f"h{i:05d}", {}, (GROUPS[i % len(GROUPS)],)) for i in range(n))
    groups = {g: tuple(h.name for h in hosts if g in h.groups) for g in GROUPS}
    return Inventory(hosts, (), groups)


def listeners(rnd: random.Random, count: int) -> list[Listener]:
    """`count` random listeners."""
    out = []
    for _ in range(count):
        address = rnd.choice(ADDRESSES)
        out.append(Listener(proto=rnd.choice(["tcp", "udp"]), family=6 if ":" in address else 4,
                            address=address, port=rnd.choice(PORTS),
                            process=rnd.choice(PROCESSES), pid=rnd.randint(1, 60000),
                            dual_stack=address == "::" and rnd.random() < 0.5))
    return out


def waiver_file(root: Path, count: int) -> Path:
    """A waiver file with `count` waivers on ports and groups."""
    lines = ["waivers:"]
    for i in range(count):
        lines += [f"  - id: W{i}", f"    hosts: {GROUPS[i % len(GROUPS)]}",
                  f"    port: {PORTS[i % len(PORTS)]}", "    reason: benchmark", "    owner: o",
                  "    approved_by: a", "    created: 2030-01-01", "    expires: 2030-12-31"]
    path = root / "waivers.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rnd = random.Random(1923)  # noqa: S311 - reproducible test data, not secrets
    inventory = fleet(n)
    policy_paths = expand_paths([REPO / "policies"])
    with tempfile.TemporaryDirectory() as tmp:
        wpath = waiver_file(Path(tmp), 200)
        problems = Problems()
        lint = measure(lambda: check_all(inventory, policy_paths, [wpath], problems,
                                         today=dt.date(2030, 6, 1)))
        checked = check_all(inventory, policy_paths, [wpath], Problems(),
                            today=dt.date(2030, 6, 1))
    by_host = {h.name: [p for p in checked.policies
                        if p.hosts is None or h.name in (checked.selected or {})[p.name]]
               for h in inventory.hosts}
    data = {h.name: listeners(rnd, 40) for h in inventory.hosts}
    book = WaiverBook(tuple(checked.waivers), dt.date(2030, 6, 1))

    def judge(waive: bool) -> None:
        for name, lst in data.items():
            j = evaluate(name, lst, by_host[name])
            if waive:
                book.apply(name, j.findings)

    def trace_all() -> None:
        for name, lst in data.items():
            ctx = HostRules.of(by_host[name])
            for li in lst:
                decide(name, li, ctx, [])

    # CPU seconds, best of three: the machine is shared, wall time is noise.
    plain = min(measure(lambda: judge(False)).cpu for _ in range(3))
    waived = min(measure(lambda: judge(True)).cpu for _ in range(3))
    traced = min(measure(trace_all).cpu for _ in range(3))
    rows = [
        ["lint (policies + 200 waivers, all hosts)", lint.cpu, lint.cpu / n * 1e6, "-"],
        ["evaluate, 40 listeners/host", plain, plain / n * 1e6, 1.0],
        ["evaluate + waivers", waived, waived / n * 1e6, waived / plain],
        ["explain-style trace of every listener", traced, traced / n * 1e6, traced / plain],
    ]
    print_table(f"policies on {n} hosts ({len(problems.items)} lint problems)",
                ["stage", "CPU seconds", "µs per host", "ratio to evaluate"], rows)
    print(f"\nextrapolated to 50,000 hosts: evaluate + waivers ≈ "
          f"{waived / n * 50_000:.1f} CPU seconds in total")


if __name__ == "__main__":
    main()
