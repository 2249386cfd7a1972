"""Judging listeners against layered policies: table-driven cases for every combination rule."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fleetcheck.model import FindingKind, Severity
from fleetcheck.policy.judge import evaluate, finding_id
from fleetcheck.policy.load import load_policies
from tests.conftest import REPO
from tests.policy.helpers import kinds, listener, listeners, policy

BASELINE = load_policies([REPO / "fleetcheck" / "data" / "baseline.yml"])[0]

WEB = policy("""
    name: web
    hosts: web
    allow:
      - id: http
        proto: tcp
        port: [80, 443]
        address: wildcard
        process: nginx
      - id: wide
        proto: tcp
        port: 1900-1999
    require:
      - id: https
        proto: tcp
        port: 443
        process: nginx
        reason: the site is served over HTTPS
""", "web.yml")
DB = policy("""
    name: db
    allow:
      - id: postgres
        service: postgresql
        address: [loopback, private]
        process: postgres
        severity: critical
    require:
      - id: postgres-up
        service: postgresql
        process: postgres
""", "db.yml")
OPEN = policy("""
    name: open
    default: allow
    stray_severity: low
    forbid:
      - id: telnet
        service: telnet
        severity: medium
      - id: telnet-critical
        proto: tcp
        port: 23
        address: wildcard
        severity: critical
""", "open.yml")
SILENT = policy("""
    name: silent
    stray_severity: critical
    undetermined_severity: medium
    allow:
      - id: ntp
        proto: udp
        port: 123
        user: ntp
""", "silent.yml")
NOPROC = policy("""
    name: noproc
    forbid:
      - id: no-netcat
        process: [nc, ncat, 'netcat*']
        severity: critical
