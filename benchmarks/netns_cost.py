"""What reading other network namespaces adds to the Linux probe on a host with no containers.

Run from the project root as root: `PYTHONPATH=. python benchmarks/netns_cost.py`.

The real probe (ss, as root) runs N times in a loop, alternating with the same probe
whose namespace step is a no-op; the CPU time of each loop (the shell and everything
it starts) is read from the kernel's accounting of waited-for children, and the
difference per probe is the namespace step's cost. Two settings:

- `alone`: in its own PID namespace with its own /proc (`unshare -p -f --mount-proc`),
  so every process it sees shares its network namespace, as on a host with no
  containers: the step is one `test -ef` per process, shell builtins only;
- `this machine`: as is; processes of other network namespaces exist here (no
  container among them), so the step also runs one `grep` over their cgroup files.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

from benchmarks.common import print_table
from fleetcheck.collect import buffered, probe

RUNS = 200  # probes per loop
ROUNDS = 5  # loops of each kind, alternating


def _scripts(tmp: Path) -> tuple[Path, Path]:
    """The probe as shipped, and the same with the namespace step a no-op."""
    real = tmp / "probe.sh"
    real.write_text(buffered(probe.build_probe("bench", os="linux")) + "\n")
    with mock.patch.object(probe, "FC_NS", "fc_ns() {\n:\n}"):
        bare = tmp / "bare.sh"
        bare.write_text(buffered(probe.build_probe("bench", os="linux")) + "\n")
    return real, bare


def _loop_cpu(script: Path, alone: bool) -> float:
    """CPU seconds of RUNS probes, the shell and its children included."""
    loop = f'i=0; while [ $i -lt {RUNS} ]; do sh {script} >/dev/null; i=$((i+1)); done'
    argv = ["sh", "-c", loop]
    if alone:
        argv = ["unshare", "-p", "-f", "--mount-proc", *argv]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    """Measure and print."""
    if os.geteuid() != 0:
        sys.exit("run as root: the namespace step runs only with root (and so does unshare)")
    with tempfile.TemporaryDirectory() as d:
        real, bare = _scripts(Path(d))
        rows: list[list[object]] = []
        for label, alone in (("alone (no other namespace)", True),
                             ("this machine (other namespaces, no container)", False)):
            with_ns, without = [], []
            for _ in range(ROUNDS):
                without.append(_loop_cpu(bare, alone) / RUNS)
                with_ns.append(_loop_cpu(real, alone) / RUNS)
            pairs = sorted(w - b for w, b in zip(with_ns, without, strict=True))
            rows.append([label, f"{min(without) * 1000:.2f}", f"{min(with_ns) * 1000:.2f}",
                         f"{pairs[len(pairs) // 2] * 1000:.3f}",
                         f"{pairs[0] * 1000:.3f} .. {pairs[-1] * 1000:.3f}"])
    print_table(f"probe CPU per run, ms ({ROUNDS} rounds of {RUNS} probes each)",
                ["setting", "without step", "with step", "step (median)", "step (range)"],
                rows)


if __name__ == "__main__":
    main()
