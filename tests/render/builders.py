"""Runs built from the model for the renderers: every status, finding kind and waiver status.

These are test data for pure renderers (what a local run cannot produce yet: other hosts'
failures, waivers, names a kernel's comm cannot hold), judged by the real `evaluate` against
real policy files and settled by the real `judge_run`. Everything is fixed, so the
rendered reports are stable enough for golden files.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Sequence
from pathlib import Path

from fleetcheck.cli.common import baseline_path
from fleetcheck.engine.summary import host_status, judge_run
from fleetcheck.errors import ErrorKind
from fleetcheck.model import (
    CommandRecord,
    Finding,
    HostError,
    HostResult,
    InputFile,
    Listener,
    RunResult,
    Severity,
    WaiverRecord,
)
from fleetcheck.policy import Policy, review
from fleetcheck.policy.judge import evaluate
from fleetcheck.policy.load import load_policies
from fleetcheck.policy.problems import Problems
from fleetcheck.policy.serialize import policy_to_dict

DATA = Path(__file__).with_name("data")
XSS = "<script>alert(1)</script>"
STARTED, FINISHED = "2026-11-26T02:00:00Z", "2026-11-26T02:03:07Z"
REVIEW_DAY = datetime.date(2026, 11, 26)


def policies() -> list[Policy]:
    """The shipped baseline and the web tier's policy, reviews judged on the run's day."""
    return review.judge(load_policies([baseline_path(), DATA / "web.yml"]), REVIEW_DAY,
                        Problems())


def ss_output(listeners: Sequence[Listener]) -> str:
    """An `ss -tulnpe`-shaped listing of `listeners`, for the command evidence."""
    lines = ["Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process"]
    for li in listeners:
        addr = f"[{li.address}]" if ":" in li.address else li.address
        state = "LISTEN" if li.proto == "tcp" else "UNCONN"
        users = f' users:(("{li.process}",pid={li.pid},fd=3))' if li.process else ""
        lines.append(f"{li.proto:<5} {state:<6} 0      128    {addr}:{li.port} *:* {users}")
    return "\n".join(lines) + "\n"


def probe(listeners: Sequence[Listener], exit_code: int = 0, stderr: str = "") -> CommandRecord:
    """The command record of one collection on a host."""
    return CommandRecord("sh -c 'ss -tulnpe'\n# collection probe, second line", exit_code,
                         ss_output(listeners), stderr, 0.042)


def checked_host(name: str, groups: tuple[str, ...], listeners: Sequence[Listener],
                 pols: Sequence[Policy], *, notes: tuple[str, ...] = (),
                 os: str = "Linux 6.1.0-28-amd64") -> HostResult:
    """A host whose listeners were read, judged by the real policies."""
    applied = tuple(p for p in pols if p.name == "baseline" or p.name in groups)
    judged = evaluate(name, listeners, applied)
    return HostResult(name=name, address=f"{name}.example.net", groups=groups,
                      status=host_status(judged.findings, None), os=os, collector="ss",
                      listeners=judged.listeners, findings=judged.findings,
                      commands=(probe(listeners),), policies=tuple(p.name for p in applied),
                      privileged=True, duration=0.1234, notes=notes)


def failed_host(name: str, kind: ErrorKind, message: str,
                commands: tuple[CommandRecord, ...] = ()) -> HostResult:
    """A host that could not be checked."""
    error = HostError(kind.value, message)
    return HostResult(name=name, address=f"{name}.example.net", groups=("legacy",),
                      status=host_status((), error), error=error, commands=commands,
                      policies=("baseline",), duration=10.0)


def waive(host: HostResult, port: int, waiver: str) -> HostResult:
    """`host` with its finding on `port` waived by `waiver`, status recomputed."""
    findings = tuple(dataclasses.replace(f, waived=True, waiver=waiver) if f.port == port else f
                     for f in host.findings)
    return dataclasses.replace(host, findings=findings, status=host_status(findings, None))


def sha(text: str) -> str:
    """A stand-in digest for an input file that exists only in this test data."""
    return hashlib.sha256(text.encode()).hexdigest()


WAIVERS = (
    WaiverRecord(id="W-100", status="active", reason="Legacy Java admin until the migration.",
                 owner="alice@example.net", ticket="CHG-4711", approved_by="sec-team",
                 created="2026-10-01", expires="2027-03-31", hosts="app*", proto="tcp",
                 port="8443", matched=1, path="waivers.yml", line=3),
    WaiverRecord(id="W-200", status="expired", reason="mDNS for the printer pilot.",
                 owner="bob@example.net", ticket="SEC-12", created="2026-01-01",
                 expires="2026-06-30", hosts="web1", proto="udp", port="5353", matched=1,
                 path="waivers.yml", line=14),
    WaiverRecord(id="W-300", status="unused", reason="Old monitoring agent.",
                 owner="carol@example.net", ticket=None, expires="2027-01-01",
                 hosts="db*", port="10050", process="zabbix_agentd", path="waivers.yml",
                 line=25),
)


def composite_run() -> RunResult:
    """Five hosts: forbidden and stray (web1), compliant (db1), waived and a hostile process
    name (app1), unreachable (legacy1), an authentication error with evidence (win1)."""
    pols = policies()
    web1 = checked_host("web1", ("web",), [
        Listener("tcp", 4, "0.0.0.0", 22, "sshd", 812, "root",
                 other_processes=("sshd/813",)),
        Listener("tcp", 4, "0.0.0.0", 1923, "spiced", 4242, "root"),
        Listener("udp", 4, "0.0.0.0", 5353, "mdnsd", 901, "avahi"),
        Listener("tcp", 6, "::", 8080, "webd", 1200, None, dual_stack=True, uid=33),
        Listener("tcp", 4, "127.0.0.1", 6379, "redis-server", 733, "redis"),
        Listener("tcp", 4, "0.0.0.0", 5432, "nc", 3131, "root"),
        Listener("tcp", 6, "fe80::1", 9100, None, None, None, iface="eth0"),
    ], pols)
    db1 = checked_host("db1", ("db",), [
        Listener("tcp", 4, "0.0.0.0", 22, "sshd", 640, "root"),
        Listener("tcp", 6, "::1", 5432, "postgres", 1001, "postgres"),
    ], pols, os="Linux 5.15.0-122-generic")
    app1 = waive(checked_host("app1", ("app",), [
        Listener("tcp", 4, "0.0.0.0", 22, "sshd", 700, "root"),
        Listener("tcp", 4, "0.0.0.0", 8443, "java", 2222, "tomcat"),
        Listener("tcp", 4, "0.0.0.0", 31337, XSS, 6666, "nobody"),
    ], pols, notes=("collected without root: owners of some sockets could not be seen "
                    "(use --become)",)), 8443, "W-100")
    legacy1 = failed_host("legacy1", ErrorKind.CONNECT_TIMEOUT,
                          "no answer from legacy1.example.net:22 within 10 s")
    win1 = failed_host("win1", ErrorKind.AUTH_FAILED,
                       "authentication failed for user 'audit' (publickey, password)",
                       (CommandRecord("true", None, "", "Permission denied <b>(publickey)</b>"
                                      "\x1b[0m\x00 & more", 0.5),))
    web1, db1, app1 = (dataclasses.replace(h, waivers=(w,)) for h, w in
                       ((web1, "W-200"), (db1, "W-300"), (app1, "W-100")))
    hosts = sorted([web1, db1, app1, legacy1, win1], key=lambda h: h.name)
    settled, summary = judge_run(hosts, Severity.LOW, complete=True)  # as a real run is
    return RunResult(
        run_id="20261126T020000Z-c0ffee01",
        tool_version="0.1.0", started_at=STARTED, finished_at=FINISHED,
        inputs=(InputFile("inventory", "inventory/prod.ini", sha("prod.ini")),
                InputFile("policy", "policies/baseline.yml", sha("baseline.yml")),
                InputFile("policy", "policies/web.yml", sha("web.yml")),
                InputFile("waiver", "waivers.yml", sha("waivers.yml"))),
        hosts=settled, summary=summary,
        meta={"command_line": ["fleetcheck", "scan", "-i", "inventory/prod.ini", "-p",
                               "policies/web.yml", "-o", "reports", "--format",
                               "text,html,json,junit,csv"],
              "user": "auditor", "hostname": "bastion-1", "fail_on": "low", "forks": 20,
              "become": True, "policies": ["baseline", "web"], "host_key_checking": "strict",
              "warnings": ["waiver W-200 expired on 2026-06-30: the finding it covered on "
                           "web1 (udp/5353) counts again",
                           "1 host could not be checked (connect_timeout on legacy1)"]},
        waivers=WAIVERS, policy_definitions=tuple(
            policy_to_dict(dataclasses.replace(p, path=f"policies/{Path(p.path).name}"))
            for p in pols),
    )


def finding_on(run: RunResult, host: str, port: int | None) -> Finding:
    """The one finding of `host` on `port` (None: a requirement finding)."""
    (finding,) = [f for h in run.hosts if h.name == host for f in h.findings if f.port == port]
    return finding
