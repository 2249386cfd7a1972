"""`fleetcheck validate`: every problem at once, errors apart from warnings, nothing contacted."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.conftest import run_cli

TODAY = "2030-06-01"
INVENTORY = """\
all:
  children:
    web:
      hosts:
        web1: {ansible_host: 192.0.2.10}
        web2: {ansible_host: 192.0.2.11}
    db:
      hosts:
        db1: {ansible_host: 192.0.2.20}
"""


def write(root: Path, files: dict[str, str]) -> None:
    """Write dedented files under `root`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def validate(root: Path, *args: str) -> tuple[int, list[str]]:
    res = run_cli(["validate", "--today", TODAY, *args], cwd=root)
    return res.code, res.out.splitlines()


def test_every_problem_is_reported_in_file_order(tmp_path: Path) -> None:
    write(tmp_path, {
        "inv.yml": INVENTORY,
        "p/web.yml": """\
            name: web
            hosts: web
            allow:
              - id: http
                prot: tcp
                port: 80
              - id: https
                port: 443
                severity: hgh
            forbid:
              - id: telnet
                port: 23
              - id: telnet
                port: 2323
            """,
        "p/db.yml": """\
            name: db
            hosts: dbs
            defualt: deny
            """,
        "w.yml": """\
            waivers:
              - id: W1
                hosts: web
                port: 8080
                reason: migration
                owner: alice
                approved_by: bob
                created: 2030-01-01
                expires: 2030-03-31
              - id: W2
                hosts: web
                reason: forgot what
                owner: alice
                approved_by: bob
                created: 2030-01-01
                expires: 2030-12-31
            """,
    })
    code, lines = validate(tmp_path, "-i", "inv.yml", "-p", "p", "-w", "w.yml")
    assert code == 2
    assert lines == [
        "p/db.yml:3:1: error: unknown key 'defualt' in policy (did you mean 'default'?)",
        "p/web.yml:5:5: error: unknown key 'prot' in allow rule (did you mean 'proto'?)",
        "p/web.yml:9:15: error: unknown severity 'hgh' (expected critical, high, medium, low or "
        "info) (did you mean 'high'?)",
        "p/web.yml:13:5: error: duplicate rule id 'telnet' in policy 'web' (first used on line "
        "11)",
        "w.yml:9:14: warning: waiver 'W1' expired on 2030-03-31 (62 days ago): it waives "
        "nothing any more; renew it or remove it",
        "w.yml:10:5: error: waiver 'W2' would cover every finding on its hosts: name a port, "
        "service, process, rule, finding, container, image, pod or k8s_namespace",
        "5 errors, 1 warning: 3 hosts, 0 policies, 0 rules, 1 waiver",
    ]


def test_a_broken_rule_or_waiver_keeps_its_id_for_the_duplicate_check(tmp_path: Path) -> None:
    """docs/policies.md's example: the rule with a typo and the next rule reusing its id are
    two errors (the broken rule was dropped before its id was noted, hiding the duplicate)."""
    write(tmp_path, {
        "p/web.yml": """\
            name: web
            allow:
              - id: http
                prot: tcp
                port: 80
              - id: http
                port: 443
            """,
        "w1.yml": """\
            waivers:
              - id: W1
                hosts: all
                port: 8080
            """,
        "w2.yml": """\
            waivers:
              - id: W1
                hosts: all
                port: 8081
                reason: r
                owner: alice
                approved_by: bob
                created: 2030-01-01
                expires: 2030-12-31
              - id: W1
                hosts: all
            """,
    })
    code, lines = validate(tmp_path, "-p", "p", "-w", "w1.yml", "-w", "w2.yml")
    assert code == 2
    assert lines[:5] == [
        "p/web.yml:4:5: error: unknown key 'prot' in allow rule (did you mean 'proto'?)",
        "p/web.yml:6:5: error: duplicate rule id 'http' in policy 'web' (first used on line 3)",
        "w1.yml:2:5: error: waiver 'W1' lacks 'reason', 'owner', 'approved_by', 'created', "
        "'expires' (every waiver needs an id, hosts, reason, owner, approved_by, created and "
        "expires)",
        "w2.yml:2:5: error: duplicate waiver id 'W1' (first defined at w1.yml:2)",
        "w2.yml:10:5: error: duplicate waiver id 'W1' (first defined at w1.yml:2)",
    ]
    assert lines[5].startswith("w2.yml:10:5: error: waiver 'W1' lacks 'reason', ")
    assert lines[6] == "6 errors, 0 warnings: 1 host, 0 policies, 0 rules, 0 waivers"


