"""Random runs for the cross-format differential, one per seed: judged by the real policies and
settled by the real `judge_run`, with every host outcome, finding kind, severity, waiver
status, history change, container listeners and hostile text the reports must carry."""

from __future__ import annotations

import dataclasses
import random

from fleetcheck.engine.summary import judge_run, not_run_error
from fleetcheck.errors import UNREACHABLE_KINDS, ErrorKind
from fleetcheck.model import (
    Change,
    Changes,
    CommandRecord,
    Container,
    Finding,
    FindingKind,
    HostError,
    HostFinding,
    HostResult,
    Listener,
    RunResult,
    Severity,
    Status,
    WaiverRecord,
)
from fleetcheck.policy import Policy
from tests.render import builders

# Text a host, an inventory or a waiver file may supply that a report must show as text.
HOSTILE = (
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "=HYPERLINK(\"x\")",
    "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "a&amp;b &lt;c&gt;", "tab\there", "cr\rhere",
    "esc\x1b[31mred\x1b[0m", "nul\x00byte", "bell\x07", "del\x7f", "c1\x9bx", "ünïcødé-名前",
    "rtl\u202eexe.txt", "line\u2028sep", "x" * 300, "back\\slash", "]]><!--", "'single'",
    "{{ 7*7 }}", "| pipe | *star* _u_ `tick`", "# heading", "a\nb",
)
_KINDS = list(ErrorKind)
_PORTS = [  # (proto, family, address, port, process): allowed, forbidden, stray, loopback
    ("tcp", 4, "0.0.0.0", 22, "sshd"), ("tcp", 6, "::", 22, "sshd"),
    ("tcp", 4, "0.0.0.0", 1923, "spiced"), ("tcp", 6, "::", 1923, "spiced"),
    ("tcp", 4, "127.0.0.1", 6379, "redis-server"), ("tcp", 4, "0.0.0.0", 8080, "java"),
    ("tcp", 4, "127.0.0.1", 8080, "java"), ("udp", 4, "0.0.0.0", 5353, "mdnsd"),
    ("tcp", 4, "10.1.2.3", 5432, "nc"), ("tcp", 4, "0.0.0.0", 443, "nginx"),
    ("tcp", 4, "0.0.0.0", 3000, "node"), ("udp", 6, "::", 161, "snmpd"),
    ("tcp", 4, "0.0.0.0", 9100, "node_exporter"), ("tcp", 4, "0.0.0.0", 31337, None),
]
_GROUPS = ("web", "db", "app")


def _name(rng: random.Random, i: int) -> str:
    """Host names: plain, ranges that compact, look-alikes, and a few odd ones."""
    roll = rng.random()
    if roll < 0.55:
        return f"{rng.choice(_GROUPS)}{i:02d}"
    if roll < 0.7:
        return f"web{i}.example.net"
    if roll < 0.8:
        return f"10.0.0.{i}"
    return rng.choice([f"ünï-{i}", f"h-{i}_x", f"web{i}-a", f"db{i:03d}"])


def _text(rng: random.Random, plain: str, hostile_rate: float = 0.3) -> str:
    return rng.choice(HOSTILE) if rng.random() < hostile_rate else plain


def _listeners(rng: random.Random, pid0: int) -> list[Listener]:
    out = []
    for n, (proto, fam, addr, port, proc) in enumerate(rng.sample(_PORTS, rng.randint(1, 7))):
        process = _text(rng, proc, 0.2) if proc else None
        out.append(Listener(proto, fam, addr, port, process, pid0 + n if process else None,
                            rng.choice(["root", "app", None])))
    if rng.random() < 0.3:  # containers: published, container-only, and one on 1923
        box = Container(id=f"{rng.getrandbits(64):016x}", name=_text(rng, "web-1"),
                        image=_text(rng, "nginx:1.25"), runtime="docker")
        exposure = rng.choice(["published", "container-only"])
        out.append(Listener("tcp", 4, "172.17.0.2", 80, "nginx", pid0 + 20, "root",
                            netns=4026532000 + pid0, container=box, exposure=exposure,
                            published_port=8088 if exposure == "published" else None))
        out.append(Listener("tcp", 4, "0.0.0.0", 1923, "spiced", pid0 + 21, "root",
                            netns=4026532000 + pid0, container=box, exposure="published",
                            published_port=1923))
    return out


def _extra(rng: random.Random, name: str, n: int) -> list[Finding]:
    """Findings of the kinds a random listener set rarely gives (missing, wrong process,
    undetermined, overdue review), as the judge would word them."""
    out = []
    for i in range(n):
        kind = rng.choice([FindingKind.MISSING, FindingKind.WRONG_PROCESS,
                           FindingKind.UNDETERMINED, FindingKind.OVERDUE_REVIEW,
                           FindingKind.WRONG_BIND])
        port = None if kind is FindingKind.OVERDUE_REVIEW or rng.random() < 0.2 else \
            rng.choice([443, 5432, 1923, 8443])
        proc = None if kind is FindingKind.MISSING else _text(rng, "postgres")
        out.append(Finding(
            id="FC-" + builders.sha(f"{name}/{i}/{kind.value}")[:12], kind=kind,
            severity=rng.choice(list(Severity)),
            proto="tcp", port=port, address=None if port is None else "0.0.0.0",
            process=proc, rule=f"web/{_text(rng, 'https', 0.2)}",
            message=_text(rng, f"{kind.value} on {port}")))
    return out


