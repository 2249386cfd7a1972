"""Waivers as a library: what they cover, how they are applied and reported, and round trips."""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import replace

import pytest

from fleetcheck.errors import InputError
from fleetcheck.model import HostError, HostResult, Status
from fleetcheck.policy.judge import evaluate
from fleetcheck.policy.waiver_load import waivers_from_text
from fleetcheck.policy.waivers import WaiverBook, waiver_from_record
from tests.policy.helpers import listeners, policy

POLICY = policy("""
    name: p
    default: deny
    allow:
      - id: ssh
        proto: tcp
        port: 22
        process: sshd
    forbid:
      - id: spice
        service: spice
        severity: critical
    require:
      - id: agent
        proto: tcp
        port: 9100
""")
TODAY = dt.date(2030, 6, 1)


def waivers(text: str) -> WaiverBook:
    """Waivers from text, bound to hosts h1 and h2 (all) or as their pattern names."""
    loaded = waivers_from_text(textwrap.dedent(text), "w.yml")
    bound = [replace(w, host_names=frozenset({"h1", "h2"}) if w.hosts is None
                     else frozenset(w.hosts.split(":"))) for w in loaded]
    return WaiverBook(tuple(bound), TODAY)


def header(wid: str, hosts: str = "all", expires: str = "2030-12-31") -> str:
    return (f"  - id: {wid}\n    hosts: {hosts}\n    reason: r\n    owner: o\n"
            f"    approved_by: a\n    created: 2030-01-01\n    expires: {expires}\n")


def judged(book: WaiverBook, host: str = "h1") -> list[tuple[str, int | None, str | None]]:
    j = evaluate(host, listeners(["tcp 0.0.0.0:22 dropbear", "tcp 0.0.0.0:1923 spiced",
                                  "udp 0.0.0.0:1923 spiced", "tcp 0.0.0.0:8080 -"]), [POLICY])
    return sorted(((f.kind.value, f.port, f.waiver) for f in book.apply(host, j.findings)),
                  key=lambda t: (t[0], t[1] or 0, t[2] or ""))


@pytest.mark.parametrize(("conditions", "expected"), [
    ("    port: 8080\n", [("forbidden", 1923, None), ("forbidden", 1923, None),
                          ("missing", 9100, None), ("stray", 8080, "W"),
                          ("wrong_process", 22, None)]),
    ("    service: spice\n    proto: udp\n", [
        ("forbidden", 1923, None), ("forbidden", 1923, "W"), ("missing", 9100, None),
        ("stray", 8080, None), ("wrong_process", 22, None)]),
    ("    rule: p/agent\n", [("forbidden", 1923, None), ("forbidden", 1923, None),
                             ("missing", 9100, "W"), ("stray", 8080, None),
                             ("wrong_process", 22, None)]),
    ("    rule: 'p/*'\n    kind: [forbidden, wrong_process]\n", [
        ("forbidden", 1923, "W"), ("forbidden", 1923, "W"), ("missing", 9100, None),
        ("stray", 8080, None), ("wrong_process", 22, "W")]),
    ("    process: 'drop*'\n", [("forbidden", 1923, None), ("forbidden", 1923, None),
                                ("missing", 9100, None), ("stray", 8080, None),
                                ("wrong_process", 22, "W")]),
    # a finding whose process was not seen is never covered by a process condition
    ("    process: '~.*'\n    port: 8080\n", [
        ("forbidden", 1923, None), ("forbidden", 1923, None), ("missing", 9100, None),
        ("stray", 8080, None), ("wrong_process", 22, None)]),
])
def test_what_a_waiver_covers(conditions: str, expected: list[tuple[str, int, str]]) -> None:
    book = waivers("waivers:\n" + header("W") + conditions)
    assert judged(book) == expected


def test_hosts_scope_and_load_order() -> None:
    book = waivers("waivers:\n" + header("ONLY2", "h2") + "    port: 8080\n"
                   + header("FIRST") + "    port: 8000-8100\n"
                   + header("SECOND") + "    port: 8080\n")
    assert ("stray", 8080, "FIRST") in judged(book, "h1")
    assert ("stray", 8080, "ONLY2") in judged(book, "h2")
    assert book.selecting("h1") == ("FIRST", "SECOND")


def _host(book: WaiverBook, name: str) -> HostResult:
    j = evaluate(name, listeners(["tcp 0.0.0.0:8080 webd"]), [POLICY])
    findings = book.apply(name, j.findings)
    return HostResult(name, name, (), Status.NONCOMPLIANT, findings=findings,
                      listeners=j.listeners)


def test_records_and_warnings() -> None:
    book = waivers("waivers:\n" + header("ACTIVE") + "    port: 8080\n"
                   + header("OLD", expires="2030-05-31") + "    rule: p/agent\n"
                   "    ticket: T-9\n"
                   + header("IDLE") + "    port: 1\n")
    hosts = [_host(book, "h1"), _host(book, "h2")]
    records, warnings = book.records(hosts)
    assert [(r.id, r.status, r.matched) for r in records] == [
        ("ACTIVE", "active", 2), ("OLD", "expired", 2), ("IDLE", "unused", 0)]
    assert warnings == [
        "waiver OLD (owner o, ticket T-9) expired on 2030-05-31 and no longer waives anything: "
        "2 findings it covers are reported as open again",
        "waiver IDLE (owner o) matched no finding: remove it or correct what it covers",
    ]
    assert records[0].port == "8080" and records[0].hosts == "all"
    assert records[1].conditions == {"rule": ["p/agent"]}


def test_unused_because_its_hosts_were_not_checked() -> None:
    book = waivers("waivers:\n" + header("W", "h1") + "    port: 8080\n")
    down = HostResult("h1", "h1", (), Status.UNREACHABLE, error=HostError("no_route", "x"))
    _, warnings = book.records([down])
    assert warnings == ["waiver W (owner o) matched no finding: none of its hosts could be "
                        "checked"]


def test_records_rebuild_the_waiver() -> None:
    book = waivers("waivers:\n" + header("W", "h1") + "    proto: tcp\n    port: '80,8000-8100'"
                   "\n    service: spice\n    process: ['~gunicorn|uwsgi', nginx]\n"
                   "    kind: stray\n    rule: 'p/*'\n    finding: FC-0123456789ab\n")
    (w,) = book.waivers
    (record,) = book.records([])[0]
    rebuilt = waiver_from_record(record, ["h1"])
    assert rebuilt == w
    assert record.process == "~gunicorn|uwsgi, nginx"


def test_library_loader_raises_the_first_problem() -> None:
    with pytest.raises(InputError) as exc:
        waivers_from_text("waivers:\n  - id: W\n    port: 1\n", "w.yml")
    assert str(exc.value).startswith("w.yml:2:5: waiver 'W' lacks 'hosts', 'reason', 'owner', "
                                     "'approved_by', 'created', 'expires'")