GOOD = {
    "inv.yml": INVENTORY,
    "base.yml": """\
        name: base
        default: deny
        allow:
          - id: ssh
            proto: tcp
            port: 22
        forbid:
          - id: spice
            service: spice
            severity: critical
        """,
    "web.yml": """\
        name: web
        hosts: web
        allow:
          - id: https
            proto: tcp
            port: 443
            process: nginx
        """,
    "db.yml": """\
        name: db
        hosts: db
        allow:
          - id: postgres
            service: postgresql
            address: [loopback, private]
        """,
}


def test_clean_inputs_say_ok(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    code, lines = validate(tmp_path, "-i", "inv.yml", "-p", "base.yml", "-p", "web.yml",
                           "-p", "db.yml")
    assert (code, lines) == (0, ["ok: 3 hosts, 3 policies, 4 rules, 0 waivers"])


def test_warnings_do_not_fail_unless_strict(tmp_path: Path) -> None:
    write(tmp_path, {**GOOD, "extra.yml": """\
        name: extra
        hosts: web
        default: allow
        allow:
          - id: wide
            proto: tcp
            port: 1900-1999
          - id: wide-again
            proto: tcp
            port: 1900-1999
          - id: everything
        require:
          - id: agent
            proto: tcp
            port: 9100
        """, "lab.yml": """\
        name: lab
        hosts: lab
        require:
          - id: agent
            proto: tcp
            port: 9100
        """})
    args = ["-i", "inv.yml", "-p", "base.yml", "-p", "extra.yml", "-p", "lab.yml"]
    code, lines = validate(tmp_path, *args)
    assert code == 0
    assert lines == [
        "extra.yml:3:10: warning: policy 'extra' says default: allow, but 'base' says default: "
        "deny for the same hosts (web1, web2); deny wins there, so listeners no rule allows "
        "are stray",
        "extra.yml:5:5: warning: allow extra/wide and forbid base/spice (base.yml:8) overlap on "
        "TCP 1923: a forbid beats an allow, so listeners there that both match are forbidden",
        "extra.yml:8:5: warning: allow extra/wide-again and forbid base/spice (base.yml:8) "
        "overlap on TCP 1923: a forbid beats an allow, so listeners there that both match are "
        "forbidden",
        "extra.yml:8:5: warning: allow rule 'wide-again' repeats the conditions of rule 'wide'",
        "extra.yml:11:5: warning: allow rule 'everything' has no conditions and allows every "
        "listener (as default: allow would)",
        "lab.yml:2:8: warning: policy 'lab' selects no host: 'lab' matches nothing in the "
        "inventory",
        "0 errors, 6 warnings: 3 hosts, 3 policies, 7 rules, 0 waivers",
    ]
    strict, _ = validate(tmp_path, "--strict", *args)
    assert strict == 2


def test_conflicts_between_policies_on_shared_hosts(tmp_path: Path) -> None:
    write(tmp_path, {**GOOD, "open.yml": """\
        name: open
        hosts: db
        default: allow
        allow:
          - id: postgres-anywhere
            service: postgresql
        """, "strict.yml": """\
        name: strict
        hosts: web
        forbid:
          - id: no-https
            proto: tcp
            port: 443
        require:
          - id: exporter
            proto: tcp
            port: 9100
            process: node_exporter
        """})
    code, lines = validate(tmp_path, "-i", "inv.yml", "-p", "base.yml", "-p", "web.yml",
                           "-p", "open.yml", "-p", "strict.yml")
    assert code == 0
    assert lines[:-1] == [
        "open.yml:3:10: warning: policy 'open' says default: allow, but 'base' says default: "
        "deny for the same host (db1); deny wins there, so listeners no rule allows are stray",
        "strict.yml:8:5: warning: require rule 'exporter' asks for a listener that no allow rule "
        "allows: a requirement never allows by itself, so under default deny the listener it "
        "requires is stray; add an allow rule for it",
        "web.yml:4:5: warning: allow web/https never takes effect: forbid strict/no-https "
        "(strict.yml:4) forbids everything it allows (TCP 443)",
    ]


def test_policies_on_disjoint_hosts_do_not_conflict(tmp_path: Path) -> None:
    write(tmp_path, {**GOOD, "dbonly.yml": """\
        name: dbonly
        hosts: db
        forbid:
          - id: no-https
            proto: tcp
            port: 443
        """})
    code, lines = validate(tmp_path, "-i", "inv.yml", "-p", "base.yml", "-p", "web.yml",
                           "-p", "dbonly.yml")
    assert (code, lines) == (0, ["ok: 3 hosts, 3 policies, 4 rules, 0 waivers"])


def test_waiver_warnings(tmp_path: Path) -> None:
    write(tmp_path, {**GOOD, "w.yml": """\
        waivers:
          - id: SOON
            hosts: web
            port: 8080
            reason: r
            owner: alice
            approved_by: bob
            created: 2030-01-01
            expires: 2030-06-10
          - id: SELF
            hosts: db
            process: redis-server
            reason: r
            owner: carol
            approved_by: carol
            created: 2030-01-01
            expires: 2030-12-31
          - id: NOWHERE
            hosts: lab
            port: 1
            reason: r
            owner: dan
            approved_by: erin
            created: 2030-06-02
            expires: 2030-12-31
        """})
    code, lines = validate(tmp_path, "-i", "inv.yml", "-p", "base.yml", "-w", "w.yml")
    assert code == 0
    assert lines == [
        "w.yml:9:14: warning: waiver 'SOON' expires on 2030-06-10, in 9 days",
        "w.yml:15:18: warning: waiver 'SELF' is approved by its own owner (carol)",
        "w.yml:19:12: warning: waiver 'NOWHERE' selects no host: 'lab' matches nothing in the "
        "inventory",
        "0 errors, 3 warnings: 3 hosts, 1 policy, 2 rules, 3 waivers",
    ]


def test_waiver_created_in_the_future_is_refused(tmp_path: Path) -> None:
    """A creation date after today (one day of slack for time zones) cannot be right."""
    waiver = """\
        waivers:
          - id: LATER
            hosts: web
            port: 8080
            reason: r
            owner: alice
            approved_by: bob
            created: {created}
            expires: 2030-12-31
        """
    write(tmp_path, {**GOOD, "w.yml": waiver.format(created="2030-06-03")})
    code, lines = validate(tmp_path, "-i", "inv.yml", "-p", "base.yml", "-w", "w.yml")
    assert code == 2
    assert lines[0] == ("w.yml:8:14: error: waiver 'LATER' is created 2030-06-03, in the "
                        "future (today is 2030-06-01): a waiver cannot be approved before it "
                        "is written; fix the date")
    res = run_cli(["scan", "-i", "inv.yml", "-p", "base.yml", "-w", "w.yml", "--today",
                   "2030-06-01", "-o", "out"], cwd=tmp_path)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {lines[0].replace(' error:', '')}\n")
    assert not (tmp_path / "out").exists()
    write(tmp_path, {"w.yml": waiver.format(created="2030-06-02")})  # a time zone ahead
    assert validate(tmp_path, "-i", "inv.yml", "-p", "base.yml", "-w", "w.yml")[0] == 0


def test_duplicate_policy_names_and_missing_files(tmp_path: Path) -> None:
    write(tmp_path, {**GOOD, "copy.yml": GOOD["web.yml"]})
    code, lines = validate(tmp_path, "-i", "inv.yml", "-p", "web.yml", "-p", "copy.yml",
                           "-p", "nope.yml", "-w", "absent")
    assert code == 2
    assert [ln for ln in lines if ": error: " in ln] == [
        "absent: error: waiver file not found",
        "copy.yml:1:7: error: policy name 'web' is already used by web.yml",
        "nope.yml: error: policy file not found",
    ]


def test_inventory_and_policy_problems_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path, {"inv.yml": "all:\n  hosts: [oops\n",
                     "web.yml": "name: web\nallow:\n  - id: x\n    port: 99999\n"})
    code, lines = validate(tmp_path, "-i", "inv.yml", "-p", "web.yml")
    assert code == 2
    assert [ln.split(": error: ")[0] for ln in lines[:-1]] == ["inv.yml:3:1", "web.yml:4:11"]


