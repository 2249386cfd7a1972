"""A scan's CPU per host without its start: long-lived processes, paired rounds.

The whole-scan benchmark (`ssh_fanout.py`) starts each tool as a user would, so its
figures carry the interpreter's start and spread over a noisy machine's minutes. This one
asks a narrower question, with less noise: what does one more host cost? Each tool lives
in a process of its own that has already run once (imports, caches, templates warm) and
then, on each round, runs again against the same N lab hosts; the process CPU of that run
(every thread) divided by N is the figure. The rounds alternate the tools in a rotating
order, so that a busy minute costs each of them alike, and the ratios are paired per round.
`waits/host` counts the times a thread of the tool blocked (voluntary context switches):
each is a wake-up later, and with fifty connections they cost more than the work between.

Tools: the fan-out floor (`fanout_baseline`, AES-GCM first as fleetcheck asks), this
checkout's `fleetcheck scan` called in-process (`--workers 1`, no history, the formats
asked), and the same for every other checkout named (`--also-root DIR`: an older commit's
worktree, to tell a change's cost from the machine's mood):

    PYTHONPATH=. python -m benchmarks.per_host --hosts 200 --rounds 10 \\
        --format json --also-root ../fleetcheck-old

As root, from the repository root; needs iproute2 and OpenSSH's sshd (the lab of
`ssh_fanout.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.common import print_table

if TYPE_CHECKING:
    from benchmarks.ssh_fanout import BenchHost

ROOT = Path(__file__).resolve().parent.parent


def _fan_out(env: dict[str, str], forks: int) -> Callable[[], None]:
    import paramiko

    from benchmarks.fanout_baseline import fan_out, load_known_hosts
    from fleetcheck.transport.ssh.negotiate import cipher_order

    known = load_known_hosts(env["BENCH_KNOWN"])
    key = paramiko.PKey.from_path(env["BENCH_KEY"])
    order = tuple(cipher_order(paramiko.Transport._preferred_ciphers))  # type: ignore[attr-defined]
    addresses = env["BENCH_ADDRESSES"].split(",")

    def run() -> None:
        fan_out(addresses, known=known, pkey=key, user="root", command="ss -Htlnup",
                forks=forks, ciphers=order)
    return run


def _scan(env: dict[str, str], forks: int, formats: str) -> Callable[[], None]:
    from fleetcheck.cli.main import main

    def run() -> None:
        out = tempfile.mkdtemp(prefix="fcperhost-")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                code = main(["scan", "-i", env["BENCH_INVENTORY"], "-o", out, "-f", str(forks),
                             "--format", formats, "--workers", "1", "--no-history", "-q",
                             "--known-hosts", env["BENCH_KNOWN"], "--private-key",
                             env["BENCH_KEY"], "-u", "root", "-T", "60",
                             "--command-timeout", "120"])
            if code != 1:  # every host holds the stray SPICE port: noncompliant
                raise SystemExit(f"scan exited {code}, not 1")
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return run


def serve(kind: str, forks: int, formats: str) -> None:
    """A tool's process: run once to warm up, then once per line on stdin, printing the
    CPU seconds each run took."""
    env = dict(os.environ)
    run = _fan_out(env, forks) if kind == "fanout" else _scan(env, forks, formats)
    run()
    print("ready", flush=True)
    for _ in sys.stdin:
        started, switches = time.process_time(), _waits()
        run()
        print(f"{time.process_time() - started:.6f} {_waits() - switches}", flush=True)


def _waits() -> int:
    """This process's voluntary context switches so far: each time a thread blocked."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw


def bench_env(bench: BenchHost, hosts: int) -> dict[str, str]:
    """The environment a measured tool's process gets: the lab's files for `hosts` hosts."""
    known, inventory, _ = bench.files(hosts)
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base.update(HOME=str(bench.dir), CI="true", BENCH_KNOWN=str(known),
                BENCH_INVENTORY=str(inventory), BENCH_KEY=str(bench.key),
                BENCH_ADDRESSES=",".join(bench.addresses(hosts)))
    return base


def main() -> None:
    """Build the lab, start one process per tool, run the paired rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--format", default="json", help="the scans' --format (json, all, ...)")
    parser.add_argument("--also-root", action="append", default=[], type=Path,
                        help="another checkout of fleetcheck to measure alike (repeatable)")
    parser.add_argument("--serve", choices=("fanout", "scan"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.forks, args.format)
        return
    from benchmarks.ssh_fanout import BenchHost
    from tests.lab.netns import in_netns

    with BenchHost(0) as bench, in_netns(bench.ns.name):
        base = bench_env(bench, args.hosts)
        tools = {"paramiko fan-out": ("fanout", ROOT), f"fleetcheck scan ({ROOT.name})":
                 ("scan", ROOT)}
        tools.update({f"fleetcheck scan ({r.resolve().name})": ("scan", r.resolve())
                      for r in args.also_root})
        procs: dict[str, subprocess.Popen[str]] = {}
        try:
            for name, (kind, root) in tools.items():
                # this script, run from the checkout measured, with its code first on the path
                procs[name] = subprocess.Popen(
                    [sys.executable, str(Path(__file__).resolve()), "--serve", kind,
                     "--forks", str(args.forks), "--format", args.format],
                    env={**base, "PYTHONPATH": f"{root}{os.pathsep}{ROOT}"}, cwd=root,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                started = procs[name].stdout
                if started is None or started.readline().strip() != "ready":
                    raise SystemExit(f"{name} did not start")
            cpu, waits = _rounds(procs, args.rounds)
        finally:
            for proc in procs.values():
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait()
    fan, ours = cpu["paramiko fan-out"], cpu[f"fleetcheck scan ({ROOT.name})"]
    rows = [[args.hosts, name, f"{1e3 * statistics.median(v) / args.hosts:.2f}",
             f"{1e3 * min(v) / args.hosts:.2f}",
             _ratio([a / b for a, b in zip(v, fan, strict=True)]),
             _ratio([a / b for a, b in zip(v, ours, strict=True)]),
             f"{statistics.median(waits[name]) / args.hosts:.0f}"] for name, v in cpu.items()]
    print_table(f"CPU per host after the start, {args.rounds} paired rounds, --format "
                f"{args.format}, forks {args.forks} ({os.cpu_count()} CPUs shared with sshd)",
                ["hosts", "tool", "ms/host (median)", "ms/host (min)", "÷ fan-out",
                 f"÷ {ROOT.name}", "waits/host"], rows)


def _rounds(procs: dict[str, subprocess.Popen[str]], rounds: int,
            ) -> tuple[dict[str, list[float]], dict[str, list[int]]]:
    """Each tool's CPU seconds and blocking waits, round by round in a rotating order."""
    names = list(procs)
    cpu: dict[str, list[float]] = {name: [] for name in names}
    waits: dict[str, list[int]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            proc = procs[name]
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
            seconds, switches = proc.stdout.readline().split()
            cpu[name].append(float(seconds))
            waits[name].append(int(switches))
    return cpu, waits


def _ratio(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


if __name__ == "__main__":
    main()
