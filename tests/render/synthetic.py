"""A synthetic fleet of any size, judged by the real policies: for scale tests and benchmarks.

Deterministic for a given size and seed: the same call gives the same RunResult.
"""

from __future__ import annotations

import random
from dataclasses import replace

from fleetcheck.collect import probe, wrap_command
from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import UNREACHABLE_KINDS, ErrorKind
from fleetcheck.model import CommandRecord, HostResult, Listener, RunResult, Severity
from fleetcheck.plan import PlannedHost
from tests.render import builders

_GROUPS = ("web", "db", "app", "cache")
_LOOPBACK = [("tcp", 6379, "redis-server"), ("tcp", 5432, "postgres"), ("tcp", 25, "master"),
             ("tcp", 11211, "memcached"), ("udp", 323, "chronyd"), ("tcp", 631, "cupsd"),
             ("tcp", 9090, "prometheus"), ("tcp", 8125, "statsd")]
_STRAY = [("tcp", 8080, "java"), ("tcp", 3000, "node"), ("udp", 5353, "avahi-daemon"),
          ("tcp", 8443, "java"), ("tcp", 9200, "java"), ("udp", 161, "snmpd"),
          ("tcp", 111, "rpcbind"), ("tcp", 2049, "nfsd")]
_FAILURES = [k for k in ErrorKind if k not in (ErrorKind.NOT_RUN, ErrorKind.INTERRUPTED)]


def _listeners(rng: random.Random, index: int) -> list[Listener]:
    """A plausible set of listeners for host number `index`."""
    pid = 100 + index % 900
    out = [Listener("tcp", 4, "0.0.0.0", 22, "sshd", pid, "root"),
           Listener("tcp", 6, "::", 22, "sshd", pid, "root")]
    for n, (proto, port, proc) in enumerate(rng.sample(_LOOPBACK, rng.randint(2, 6))):
        out.append(Listener(proto, 4, "127.0.0.1", port, proc, pid + n + 1, "daemon"))
        if rng.random() < 0.5:
            out.append(Listener(proto, 6, "::1", port, proc, pid + n + 1, "daemon"))
    if index % len(_GROUPS) == 0 and rng.random() < 0.95:  # the web tier serves HTTPS
        out.append(Listener("tcp", 4, "0.0.0.0", 443, "nginx", pid + 40, "www-data"))
    if rng.random() < 0.3:
        proto, port, proc = rng.choice(_STRAY)
        out.append(Listener(proto, 4, "0.0.0.0", port, proc, pid + 50, "app"))
    if rng.random() < 0.01:
        out.append(Listener("tcp", 4, "0.0.0.0", 1923, "spiced", pid + 60, "root"))
    return out


def synthetic_run(hosts: int = 5000, seed: int = 1923) -> RunResult:
    """`hosts` hosts: mostly compliant, ~30% with a stray, ~1% with TCP 1923, ~2% unchecked,
    some strays waived; with command evidence like a real run's."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible test data, not secrets
    pols = builders.policies()
    results: list[HostResult] = []
    for i in range(hosts):
        group = _GROUPS[i % len(_GROUPS)]
        name = f"{group}-{i:05d}.dc{i % 3 + 1}.example.net"
        if rng.random() < 0.02:
            kind = _FAILURES[i % len(_FAILURES)]
            message = f"{kind.value.replace('_', ' ')} talking to {name}"
            commands = () if kind in UNREACHABLE_KINDS else (
                CommandRecord("sh -c 'ss -tulnpe'", 1, "", f"{message}\n", 0.2),)
            results.append(replace(builders.failed_host(name, kind, message, commands),
                                   groups=(group,)))
            continue
        host = builders.checked_host(name, (group, f"dc{i % 3 + 1}"), _listeners(rng, i), pols)
        stray = [f.port for f in host.findings if f.kind.value == "stray" and f.port]
        if stray and rng.random() < 0.2:
            host = builders.waive(host, stray[0], "W-100")
        results.append(host)
    results.sort(key=lambda h: h.name)
    base = builders.composite_run()
    settled, summary = judge_run(results, Severity.LOW, complete=True)
    return replace(base, hosts=settled, summary=summary,
                   meta={**base.meta, "warnings": base.meta["warnings"][:1]})


def probe_run(hosts: int) -> RunResult:
    """`synthetic_run(hosts)` whose hosts ran the real probe, each with its own nonce, as in
    a scan (the command evidence at its real size)."""
    run = synthetic_run(hosts)
    planned = PlannedHost(name="h", address="h", groups=(), policies=())
    changed = []
    for i, h in enumerate(run.hosts):
        nonce = f"{i:016x}"
        cmd = wrap_command(probe.build_probe(nonce), planned, nonce).recorded
        changed.append(replace(h, commands=tuple(replace(c, command=cmd, nonce=nonce)
                                                 for c in h.commands)))
    return replace(run, hosts=tuple(changed))


def with_stderr(run: RunResult, *texts: str) -> RunResult:
    """`run` with its hosts' first command records printing `texts` on stderr, in turn."""
    hosts = []
    for i, host in enumerate(run.hosts):
        commands = list(host.commands)
        if commands:
            commands[0] = replace(commands[0], stderr=texts[i % len(texts)])
        hosts.append(replace(host, commands=tuple(commands)))
    return replace(run, hosts=tuple(hosts))


def fenced(run: RunResult) -> RunResult:
    """`run` with each probe's stdout fenced by its nonce as the real probe's is: the same
    marker lines on every host around a listing of its own."""
    hosts = []
    for host in run.hosts:
        commands = tuple(replace(
            c, stdout=f"@@fleetcheck:{c.nonce} os Linux\n@@fleetcheck:{c.nonce} begin ss\n"
                      f"{c.stdout}@@fleetcheck:{c.nonce} end ss 0\n") for c in host.commands)
        hosts.append(replace(host, commands=commands))
    return replace(run, hosts=tuple(hosts))