def test_json_for_tools(tmp_path: Path) -> None:
    write(tmp_path, {**GOOD, "bad.yml": "name: bad\nallow:\n  - id: x\n    port: -1\n"})
    res = run_cli(["validate", "-i", "inv.yml", "-p", "bad.yml", "--format", "json"],
                  cwd=tmp_path)
    doc = json.loads(res.out)
    assert res.code == 2
    assert doc["ok"] is False and doc["errors"] == 1
    assert doc["problems"] == [{"level": "error", "path": "bad.yml", "line": 4, "column": 11,
                                "message": "port -1 is out of range (0-65535)"}]


def test_problems_name_files_as_the_user_wrote_the_directory(tmp_path: Path) -> None:
    """`-p policies/` (trailing slash) gives `policies/web.yml:...`, never `policies//...`."""
    write(tmp_path, {"inv.yml": INVENTORY,
                     "policies/web.yml": "name: web\nallow:\n  - id: x\n    port: 99999\n",
                     "waivers/w.yml": "waivers:\n  - id: W\n"})
    for args in (["-p", "policies/", "-w", "waivers/"], ["-p", "policies", "-w", "waivers"]):
        code, lines = validate(tmp_path, "-i", "inv.yml", *args)
        assert code == 2
        assert [ln.split(": error: ")[0] for ln in lines[:-1]] == ["policies/web.yml:4:11",
                                                                   "waivers/w.yml:2:5"]
        res = run_cli(["scan", "-i", "inv.yml", *args, "-o", "out"], cwd=tmp_path)
        assert res.code == 2 and res.err.startswith("fleetcheck: error: policies/web.yml:4:11: ")


