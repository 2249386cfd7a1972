"""The seeded hunt of fleetcheck under hostile client environments. As root:

    python3 -m tests.envhunt.hunt FIRST COUNT [KIND...]

runs seeds FIRST..FIRST+COUNT-1 (only fault kinds KIND when given), each a real
`fleetcheck` command (scan of a small lab of real sshd hosts and the local connection,
validate, inventory --list, report, explain, history, evidence, verify) under one to three
faults of its environment, compared with the same command in a clean environment by the
oracle (tests/envhunt/oracle.py); prints each disagreement and a count."""

from __future__ import annotations

import os
import pwd
import random
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.envhunt import faults as fl
from tests.envhunt.faults import Fault
from tests.envhunt.oracle import Clean, judge
from tests.envhunt.world import BASELINE, World

COMMANDS = ("scan",) * 6 + ("validate", "inventory", "report", "explain", "history",
                            "evidence", "verify")


@dataclass(frozen=True)
class Case:
    """One command under some faults."""

    seed: int
    command: str
    shape: str
    known_hosts: str  # "explicit" (--known-hosts) | "home" (~/.ssh/known_hosts)
    checking: str  # --host-key-checking
    forks: int
    faults: tuple[Fault, ...]
    workers: int = 1  # above 1: the processes engine (worker processes share the forks)

    def describe(self) -> str:
        """One line naming the case."""
        names = "; ".join(f.name for f in self.faults) or "clean"
        workers = f" --workers {self.workers}" if self.workers > 1 else ""
        return (f"seed {self.seed}: {self.command} {self.shape} kh={self.known_hosts} "
                f"{self.checking} -f{self.forks}{workers} [{names}]")

    def clean(self) -> Case:
        """The same command with no fault."""
        return Case(self.seed, self.command, self.shape, self.known_hosts, self.checking,
                    self.forks, (), self.workers)

    def key(self) -> tuple[str, ...]:
        """What a clean run's outcome depends on."""
        return (self.command, self.shape, self.known_hosts, self.checking, str(self.workers))


def draw(seed: int, kinds: tuple[str, ...] = ()) -> Case:
    """The case of `seed` (faults only of `kinds` when given)."""
    rng = random.Random(seed)  # noqa: S311 - a replayable draw, no secret
    command = rng.choice(COMMANDS)
    chosen = [fl.KINDS[k](rng) for k in rng.sample(kinds, min(len(kinds), rng.choice(
        [1, 1, 2])))] if kinds else fl.draw(rng)
    shape = rng.choice(["ok", "viol", "down"])
    if any(f.wants == "many" for f in chosen) and command == "scan":
        shape = rng.choice(["many", "many-ok"])
    forks = 50 if shape.startswith("many") else rng.choice([1, 5, 10])
    workers = rng.choice([1, 1, 2]) if shape.startswith("many") else 1
    return Case(seed, command, shape, rng.choice(["explicit", "home"]),
                rng.choice(["strict", "strict", "accept-new"]), forks, tuple(chosen), workers)


def argv(case: Case, world: World) -> tuple[list[str], str]:
    """The command line of `case` and its reports directory (`{W}`: the case directory)."""
    out = next((f.out for f in case.faults if f.out), "{W}/out")
    saved = world.root / "saved"
    if case.command == "scan":
        kh = next((f.known_hosts for f in case.faults if f.known_hosts),
                  "{W}/home/.ssh/known_hosts")
        args = ["scan", "-i", str(world.inventory(case.shape)), "-o", out, "--format",
                "text,json", "--connect-timeout", "5", "--deadline", "60", "-f", str(case.forks),
                "--host-key-checking", case.checking]
        args += ["--workers", str(case.workers)] if case.workers > 1 else []
        return args + (["--known-hosts", kh] if case.known_hosts == "explicit" else []), out
    run = str(next(saved.glob("fleetcheck-2*.json"), saved / "missing.json"))
    return {
        "validate": ["validate", "-i", str(world.inventory(case.shape)), "-p", str(BASELINE)],
        "inventory": ["inventory", "-i", str(world.inventory(case.shape)), "--list"],
        "report": ["report", run, "--format", "html,json,text", "-o", out],
        "explain": ["explain", "--run", run, "bad", "1923"],
        "history": ["history", "-o", str(saved), "--format", "json"],
        "evidence": ["evidence", run, "-o", f"{out}/bundle.zip"],
        "verify": ["verify", str(saved / "bundle.zip")],
    }[case.command], out


def prepare(world: World) -> None:
    """A saved run (and its history and evidence bundle) the other commands read."""
    saved = world.root / "saved"
    base = Case(0, "scan", "viol", "explicit", "strict", 5, ())
    args, _ = argv(base, world)
    args[args.index("-o") + 1] = str(saved)
    outcome = world.run("prepare", args, (), str(saved))
    assert outcome.status == 1, outcome.err_text
    args, _ = argv(Case(0, "evidence", "viol", "explicit", "strict", 5, ()), world)
    args[-1] = str(saved / "bundle.zip")
    outcome = world.run("prepare-bundle", args, (), str(saved))
    assert outcome.status == 0, outcome.err_text


class Hunt:
    """Runs cases against their clean twins (each clean run made once)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clean: dict[tuple[str, ...], Clean] = {}
        self.prepared = False

    def baseline(self, case: Case) -> Clean:
        """The clean outcome of `case`'s command."""
        key = case.key()
        if case.command != "scan" and not self.prepared:  # the saved run they read
            prepare(self.world)
            self.prepared = True
        if key not in self.clean:
            args, out = argv(case.clean(), self.world)
            outcome = self.world.run(f"clean-{'-'.join(key)}", args, (), out)
            self.clean[key] = Clean.of(outcome, case.command)
        return self.clean[key]

    def check(self, case: Case) -> list[str]:
        """The disagreements of `case` (empty when it passes)."""
        clean = self.baseline(case)
        args, out = argv(case, self.world)
        before = _machine_ssh()
        outcome = self.world.run(f"seed{case.seed}", args, case.faults, out)
        problems = judge(case.command, case.faults, outcome, clean,
                         home_known_hosts=case.known_hosts == "home")
        if _machine_ssh() != before:  # the case's files are all under its directory
            problems.append(f"leak: {MACHINE_SSH} changed")
        return problems


# The running user's own (from the password database): a run must never reach it.
MACHINE_SSH = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh"


def _machine_ssh() -> tuple[str, ...]:
    try:
        return tuple(sorted(f"{p.name}:{p.stat().st_mtime_ns}" for p in MACHINE_SSH.iterdir()))
    except OSError:
        return ()


def main() -> None:
    first, count = int(sys.argv[1]), int(sys.argv[2])
    kinds = tuple(sys.argv[3:])
    # Stopped by SIGTERM or SIGINT (even started in the background, where SIGINT is
    # ignored), the lab is still taken down.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    world = World().start()
    found = Counter[str]()
    try:
        hunt = Hunt(world)
        for seed in range(first, first + count):
            case = draw(seed, kinds)
            problems = hunt.check(case)
            print(f"{'FAIL' if problems else 'ok  '} {case.describe()}", flush=True)
            for p in problems:
                print(f"     {p}", flush=True)
                found[p.split(":")[0]] += 1
    finally:
        world.stop()
    print(f"seeds {count}, {dict(found) or 'no disagreement'}")


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
