"""The network-fault hunt: seeded fleets of real sshd hosts, each with a fault drawn
against the run's timeouts (tests/lab/faults.py), scanned by fleetcheck and judged against
OpenSSH's own client on the same host under the same fault, the documented error kinds,
the time limits, and a fault-free run. As root:

    python3 -m tests.ssh.nethunt FIRST COUNT [HOSTS [workers]]

builds one lab of HOSTS hosts (default 40), runs rounds FIRST .. FIRST+COUNT-1 (`workers`:
some with two worker processes) and prints
every disagreement and a count; it is a tool, and tests/ssh/test_net_faults.py runs a small
round of it and the fixed cases that came out of it.
"""

from __future__ import annotations

import math
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

from tests.lab import faults
from tests.lab.faults import FAULTS, Applied, Fault
from tests.lab.netns import Sock
from tests.lab.sshlab import HostSpec, SshLab
from tests.ssh.conftest import Fleet, Scan, listeners

RUNNER_GRACE = 2.0  # fleetcheck.engine.runner.GRACE: past a deadline before a host is given up
SLACK = 1.5  # seconds of scheduling noise allowed on top of every promised bound
# What ssh said -> the kind fleetcheck documents for the same thing.
REFEREE_KIND = {"refused": "connection_refused", "no_route": "no_route",
                "connect_timeout": "connect_timeout", "banner_timeout": "banner_timeout"}


@dataclass(frozen=True)
class Limits:
    """One round's timeouts and width."""

    connect: float  # -T
    command: float  # --command-timeout
    deadline: float | None  # --deadline (None: fleetcheck's default)
    forks: int
    workers: int = 1  # processes (fleetcheck's --workers)

    def args(self) -> list[str]:
        """fleetcheck's command-line options for them."""
        out = ["-T", f"{self.connect:g}", "--command-timeout", f"{self.command:g}",
               "-f", str(self.forks), "--workers", str(self.workers)]
        return out + (["--deadline", f"{self.deadline:g}"] if self.deadline else [])

    @property
    def host_deadline(self) -> float:
        """The per-host deadline in force (docs/cli.md's default when none is given)."""
        return self.deadline or max(180.0, self.command + 2 * self.connect + 30.0)


@dataclass(frozen=True)
class Round:
    """A drawn round: limits and each host's fault."""

    seed: int
    limits: Limits
    faults: dict[str, Fault]


def draw_round(seed: int, names: Sequence[str], healthy: float = 0.4,
               workers: bool = False) -> Round:
    """Limits and a fault per host (`healthy` of them none), all from `seed`; with `workers`
    the run may use two worker processes."""
    rng = random.Random(seed)  # noqa: S311 - a replayable draw, no secret
    connect = float(rng.choice([2, 3, 4]))  # whole seconds: ssh takes no others
    command = float(rng.choice([2, 3, 5, 8]))
    deadline = rng.choice([None, None, connect + command + rng.choice([1, 3, 6])])
    limits = Limits(connect, command, deadline, rng.choice([10, 20, 50]))
    drawn = {n: Fault() if rng.random() < healthy else faults.draw(rng, connect, command)
             for n in names}
    if workers:  # drawn after the rest, so a seed's faults are the same either way
        limits = Limits(connect, command, deadline, limits.forks, rng.choice([1, 2]))
    return Round(seed, limits, drawn)