""", "noproc.yml")

CASES = [
    pytest.param([BASELINE], [
        "tcp 0.0.0.0:22 sshd", "tcp 127.0.0.1:6379 redis-server", "udp 0.0.0.0:68 dhclient",
        "tcp 0.0.0.0:1923 spiced", "tcp [::]:8080 webd",
    ], {
        ("forbidden", "critical", "tcp", 1923, "baseline/spice"),
        ("stray", "high", "tcp", 8080, None),
    }, {22: "allowed", 6379: "allowed", 68: "allowed", 1923: "forbidden", 8080: "stray"},
        id="baseline"),
    pytest.param([BASELINE, WEB], [
        "tcp [::]:443 nginx", "tcp 0.0.0.0:80 apache2", "tcp 0.0.0.0:1923 spiced",
        "tcp 0.0.0.0:1950 app",
    ], {
        ("forbidden", "critical", "tcp", 1923, "baseline/spice"),  # a forbid beats web/wide
        ("wrong_process", "high", "tcp", 80, "web/http"),
    }, {443: "allowed", 80: "wrong_process", 1923: "forbidden", 1950: "allowed"},
        id="layered-allows-add-up-forbid-wins"),
    pytest.param([BASELINE, WEB], ["tcp 0.0.0.0:443 apache2"], {
        ("wrong_process", "high", "tcp", 443, "web/http"),
        ("missing", "high", "tcp", 443, "web/https"),
    }, {443: "wrong_process"}, id="requirement-missing-and-wrong-process"),
    pytest.param([BASELINE, DB], ["tcp 0.0.0.0:5432 postgres"], {
        ("wrong_bind", "critical", "tcp", 5432, "db/postgres"),
    }, {5432: "wrong_bind"}, id="database-beyond-loopback-is-wrong-bind"),
    pytest.param([BASELINE, DB], ["tcp 10.0.0.5:5432 postgres", "tcp 127.0.0.1:5432 postgres"],
                 set(), {5432: "allowed"}, id="database-private-and-loopback"),
    pytest.param([BASELINE, WEB, DB], [], {
        ("missing", "high", "tcp", 443, "web/https"),
        ("missing", "high", "tcp", 5432, "db/postgres-up"),
    }, {}, id="requirements-add-up"),
    pytest.param([OPEN], ["tcp 0.0.0.0:9999 anything", "tcp 0.0.0.0:23 telnetd",
                          "tcp 127.0.0.1:23 telnetd"], {
        ("forbidden", "critical", "tcp", 23, "open/telnet-critical"),  # the worst forbid decides
        ("forbidden", "medium", "tcp", 23, "open/telnet"),
    }, {9999: "allowed", 23: "forbidden"}, id="default-allow-and-worst-forbid"),
    pytest.param([OPEN, BASELINE], ["tcp 0.0.0.0:9999 anything"], {
        ("stray", "high", "tcp", 9999, None),
    }, {9999: "stray"}, id="deny-wins-over-allow"),
    pytest.param([SILENT], ["udp 0.0.0.0:123 ntpd", "tcp 0.0.0.0:80 web"], {
        ("undetermined", "medium", "udp", 123, "silent/ntp"),
        ("stray", "critical", "tcp", 80, None),
    }, {123: "undetermined", 80: "stray"}, id="no-default-stated-is-deny"),
    pytest.param([], ["tcp 0.0.0.0:80 web"], {("stray", "medium", "tcp", 80, None)},
                 {80: "stray"}, id="no-policy-is-deny"),
    pytest.param([BASELINE, NOPROC], ["tcp 0.0.0.0:22 -", "tcp 0.0.0.0:4444 nc",
                                      "tcp 0.0.0.0:5555 -"], {
        ("undetermined", "low", "tcp", 22, "noproc/no-netcat"),  # allowed unless it is netcat
        ("forbidden", "critical", "tcp", 4444, "noproc/no-netcat"),
        ("stray", "high", "tcp", 5555, None),  # stray stays stray: no weaker finding hides it
    }, {22: "undetermined", 4444: "forbidden", 5555: "stray"}, id="forbid-needs-unseen-owner"),
]


@pytest.mark.parametrize(("policies", "specs", "expected", "verdicts"), CASES)
def test_evaluate_table(policies: list, specs: list[str], expected: set,  # type: ignore[type-arg]
                        verdicts: dict[int, str]) -> None:
    j = evaluate("h1", listeners(specs), policies)
    assert kinds(j.findings) == expected
    assert {jl.listener.port: jl.verdict.value for jl in j.listeners} == verdicts
    for f in j.findings:  # every finding is a sentence naming what it is about
        assert (str(f.port or "") in f.message and f.message[0].isupper()) or \
            f.message.startswith("nothing satisfies")


def test_the_deciding_rule_is_recorded_per_listener() -> None:
    j = evaluate("h1", listeners(["tcp 0.0.0.0:22 sshd", "tcp 127.0.0.1:25 exim",
                                  "tcp [::]:443 nginx"]), [BASELINE, WEB])
    assert [(jl.listener.port, jl.rule) for jl in j.listeners] == [
        (22, "baseline/ssh"), (25, "baseline/loopback-only"), (443, "web/http")]


def test_a_requirement_does_not_allow_by_itself() -> None:
    req = policy("""
        name: req
        require:
          - id: agent
            proto: tcp
            port: 9100
            process: node_exporter
    """)
    j = evaluate("h1", listeners(["tcp 0.0.0.0:9100 node_exporter"]), [BASELINE, req])
    assert kinds(j.findings) == {("stray", "high", "tcp", 9100, None)}  # required, not allowed
    j = evaluate("h1", listeners(["tcp 127.0.0.1:9100 node_exporter"]), [BASELINE, req])
    assert j.findings == ()


def test_unseen_owner_beats_a_near_miss_from_another_rule() -> None:
    two = policy("""
        name: two
        allow:
          - id: bound
            proto: tcp
            port: 22
            address: loopback
          - id: owned
            proto: tcp
            port: 22
            process: sshd
    """)
    j = evaluate("h1", listeners(["tcp 0.0.0.0:22 -"]), [two])
    assert kinds(j.findings) == {("undetermined", "low", "tcp", 22, "two/owned")}
    j = evaluate("h1", listeners(["tcp 0.0.0.0:22 dropbear"]), [two])
    assert kinds(j.findings) == {("wrong_bind", "high", "tcp", 22, "two/bound")}  # file order


def test_truncated_listener_is_never_allowed() -> None:
    li = replace(listener("tcp 127.0.0.1:5432 postgres"), truncated=True)
    j = evaluate("h1", [li], [BASELINE])
    assert kinds(j.findings) == {("stray", "high", "tcp", 5432, None)}
    assert "truncated" in j.findings[0].message


def test_missing_names_what_was_found_instead() -> None:
    j = evaluate("h1", listeners(["tcp 0.0.0.0:443 apache2"]), [WEB])
    missing = next(f for f in j.findings if f.kind is FindingKind.MISSING)
    assert missing.message == (
        "nothing satisfies web/https: a listener with proto tcp, port 443, process nginx is "
        "required: the site is served over HTTPS (found instead: TCP 443 (https) on 0.0.0.0 "
        "(apache2))")


def test_requirement_with_hidden_owner_is_undetermined() -> None:
    j = evaluate("h1", listeners(["tcp 0.0.0.0:443 -"]), [BASELINE, WEB])
    assert ("undetermined", "low", "tcp", 443, "web/https") in kinds(j.findings)


def test_messages_read_as_sentences() -> None:
    j = evaluate("h1", [replace(listener("tcp 0.0.0.0:1923 spiced"), pid=42)], [BASELINE])
    assert j.findings[0].message == (
        "TCP 1923 (spice) on 0.0.0.0 (spiced, pid 42) is forbidden by baseline/spice: TCP 1923 "
        "is IANA's SPICE remote-display port; nothing on a server should hold it.")
    j = evaluate("h1", listeners(["udp 0.0.0.0:123 ntpd"]), [SILENT])
    assert j.findings[0].message == (
        "UDP 123 (ntp) on 0.0.0.0 (ntpd): silent/ntp allows it only for user ntp, and the owner "
        "could not be seen (collect with --become)")
    j = evaluate("h1", [replace(listener("tcp 0.0.0.0:443 apache2"), user="www-data")], [WEB])
    assert j.findings[1].message == (
        "TCP 443 (https) on 0.0.0.0 (apache2) is held by apache2 (user www-data), but web/http "
        "allows only process nginx on this port")
    j = evaluate("h1", listeners(["tcp 0.0.0.0:5432 postgres"]), [DB])
    assert j.findings[0].message == (
        "TCP 5432 (postgresql) on 0.0.0.0 (postgres) is bound beyond what db/postgres allows on "
        "this port (address loopback or private)")
    j = evaluate("h1", listeners(["tcp 0.0.0.0:22 -"]), [BASELINE, NOPROC])
    assert j.findings[0].message == (
        "TCP 22 (ssh) on 0.0.0.0 would be allowed, but noproc/no-netcat forbids it if its "
        "process matches, which could not be seen")
    j = evaluate("h1", listeners(["tcp 0.0.0.0:8080 webd"]), [OPEN, BASELINE])
    assert j.findings[0].message == (
        "TCP 8080 (http-alt) on 0.0.0.0 (webd) is not allowed by any rule; default: deny in "
        "baseline, which wins over default: allow in open")


def test_finding_ids_are_stable_and_per_host() -> None:
    specs = ["tcp 0.0.0.0:1923 spiced", "tcp 0.0.0.0:8080 webd"]
    a = evaluate("h1", listeners(specs), [BASELINE])
    b = evaluate("h1", list(reversed(listeners(specs))), [BASELINE])
    c = evaluate("h2", listeners(specs), [BASELINE])
    assert [f.id for f in a.findings] == [f.id for f in b.findings]
    assert not {f.id for f in a.findings} & {f.id for f in c.findings}
    assert a.findings[0].id == finding_id("h1", FindingKind.FORBIDDEN, "tcp", 1923, "0.0.0.0",
                                          "baseline/spice")


def test_shared_socket_gives_one_finding() -> None:
    specs = [replace(listener("tcp 0.0.0.0:8080 webd"), pid=p) for p in (10, 11)]
    assert len(evaluate("h1", specs, [BASELINE]).findings) == 1


def test_severity_of_stray_is_the_worst_deny_policy(tmp_path: Path) -> None:
    low = policy("name: low\ndefault: deny\nstray_severity: low\nallow: []\n")
    j = evaluate("h1", listeners(["tcp 0.0.0.0:8080 webd"]), [low, BASELINE])
    assert j.findings[0].severity is Severity.HIGH


@pytest.mark.parametrize(("rule", "known_kind"), [
    ('user: "101"', FindingKind.STRAY),  # the rule cannot hold without a port: stray
    ('port: 22\n            user: "101"', FindingKind.WRONG_PROCESS),  # its port, wrong user
])
def test_one_socket_listed_with_and_without_its_owner_is_judged_by_the_owner(
        rule: str, known_kind: FindingKind) -> None:
    """Found by hypothesis: an allow rule on users made the listing without a uid
    'undetermined' beside the other listing's verdict (stray, or wrong_process when the
    rule names the port) — two findings for one socket, whichever order they come in."""
    pol = policy(f"""
        name: p
        default: deny
        stray_severity: info
        undetermined_severity: low
        allow:
          - id: app-user
            {rule}
    """)
    known = listener("tcp 0.0.0.0:22 -", pid=1, uid=0)
    unknown = listener("tcp 0.0.0.0:22 -", pid=1)
    for order in ([known, unknown, unknown], [unknown, unknown, known]):
        judged = evaluate("h", order, [pol])
        assert [(f.kind, f.port) for f in judged.findings] == [(known_kind, 22)]
    alone = evaluate("h", [unknown], [pol])  # no listing knows the owner: undetermined
    assert [f.kind for f in alone.findings] == [FindingKind.UNDETERMINED]