def test_cidr_with_host_bits_is_a_located_warning(tmp_path: Path) -> None:
    """`10.0.0.1/8` is read as all of 10.0.0.0/8: likely not what was meant, so say so."""
    write(tmp_path, {**GOOD, "lan.yml": """\
        name: lan
        hosts: all
        allow:
          - id: one
            address: 10.0.0.1/8
          - id: many
            address: [192.168.1.0/24, "2001:db8::1/64", 10.1.0.0/16]
        """})
    code, lines = validate(tmp_path, "-i", "inv.yml", "-p", "base.yml", "-p", "lan.yml")
    assert code == 0
    assert lines[:-1] == [
        "lan.yml:5:14: warning: address '10.0.0.1/8' has host bits set: it is read as the whole "
        "network 10.0.0.0/8 (write 10.0.0.0/8 for the network, or 10.0.0.1 for the one address)",
        "lan.yml:7:31: warning: address '2001:db8::1/64' has host bits set: it is read as the "
        "whole network 2001:db8::/64 (write 2001:db8::/64 for the network, or 2001:db8::1 for "
        "the one address)",
    ]
    code, _ = validate(tmp_path, "-i", "inv.yml", "-p", "base.yml", "-p", "lan.yml", "--strict")
    assert code == 2


def test_a_broken_policy_keeps_its_name_for_the_duplicate_check(tmp_path: Path) -> None:
    """Two files both named 'web', the first with another error too: both errors are found
    (validate reports every problem, not the first of each file)."""
    broken = GOOD["web.yml"].replace("name: web\n", "name: web\n        stray_severity: loud\n", 1)
    assert broken != GOOD["web.yml"]
    write(tmp_path, {**GOOD, "web.yml": broken, "copy.yml": GOOD["web.yml"]})
    code, lines = validate(tmp_path, "-i", "inv.yml", "-p", "web.yml", "-p", "copy.yml")
    assert code == 2
    assert [ln for ln in lines if ": error: " in ln] == [
        "copy.yml:1:7: error: policy name 'web' is already used by web.yml",
        "web.yml:2:17: error: unknown severity 'loud' (expected critical, high, medium, low "
        "or info)",
    ]
