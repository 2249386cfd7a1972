"""End to end: layered policies and waivers (valid, expired, unused) against real sockets."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, run_cli
from tests.lab.netns import Namespace
from tests.policy.lab import finding_rows, run_cli_in, verdicts, waiver_statuses
from tests.policy.scenario import EXPECTED, POLICIES, WAIVERS, setup_dir

pytestmark = pytest.mark.lab

def test_layered_policies_and_waivers_give_exact_findings(
        scenario_run: tuple[Path, CliResult, dict[str, Any]]) -> None:
    _, res, run = scenario_run
    assert res.code == 1
    assert finding_rows(run) == EXPECTED
    # what validate calls a warning, scan says on stderr and goes on
    assert "fleetcheck: waivers.yml:22:14: warning: waiver 'DB-5432' expired on 2030-03-31 (62 " \
        "days ago): it waives nothing any more; renew it or remove it\n" in res.err
    hosts = {h["name"]: h for h in run["hosts"]}
    assert hosts["web1"]["policies"] == ["baseline", "web"]
    assert hosts["db1"]["policies"] == ["baseline", "db"]
    assert hosts["web1"]["waivers"] == ["WEB-8080", "ALL-3000"]
    assert hosts["db1"]["waivers"] == ["DB-5432", "ALL-3000"]
    assert verdicts(run, "web1")[("tcp", 443)] == ("allowed", "web/http")  # dual-stack covered
    assert verdicts(run, "web1")[("tcp", 6379)] == ("allowed", "baseline/loopback-only")
    assert verdicts(run, "db1")[("tcp", 5432)] == ("wrong_bind", "db/postgres")
    assert run["summary"]["waived"] == 1
    assert run["summary"]["violations"] == 6
    assert run["summary"]["by_severity"]["critical"] == 3


def test_waiver_statuses_and_warnings(scenario_run: tuple[Path, CliResult, dict[str, Any]]) -> None:
    _, _, run = scenario_run
    assert waiver_statuses(run) == {"WEB-8080": "active", "DB-5432": "expired",
                                    "ALL-3000": "unused"}
    by_id = {w["id"]: w for w in run["waivers"]}
    assert by_id["WEB-8080"]["matched"] == 1
    assert by_id["DB-5432"]["matched"] == 1  # it would cover db1's wrong_bind, but expired
    assert by_id["DB-5432"]["owner"] == "carol" and by_id["DB-5432"]["ticket"] == "OPS-1180"
    assert by_id["WEB-8080"]["conditions"] == {"proto": ["tcp"], "port": "8080",
                                               "process": ["gunicorn"]}
    assert by_id["ALL-3000"]["path"].endswith("waivers.yml") and by_id["ALL-3000"]["line"] == 23
    assert run["meta"]["waiver_date"] == "2030-06-01"
    assert run["meta"]["warnings"] == [
        "waiver DB-5432 (owner carol, ticket OPS-1180) expired on 2030-03-31 and no longer "
        "waives anything: 1 finding it covers is reported as open again",
        "waiver ALL-3000 (owner dave) matched no finding: remove it or correct what it covers",
    ]
    kinds = {i["path"].rsplit("/", 1)[-1]: kind for kind, files in run["inputs"].items()
             for i in files}
    assert kinds == {"inventory.yml": "inventory", "baseline.yml": "policy", "web.yml": "policy",
                     "db.yml": "policy", "waivers.yml": "waiver"}
    assert all(len(i["sha256"]) == 64 for files in run["inputs"].values() for i in files)


def test_run_records_the_policies_it_used(scenario_run: tuple[Path, CliResult, dict[str, Any]],
                                          ) -> None:
    _, _, run = scenario_run
    defs = {d["name"]: d for d in run["policy_definitions"]}
    assert set(defs) == {"baseline", "web", "db"}
    postgres = next(r for r in defs["db"]["rules"] if r["id"] == "postgres")
    assert postgres["service_ports"] == [["tcp", 5432]]
    assert postgres["line"] == 7 and defs["db"]["path"].endswith("policies/db.yml")


def test_waivers_change_the_exit_code(scenario_ns: Namespace, tmp_path: Path) -> None:
    inventory = "all:\n  children:\n    web:\n      hosts:\n        web1: " \
                "{ansible_connection: local}\n"
    root = setup_dir(tmp_path, inventory)
    web = ["-p", "policies/web.yml", "-p", "web-extra.yml"]
    # Only what web1 would flag without 8080: allow the rest so that 8080 alone decides.
    (root / "web-extra.yml").write_text(textwrap.dedent("""\
        name: web-extra
        hosts: web
        default: deny
        allow:
          - id: ssh
            proto: tcp
            port: 22
          - id: loopback
            address: loopback
          - id: lab-only
            proto: tcp
            port: [1923, 5432]
        """))
    res, run = run_cli_in(scenario_ns, ["scan", "-i", "inventory.yml", *web, "-w", "waivers.yml",
                                "--today", "2030-06-01", "-o", "ok"], root)
    assert res.code == 0
    assert run["hosts"][0]["status"] == "compliant"
    assert finding_rows(run) == {("web1", "forbidden", "high", "tcp", 8080, "0.0.0.0",
                                  "web/app-exposed", "WEB-8080")}
    res, run = run_cli_in(scenario_ns, ["scan", "-i", "inventory.yml", *web, "-w", "waivers.yml",
                                "--today", "2031-01-01", "-o", "late"], root)
    assert res.code == 1
    assert waiver_statuses(run)["WEB-8080"] == "expired"
    assert finding_rows(run) == {("web1", "forbidden", "high", "tcp", 8080, "0.0.0.0",
                                  "web/app-exposed", None)}


def test_malformed_waiver_file_stops_the_run(scenario_ns: Namespace, tmp_path: Path) -> None:
    root = setup_dir(tmp_path)
    (root / "waivers.yml").write_text(WAIVERS.replace("    owner: alice\n", ""))
    res = run_cli(["scan", "-i", "inventory.yml", *POLICIES, "-w", "waivers.yml", "-o", "out",
                   "--today", "2030-06-01"], cwd=root)  # the waivers are dated around it
    assert res.code == 2
    assert res.err == ("fleetcheck: error: waivers.yml:2:5: waiver 'WEB-8080' lacks 'owner' "
                       "(every waiver needs an id, hosts, reason, owner, approved_by, created "
                       "and expires)\n")
    assert not (root / "out").exists()
