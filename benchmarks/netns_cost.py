"""What reading other network namespaces adds to the Linux probe on a host with no containers.

Run from the project root as root: `PYTHONPATH=. python benchmarks/netns_cost.py`.

Two measurements, CPU time read from the kernel's accounting of waited-for children:

1. The step itself: one shell parses the probe's `fc_ns` definition and calls it (as
   root, after ss) CALLS times in a loop, against the same loop defining and calling a
   function that does nothing; the difference per iteration is what the step adds to a
   probe. Precise: no process starts.
2. In context: the whole probe (ss, as root) RUNS times in a loop, alternating with the
   same probe whose namespace step is a no-op; best loop of each (on shared cores the
   difference of two ~13 ms processes is within their noise, which is why 1 exists).

Two settings:

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
from fleetcheck.collect import nsprobe, probe
from fleetcheck.transport.quote import sh_quote

RUNS = 200  # probes per loop
ROUNDS = 5  # loops of each kind, alternating
CALLS = 2000  # calls of the step per loop


def _scripts(tmp: Path) -> tuple[Path, Path]:
    """The probe as shipped, and the same with the namespace step a no-op."""
    real = tmp / "probe.sh"
    real.write_text(probe.build_probe("bench", os="linux") + "\n")
    with mock.patch.object(probe, "FC_NS", "fc_ns() {\n:\n}"):
        bare = tmp / "bare.sh"
        bare.write_text(probe.build_probe("bench", os="linux") + "\n")
    return real, bare


def _cpu(loop: str, alone: bool) -> float:
    """CPU seconds of a shell running `loop`, its children included (alone: in its own
    PID namespace with its own /proc)."""
    argv = ["sh", "-c", loop]
    if alone:
        argv = ["unshare", "-p", "-f", "--mount-proc", *argv]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _loop_cpu(script: Path, alone: bool) -> float:
    """CPU seconds of RUNS probes, the shell and its children included."""
    return _cpu(f'i=0; while [ $i -lt {RUNS} ]; do sh {script} >/dev/null; i=$((i+1)); done',
                alone)


def _step_cpu(body: str, alone: bool) -> float:
    """CPU seconds per definition and call of `fc_ns` (`body` defines it), as a probe has
    one of each: the shell parses the definition, then runs it once."""
    loop = (f"M=@@fleetcheck:bench; U=0; D={sh_quote(probe.one_line(body))}\n"
            f'i=0; while [ $i -lt {CALLS} ]; do eval "$D"; fc_ns ss "ss -tulnpe" >/dev/null; '
            "i=$((i+1)); done")
    return _cpu(loop, alone) / CALLS


def main() -> None:
    """Measure and print."""
    if os.geteuid() != 0:
        sys.exit("run as root: the namespace step runs only with root (and so does unshare)")
    settings = (("alone (no other namespace)", True),
                ("this machine (other namespaces, no container)", False))
    step_rows: list[list[object]] = []
    for label, alone in settings:
        noop = min(_step_cpu("fc_ns() { :; }", alone) for _ in range(ROUNDS))
        real_step = min(_step_cpu(nsprobe.FC_NS, alone) for _ in range(ROUNDS))
        step_rows.append([label, f"{noop * 1000:.4f}", f"{real_step * 1000:.4f}",
                          f"{(real_step - noop) * 1000:.4f}"])
    print_table(f"the namespace step alone, ms per call (best of {ROUNDS} loops of {CALLS})",
                ["setting", "no-op function", "fc_ns", "step"], step_rows)
    with tempfile.TemporaryDirectory() as d:
        real, bare = _scripts(Path(d))
        rows: list[list[object]] = []
        for label, alone in settings:
            with_ns, without = [], []
            for _ in range(ROUNDS):
                without.append(_loop_cpu(bare, alone) / RUNS)
                with_ns.append(_loop_cpu(real, alone) / RUNS)
            rows.append([label, f"{min(without) * 1000:.2f}", f"{min(with_ns) * 1000:.2f}",
                         f"{(min(with_ns) - min(without)) * 1000:.2f}"])
    print_table(f"the whole probe, CPU ms per run (best of {ROUNDS} loops of {RUNS})",
                ["setting", "without step", "with step", "difference"], rows)


if __name__ == "__main__":
    main()
