"""Where a scan's client CPU goes, stage by stage, against the fan-out's own two threads.

Each run is a fresh process on the lab of `ssh_fanout.py` (one namespace, one real sshd,
N loopback hosts). The fan-out's CPU is split between its worker threads (connect, exec,
read) and paramiko's transport threads (packets, key exchange); a scan's the same way,
with its worker threads split further into the stages of `check_host` and its main
thread into history and each report format. Each figure is the CPU time of the threads
inside that stage (`time.thread_time`), summed, divided by N; `total` is the process's
CPU after its imports. Checkouts (`--also-root DIR`) alternate with this one, so a busy
minute costs each alike:

    PYTHONPATH=. python -m benchmarks.stage_cpu --hosts 1000 --rounds 2 \\
        --also-root ../fleetcheck-old

As root, from the repository root. The stages are found by wrapping fleetcheck's own
functions in the measured process (a stage a checkout lacks is left out of its column).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import print_table

ROOT = Path(__file__).resolve().parent.parent
_ACC: collections.defaultdict[str, float] = collections.defaultdict(float)
_LOCK = threading.Lock()

# (module, attribute path, stage): what a scan's stages are, where a checkout has them
STAGES = (
    ("fleetcheck.engine.threads", "check_host", "worker: check_host (all below)"),
    ("fleetcheck.transport.ssh.connector", "SshConnector.target", "worker: ssh_config resolution"),
    ("fleetcheck.transport.connect", "DefaultConnector.__call__", "worker: connect and log in"),
    ("fleetcheck.transport.ssh.session", "SshSession.run", "worker: run the probe, read it"),
    ("fleetcheck.collect", "_interpret", "worker: parse and combine"),
    ("fleetcheck.engine.check", "evaluate", "worker: judge"),
    ("fleetcheck.cli.history_setup", "ScanHistory.apply", "main: history compare"),
    ("fleetcheck.cli.history_setup", "ScanHistory.finish", "main: history record"),
    ("fleetcheck.cli.output", "write_reports", "main: every report"),
)


def _timed(stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent = time.thread_time() - started
            with _LOCK:
                _ACC[stage] += spent
    return timed


def _wrap(module: str, path: str, stage: str) -> None:
    import importlib

    try:
        owner: Any = importlib.import_module(module)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        setattr(owner, name, _timed(stage, getattr(owner, name)))
    except (ImportError, AttributeError):
        pass  # an older checkout without this stage


def _wrap_transport_threads() -> None:
    import paramiko

    paramiko.Transport.run = _timed("paramiko transport threads",  # type: ignore[method-assign]
                                    paramiko.Transport.run)


def child_scan(env: dict[str, str]) -> dict[str, float]:
    """One scan in this process with every stage timed; CPU seconds by stage."""
    for module, path, stage in STAGES:
        _wrap(module, path, stage)
    _wrap_transport_threads()
    from fleetcheck.cli.main import main

    with tempfile.TemporaryDirectory(prefix="fcstage-") as out:
        started = time.process_time()
        code = main(["scan", "-i", env["BENCH_INVENTORY"], "-o", out, "-f", "50", "--format",
                     "all", "--known-hosts", env["BENCH_KNOWN"], "--private-key",
                     env["BENCH_KEY"], "-u", "root", "-T", "60", "--command-timeout", "120",
                     "-q"])
        _ACC["total"] = time.process_time() - started
    if code != 1:  # every lab host holds the stray SPICE port
        raise SystemExit(f"scan exited {code}, not 1")
    return dict(_ACC)


def child_fanout(env: dict[str, str]) -> dict[str, float]:
    """The fan-out (AES-GCM first, as fleetcheck asks) with its two kinds of thread timed."""
    import paramiko

    from benchmarks.fanout_baseline import load_known_hosts
    from fleetcheck.transport.ssh.negotiate import cipher_order

    _wrap_transport_threads()
    known = load_known_hosts(env["BENCH_KNOWN"])
    key = paramiko.PKey.from_path(env["BENCH_KEY"])
    order = tuple(cipher_order(paramiko.Transport._preferred_ciphers))  # type: ignore[attr-defined]

    def one(address: str) -> None:
        sock = socket.create_connection((address, 22), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = paramiko.Transport(sock)
        t.get_security_options().ciphers = order
        try:
            t.connect(hostkey=known[address], username="root", pkey=key)
            chan = t.open_session(timeout=60)
            chan.exec_command("ss -Htlnup")
            chan.makefile("rb").read()
            chan.makefile_stderr("rb").read()
            chan.recv_exit_status()
        finally:
            t.close()

    started = time.process_time()
    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(_timed("worker: connect, exec, read", one),
                      env["BENCH_ADDRESSES"].split(",")))
    _ACC["total"] = time.process_time() - started
    return dict(_ACC)


def main() -> None:
    """Build the lab, run each tool in alternating rounds, print ms a host by stage."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--also-root", action="append", default=[], type=Path,
                        help="another checkout of fleetcheck to measure alike (repeatable)")
    parser.add_argument("--child", choices=("scan", "fanout"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        env = dict(os.environ)
        print(json.dumps(child_scan(env) if args.child == "scan" else child_fanout(env)))
        return
    from benchmarks.per_host import bench_env
    from benchmarks.ssh_fanout import BenchHost
    from tests.lab.netns import in_netns

    tools = {"paramiko fan-out": ("fanout", ROOT), f"fleetcheck ({ROOT.name})": ("scan", ROOT)}
    tools.update({f"fleetcheck ({r.resolve().name})": ("scan", r.resolve())
                  for r in args.also_root})
    found: dict[str, list[dict[str, float]]] = {name: [] for name in tools}
    with BenchHost(0) as bench, in_netns(bench.ns.name):
        base = bench_env(bench, args.hosts)
        names = list(tools)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                kind, root = tools[name]
                done = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--child", kind],
                    env={**base, "PYTHONPATH": f"{root}{os.pathsep}{ROOT}"}, cwd=root,
                    capture_output=True, text=True, check=True)
                found[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    stages = list(dict.fromkeys(s for runs in found.values() for run in runs for s in run))
    rows = [[stage, *(_cell(found[name], stage, args.hosts) for name in tools)]
            for stage in sorted(stages, key=lambda s: (s == "total", s))]
    print_table(f"Client CPU ms a host by stage, {args.hosts} hosts, median of {args.rounds} "
                f"rounds (thread CPU inside each stage; {os.cpu_count()} CPUs shared with sshd)",
                ["stage", *tools], rows)


def _cell(runs: list[dict[str, float]], stage: str, hosts: int) -> str:
    values = [run[stage] for run in runs if stage in run]
    return f"{1e3 * statistics.median(values) / hosts:.3f}" if values else ""


if __name__ == "__main__":
    main()