def _decorate(rng: random.Random, f: Finding, history: bool) -> Finding:
    """A finding with a random severity, waiver and history mark."""
    changes: dict[str, object] = {"severity": rng.choice(list(Severity))}
    if rng.random() < 0.2:
        changes.update(waived=True, waiver=rng.choice(["W-100", "W-<b>", "=W-3"]))
    if history:
        change = rng.choice(list(Change))
        changes.update(change=change, first_seen="2026-11-20T02:00:00Z",
                       age_days=0 if change is Change.NEW else 6)
    return dataclasses.replace(f, **changes)  # type: ignore[arg-type]


def _host(rng: random.Random, name: str, i: int, pols: list[Policy],
          history: bool) -> HostResult:
    group = rng.choice(_GROUPS)
    roll = rng.random()
    if roll < 0.25:
        kind = rng.choice(_KINDS)
        message = _text(rng, f"{kind.value.replace('_', ' ')} talking to {name}")
        commands = () if kind in UNREACHABLE_KINDS or rng.random() < 0.5 else (
            CommandRecord("sh -c 'ss -tulnpe'", 1, "", _text(rng, "boom") + "\n", 0.2),)
        host = builders.failed_host(name, kind, message, commands)
        if kind is ErrorKind.NOT_RUN:
            host = dataclasses.replace(host, error=not_run_error())
        return dataclasses.replace(host, groups=(group,), address=f"{name}.example.net")
    host = builders.checked_host(name, (group, f"dc{i % 2}"), _listeners(rng, 100 + 30 * i),
                                 pols, notes=(_text(rng, "a note"),) if rng.random() < 0.2
                                 else ())
    findings = [*host.findings, *_extra(rng, name, rng.choice([0, 0, 1, 2]))]
    findings = [_decorate(rng, f, history) for f in findings]
    return dataclasses.replace(host, findings=tuple(findings), status=Status.COMPLIANT)


def _waivers(rng: random.Random) -> tuple[WaiverRecord, ...]:
    return (
        WaiverRecord(id="W-100", status="active", reason=_text(rng, "legacy"), owner="a@x",
                     ticket=_text(rng, "CHG-1"), expires="2027-03-31", hosts="*",
                     port="8080", matched=1, path="waivers.yml", line=3),
        WaiverRecord(id="W-<b>", status="active", reason=_text(rng, "odd id"),
                     owner=_text(rng, "b@x"), expires="2027-01-01", hosts="*", matched=1,
                     path="waivers.yml", line=9),
        WaiverRecord(id="=W-3", status="active", reason="formula id", owner="c@x",
                     hosts="*", matched=1, path="waivers.yml", line=14),
        WaiverRecord(id="W-OLD", status="expired", reason=_text(rng, "mdns"), owner="d@x",
                     expires="2026-06-30", hosts="*", proto="udp", port="5353", matched=1,
                     path="waivers.yml", line=20),
        WaiverRecord(id="W-IDLE", status="unused", reason="nothing", owner="e@x",
                     hosts="db*", port="10050", path="waivers.yml", line=25),
    )


def random_run(seed: int) -> RunResult:
    """One random run for `seed` (the same run for the same seed)."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible test data, not secrets
    pols = builders.policies()
    count = rng.choice([0, 1, 2, 3, 5, 8, 12, 20]) if seed % 7 else 0
    history = rng.random() < 0.5
    names: list[str] = []
    for i in range(count):
        name = _name(rng, i)
        if name not in names:
            names.append(name)
    hosts = [_host(rng, name, i, pols, history) for i, name in enumerate(names)]
    fail_on = rng.choice(list(Severity))
    complete = not any(h.error and h.error.kind in (ErrorKind.NOT_RUN, ErrorKind.INTERRUPTED)
                       for h in hosts)
    settled, summary = judge_run(hosts, fail_on, complete=complete)
    base = builders.composite_run()
    changes = None
    if history:
        gone = Finding("FC-0123456789ab", FindingKind.STRAY, Severity.HIGH, "tcp", 1923, "0.0.0.0",
                       _text(rng, "spiced"), None, "stray tcp/1923", first_seen=base.started_at,
                       age_days=3)
        changes = Changes(fixed=(HostFinding("old-host", gone, base.started_at),),
                          new=sum(f.change is Change.NEW for h in settled for f in h.findings),
                          reopened=sum(f.change is Change.REOPENED for h in settled
                                       for f in h.findings),
                          against={"source": "history", "database": "history.db"})
    meta = {**base.meta, "fail_on": fail_on.label,
            "warnings": [_text(rng, "waiver W-OLD expired on 2026-06-30", 0.5)]}
    if not complete:
        meta["interrupted_by"] = "SIGINT"
    return dataclasses.replace(
        base, run_id=f"20261126T020000Z-{seed:08x}", hosts=tuple(sorted(
            settled, key=lambda h: h.name)), summary=summary,
        waivers=_waivers(rng), changes=changes, meta=meta)


__all__ = ["HOSTILE", "HostError", "random_run"]