def referee(lab: SshLab, name: str, connect: float, cap: float) -> str:
    """What OpenSSH's client makes of the host: ok, refused, no_route, connect_timeout,
    banner_timeout, lost, stalled (still going after `cap` s) or 'other: ...'."""
    host = lab.hosts[name]
    argv = ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect:g}",
            "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={lab.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
            "-i", str(lab.key), "-l", "fcops", host.address, "true"]
    try:
        res = subprocess.run(lab.controller.exec_argv(argv), check=False, capture_output=True,
                             text=True, timeout=cap, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "stalled"
    if res.returncode == 0:
        return "ok"
    err = res.stderr
    # ICMP protocol unreachable reads 'Protocol not available': the host refuses TCP.
    for pattern, word in (("Connection refused", "refused"), ("No route to host", "no_route"),
                          ("Protocol not available", "refused"),
                          ("Network is unreachable", "no_route"),
                          ("timed out during banner exchange", "banner_timeout"),
                          ("Connection timed out", "connect_timeout"),
                          ("Connection reset", "lost"), ("Connection closed", "lost"),
                          ("Broken pipe", "lost")):
        if pattern in err:
            return word
    lines = err.strip().splitlines()
    return f"other: {lines[-1] if lines else res.returncode}"


@dataclass
class HuntLab:
    """A lab of plain hosts with planted listeners, and their fault-free scan."""

    lab: SshLab
    tmp: Path
    clean: dict[str, dict[str, Any]] = field(default_factory=dict)
    _fleet: Fleet | None = None

    @property
    def names(self) -> list[str]:
        """The hosts, in order."""
        return list(self.lab.hosts)

    def fleet(self) -> Fleet:
        """The Fleet writing into the lab's tmp dir (one, so its runs are numbered)."""
        if self._fleet is None:
            self._fleet = Fleet(self.lab, self.tmp)
        return self._fleet

    def inventory(self, fleet: Fleet) -> Path:
        """Every host, as root through sudo (so every listener's process is seen)."""
        return fleet.inventory({n: fleet.vars(n, ansible_become=True) for n in self.names})


def start_lab(hosts: int, tmp: Path, seed: int = 0) -> HuntLab:
    """`hosts` lab hosts, each with 0-40 listeners of its own (a longer or shorter probe
    output), and the fault-free scan of them."""
    rng = random.Random(seed)  # noqa: S311 - a replayable draw, no secret
    lab = SshLab([HostSpec(f"n{i:02d}") for i in range(hosts)]).start()
    try:
        for name in lab.hosts:
            count = rng.choice([0, 2, 5, 15, 40])
            socks = [Sock(rng.choice(["tcp", "udp"]), rng.choice(["0.0.0.0", "127.0.0.1"]),
                          10000 + j, process=f"svc{j % 2}") for j in range(count)]
            if socks:
                lab.hold(name, socks)
        hunt = HuntLab(lab, tmp)
        scan = hunt.fleet().scan(hunt.inventory(hunt.fleet()), "-f", "50", "-T", "10")
        for name in hunt.names:
            host = scan.host(name)
            if host["error"] is not None:
                raise RuntimeError(f"the fault-free scan failed {name}: {host['error']}")
            hunt.clean[name] = host
        return hunt
    except BaseException:
        lab.stop()
        raise


def _resources() -> tuple[int, int]:
    return len(os.listdir("/proc/self/fd")), threading.active_count()


def _fds() -> set[str]:
    """What this process's open fds point to ('fd -> target')."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            continue
    return out


def _settled(before: tuple[int, int], wait: float) -> tuple[int, int]:
    """Open fds and threads once they are back to `before` (or after `wait` s)."""
    end = time.monotonic() + wait
    now = _resources()
    while (now[0] > before[0] or now[1] > before[1]) and time.monotonic() < end:
        time.sleep(0.2)
        now = _resources()
    return now


@dataclass(frozen=True)
class Outcome:
    """One round's scan, the referee's words, and what disagreed."""

    round: Round
    scan: Scan
    referee: dict[str, str]
    problems: list[str]


def run_round(hunt: HuntLab, rnd: Round) -> Outcome:
    """Put the round's faults in place, ask ssh, scan, take the faults away, judge."""
    lab, limits = hunt.lab, rnd.limits
    # Worker processes start multiprocessing's resource tracker once, for the life of this
    # process, holding a pipe: started first, it is no leak of the run.
    resource_tracker.ensure_running()
    before, fds = _resources(), _fds()
    applied: list[Applied] = []
    try:
        for name, fault in rnd.faults.items():
            if fault.kind != "none":
                applied.append(faults.apply(lab.hosts[name].ns, fault))
        asked = [n for n, f in rnd.faults.items() if f.kind not in ("none", "blackhole_at")]
        cap = 2 * limits.connect + limits.command + 3  # only its connect-phase words count
        with ThreadPoolExecutor(max_workers=16) as pool:
            words = dict(zip(asked, pool.map(lambda n: referee(lab, n, limits.connect, cap),
                                             asked), strict=True))
        fleet = hunt.fleet()
        inventory = hunt.inventory(fleet)
        faults.start_timers(applied)
        scan = fleet.scan(inventory, *limits.args())
    finally:
        for a in applied:
            faults.clear(a)
    after = _settled(before, 15.0)
    problems = judge(hunt, rnd, scan, words)
    if after[0] > before[0] or after[1] > before[1]:
        problems.append(f"leak: fds {before[0]} -> {after[0]}, threads {before[1]} -> "
                        f"{after[1]} after the run; new fds {sorted(_fds() - fds)}, "
                        f"threads {[t.name for t in threading.enumerate()]}")
    return Outcome(rnd, scan, words, problems)


def expected(fault: Fault, said: str | None) -> frozenset[str | None]:
    """The kinds (None: checked) fleetcheck may report for `fault`, given what ssh said."""
    allowed = FAULTS[fault.kind]
    if said in REFEREE_KIND and fault.referee_decides:
        return frozenset({REFEREE_KIND[said]})
    if said in REFEREE_KIND and fault.kind in ("reset_after", "icmp_after"):
        # a count of 2 answers the handshake's last ACK: the connect itself may see it
        return allowed | {REFEREE_KIND[said]}
    return allowed


def _bound(kind: str | None, limits: Limits) -> float:
    """The longest a host ending as `kind` may take (docs/ssh.md's timeouts)."""
    deadline = limits.host_deadline + RUNNER_GRACE
    if kind == "connect_timeout":
        return min(deadline, limits.connect)
    if kind in ("banner_timeout", "handshake_timeout"):
        return min(deadline, 2 * limits.connect)
    return deadline


def judge(hunt: HuntLab, rnd: Round, scan: Scan, words: Mapping[str, str]) -> list[str]:
    """Every way the scan of a round disagrees with ssh, the docs and the clean run."""
    limits, out = rnd.limits, []
    for name, fault in rnd.faults.items():
        host = scan.host(name)
        kind = host["error"]["kind"] if host["error"] else None
        said = words.get(name)
        tag = f"seed {rnd.seed} {name} {fault.describe()} {limits}: "
        allowed = expected(fault, said)
        if kind not in allowed:
            msg = host["error"]["message"] if host["error"] else "checked"
            out.append(f"{tag}{kind or 'checked'} ({msg}); ssh said {said}; documented "
                       f"{sorted(str(k) for k in allowed)}")
        if kind is None:
            clean = hunt.clean[name]
            if listeners(host) != listeners(clean) or host["status"] != clean["status"]:
                out.append(f"{tag}checked as {host['status']} with "
                           f"{len(host['listeners'])} listeners, clean "
                           f"{clean['status']} with {len(clean['listeners'])}")
        elif said == "ok" and kind in REFEREE_KIND.values() and fault.kind in ("slow", "rate"):
            out.append(f"{tag}{kind} where ssh logged in")
        took = host["duration"]
        if took > _bound(kind, limits) + SLACK:
            out.append(f"{tag}{kind or 'checked'} took {took:.1f}s, bound "
                       f"{_bound(kind, limits):.1f}s")
    wall_bound = math.ceil(len(rnd.faults) / limits.forks) * \
        (limits.host_deadline + RUNNER_GRACE) + 10
    if scan.wall > wall_bound:
        out.append(f"seed {rnd.seed}: the run took {scan.wall:.1f}s, bound {wall_bound:.1f}s")
    statuses = [h["status"] for h in scan.run["hosts"]]
    want = 1 if "noncompliant" in statuses else 3 if ({"error", "unreachable"} & set(statuses)) \
        else 0
    if scan.code != want or scan.run["summary"]["exit_code"] != want:
        out.append(f"seed {rnd.seed}: exit {scan.code} (summary "
                   f"{scan.run['summary']['exit_code']}), verdict says {want}")
    return out


def main(argv: Sequence[str]) -> int:
    first, count = int(argv[0]), int(argv[1])
    size = int(argv[2]) if len(argv) > 2 else 40
    workers = len(argv) > 3 and argv[3] == "workers"
    found: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        hunt = start_lab(size, Path(tmp))
        try:
            for seed in range(first, first + count):
                rnd = draw_round(seed, hunt.names, workers=workers)
                outcome = run_round(hunt, rnd)
                kinds = Counter(h["error"]["kind"] if h["error"] else "checked"
                                for h in outcome.scan.run["hosts"])
                print(f"seed {seed}: {rnd.limits} wall {outcome.scan.wall:.1f}s "
                      f"{dict(kinds)}", flush=True)
                for line in outcome.problems:
                    print(f"  {line}", flush=True)
                    found[re.sub(r"\d+", "N", line.split(": ", 1)[-1])[:60]] += 1
        finally:
            hunt.lab.stop()
    print(f"rounds {count}, disagreements {sum(found.values())}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
