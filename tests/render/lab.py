"""Real runs for the report tests: the real scan, local transport, sockets held in namespaces.

Each lab host is a network namespace with real listening sockets held by real processes;
`fleetcheck scan` runs inside it on the local connection and writes its reports. What a
local run cannot produce yet (another host's failure, a waiver, a process name longer than
the kernel's 15-byte comm) is added to the real results from the model, then summarised
by the real `summarize`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from fleetcheck.cli.common import baseline_path
from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import ErrorKind
from fleetcheck.model import HostResult, JudgedListener, RunResult, Severity
from tests.conftest import CliResult, run_cli, run_files
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns
from tests.render import builders

ALL_FORMATS = "all"
WEB = builders.DATA / "web.yml"

# What each lab host holds open. web1: forbidden 1923, stray UDP 5353 and IPv6 8080;
# db1: only what the policies allow; app1: a stray to be waived and one to be renamed.
LAB_HOSTS: dict[str, tuple[str, list[Sock]]] = {
    "web1": ("web", [Sock("tcp", "0.0.0.0", 1923, process="spiced"),
                     Sock("tcp", "0.0.0.0", 22, process="sshd"),
                     Sock("tcp", "0.0.0.0", 443, process="nginx"),
                     Sock("udp", "0.0.0.0", 5353, process="mdnsd"),
                     Sock("tcp", "::", 8080, process="webd", v6only=True),
                     Sock("tcp", "127.0.0.1", 6379, process="redis-server")]),
    "db1": ("db", [Sock("tcp", "0.0.0.0", 22, process="sshd"),
                   Sock("tcp", "127.0.0.1", 5432, process="postgres")]),
    "app1": ("app", [Sock("tcp", "0.0.0.0", 22, process="sshd"),
                     Sock("tcp", "0.0.0.0", 8443, process="java"),
                     Sock("tcp", "0.0.0.0", 31337, process="xss")]),
}


# A host nobody answers for: SSH to a port nothing listens on, inside the lab namespace.
GHOST = "ghost1"


def inventory(path: Path, host: str, group: str, ghost: bool = False) -> Path:
    """An inventory of `host` (local connection, in `group`), and the ghost host if asked."""
    extra = (f"    legacy:\n      hosts:\n        {GHOST}: {{ansible_host: 127.0.0.1, "
             "ansible_port: 9, ansible_user: nobody}\n") if ghost else ""
    path.write_text(f"all:\n  children:\n    {group}:\n      hosts:\n"
                    f"        {host}: {{ansible_connection: local}}\n{extra}")
    return path


def scan_host(workdir: Path, host: str, group: str, socks: Sequence[Sock],
              formats: str = ALL_FORMATS, ghost: bool = False) -> tuple[int, Path]:
    """Hold `socks` in a fresh namespace and scan it as `host` (and the ghost host, if
    asked); (exit code, report dir)."""
    workdir.mkdir(parents=True, exist_ok=True)
    inv = inventory(workdir / "inventory.yml", host, group, ghost)
    out = workdir / "reports"
    res = scan_in_namespace(socks, ["-i", str(inv), "-o", str(out), "--format", formats],
                            workdir)
    assert res.code in (0, 1, 3), res.err
    return res.code, out


def scan_in_namespace(socks: Sequence[Sock], args: Sequence[str], workdir: Path,
                      environ: dict[str, str] | None = None) -> CliResult:
    """`fleetcheck scan` (baseline and web policies, then `args`) in a fresh namespace where
    real processes hold `socks`."""
    ns = Namespace().create()
    holders = SocketHolders(ns)
    try:
        holders.hold(socks)
        with in_netns(ns.name):
            return run_cli(["scan", "-p", str(baseline_path()), "-p", str(WEB), *args],
                           cwd=workdir, environ=environ)
    finally:
        holders.stop()
        ns.delete()


def saved_run(outdir: Path) -> RunResult:
    """The run a scan saved as JSON in `outdir`."""
    (path,) = run_files(outdir)  # the run record, not the .oscal.json
    return RunResult.from_dict(json.loads(path.read_text()))


def _renamed(host: HostResult, port: int, process: str) -> HostResult:
    """`host` with the process on `port` shown as `process` (listener and finding alike)."""
    listeners = tuple(
        JudgedListener(dataclasses.replace(jl.listener, process=process), jl.verdict, jl.rule)
        if jl.listener.port == port else jl for jl in host.listeners)
    findings = tuple(dataclasses.replace(f, process=process, message=f.message.replace(
        "(xss", f"({process}")) if f.port == port else f for f in host.findings)
    return dataclasses.replace(host, listeners=listeners, findings=findings)


def lab_fleet(workdir: Path) -> RunResult:
    """A fleet from real scans of web1 (with the ghost host), db1 and app1, plus an
    unreachable host, a waiver in each status and a hostile process name: every kind of
    fact a report must show."""
    runs = {name: saved_run(scan_host(workdir / name, name, group, socks,
                                      ghost=name == "web1")[1])
            for name, (group, socks) in LAB_HOSTS.items()}
    app1 = builders.waive(runs["app1"].hosts[0], 8443, "W-100")
    app1 = _renamed(app1, 31337, builders.XSS)
    legacy = builders.failed_host("legacy1", ErrorKind.CONNECT_TIMEOUT,
                                  "no answer from legacy1.example.net:22 within 10 s")
    hosts = sorted([*runs["web1"].hosts, runs["db1"].hosts[0], app1, legacy],
                   key=lambda h: h.name)
    first = runs["web1"]
    settled, summary = judge_run(hosts, Severity.LOW, complete=True)
    return dataclasses.replace(
        first, hosts=settled, summary=summary,
        waivers=builders.WAIVERS,
        meta={**first.meta, "warnings": ["waiver W-200 expired on 2026-06-30: the finding it "
                                         "covered counts again"]})
