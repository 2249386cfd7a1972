"""`fleetcheck explain`: from a saved run (no files needed) and live, in words and as JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, run_cli
from tests.lab.netns import Namespace, in_netns
from tests.policy.scenario import POLICIES

pytestmark = pytest.mark.lab
Scenario = tuple[Path, CliResult, dict[str, Any]]


@pytest.fixture(scope="module")
def saved(scenario_run: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scenario's run JSON, alone in a directory without the policy or waiver files."""
    _, _, run = scenario_run
    path = tmp_path_factory.mktemp("saved") / "run.json"
    path.write_text(json.dumps(run))
    return path


def explain_json(saved: Path, *args: str) -> list[dict[str, Any]]:
    res = run_cli(["explain", "--run", saved.name, "--format", "json", *args], cwd=saved.parent)
    assert res.code == 0, res.err
    doc: list[dict[str, Any]] = json.loads(res.out)
    return doc


def test_waived_finding_from_a_saved_run(saved: Path) -> None:
    (e,) = explain_json(saved, "web1", "8080/tcp")
    assert [p["name"] for p in e["policies"]] == ["baseline", "web"]
    assert e["default"] == "deny"
    (story,) = e["listeners"]
    assert story["verdict"] == "forbidden" and story["rule"] == "web/app-exposed"
    assert story["consistent_with_run"] is True
    results = {s["rule"]: s["result"] for s in story["rules"]}
    assert results == {"baseline/spice": "no", "web/app-exposed": "yes", "baseline/ssh": "no",
                       "baseline/loopback-only": "no", "baseline/dhcp-client": "no",
                       "web/http": "no", "web/metrics": "no", "web/https": "no"}
    why = {s["rule"]: s["why"] for s in story["rules"]}
    assert why["baseline/loopback-only"] == ("no: bound to 0.0.0.0 (wildcard), the rule wants "
                                             "loopback")
    assert why["web/http"] == "no: port 8080 is not 80,443"
    assert story["finding"]["waived"] is True and story["finding"]["waiver"] == "WEB-8080"
    assert [(w["waiver"], w["outcome"]) for w in story["waivers"]] == [
        ("WEB-8080", "waives"), ("DB-5432", "no"), ("ALL-3000", "no")]
    assert story["waivers"][1]["why"] == "does not select web1 (hosts: db)"
    assert story["waivers"][2]["why"] == ("does not cover it: port 3000 does not match the "
                                          "finding's port tcp/8080")


def test_expired_waiver_and_near_miss_from_a_saved_run(saved: Path) -> None:
    (e,) = explain_json(saved, "db1", "postgresql")
    (story,) = e["listeners"]
    assert story["verdict"] == "wrong_bind" and story["rule"] == "db/postgres"
    near = next(s for s in story["rules"] if s["rule"] == "db/postgres")
    assert near["result"] == "wrong_bind"
    assert near["why"] == ("near miss (wrong_bind): names this port, but bound to 0.0.0.0 "
                           "(wildcard), the rule wants loopback or private")
    assert near["where"].endswith("policies/db.yml:7")
    assert story["finding"]["waived"] is False
    assert [(w["waiver"], w["outcome"]) for w in story["waivers"]] == [
        ("WEB-8080", "no"), ("DB-5432", "expired"), ("ALL-3000", "no")]
    assert e["requirements"] == [{"rule": "db/postgres-up", "satisfied": True, "finding": None}]


def test_text_explanation_reads_as_sentences(saved: Path) -> None:
    res = run_cli(["explain", "--run", str(saved), "web1", "1923"], cwd=saved.parent)
    assert res.code == 0
    lines = res.out.splitlines()
    assert lines[0] == "web1 · port 1923"
    assert "TCP 1923 (spice) on 0.0.0.0 (spiced, pid " in res.out
    assert "  verdict: FORBIDDEN, decided by baseline/spice" in lines
    assert "  result: open (a violation)" in lines
    assert any(ln.startswith("  forbid  baseline/spice") and "matches (proto tcp, port 1923): "
               "forbids it" in ln for ln in lines)


def test_the_reports_own_port_form_is_read(saved: Path) -> None:
    """`tcp/8080` as every report writes a finding's port, so it can be pasted; service
    names too (`udp/domain`)."""
    assert explain_json(saved, "web1", "TCP/8080") == explain_json(saved, "web1", "8080/tcp")
    assert explain_json(saved, "web1", "udp/443") == explain_json(saved, "web1", "443/udp")
    assert explain_json(saved, "db1", "tcp/postgresql") == \
        explain_json(saved, "db1", "postgresql/tcp")


def test_port_nobody_listens_on(saved: Path) -> None:
    (e,) = explain_json(saved, "web1", "443/udp")
    assert e["listeners"] == []
    assert e["notes"] == ["nothing listens on UDP 443 on web1 in this run"]
    (e,) = explain_json(saved, "web1", "443/tcp")
    assert e["requirements"] == [{"rule": "web/https", "satisfied": True, "finding": None}]


@pytest.mark.parametrize(("args", "message"), [
    (["nohost", "22"], "host 'nohost' is not in this run (hosts: db1, web1)"),
    (["web1", "22/sctp"], "PORT must be a number or service name with an optional /tcp or "
                          "/udp (or tcp/ or udp/ before it), not '22/sctp'"),
    (["web1", "sctp/22"], "PORT must be a number or service name with an optional /tcp or "
                          "/udp (or tcp/ or udp/ before it), not 'sctp/22'"),
    (["web1", "tcp/70000"], "port 70000 is out of range (1-65535)"),
    (["web1", "70000"], "port 70000 is out of range (1-65535)"),
    (["web1", "nosuchservice"], "unknown service 'nosuchservice'"),
    (["-p", "x.yml", "web1", "22"], "--run explains a saved run: give no -i, -p or -w with it"),
])
def test_bad_requests_exit_2(saved: Path, args: list[str], message: str) -> None:
    res = run_cli(["explain", "--run", saved.name, *args], cwd=saved.parent)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {message}\n")


def test_a_file_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text('{"schema": "something/else"}')
    res = run_cli(["explain", "--run", "run.json", "h", "22"], cwd=tmp_path)
    assert res.code == 2
    # the same words as `report` and every other reader of a saved run
    assert res.err == ("fleetcheck: error: run.json: not a fleetcheck.run/3 document "
                       "(schema: 'something/else')\n")


def test_live_explain_checks_the_host_through_scan(scenario_ns: Namespace,
                                                   scenario_run: Scenario) -> None:
    root, _, _ = scenario_run
    with in_netns(scenario_ns.name):
        res = run_cli(["explain", "-i", "inventory.yml", *POLICIES, "-w", "waivers.yml",
                       "--today", "2030-06-01", "--format", "json", "db1", "5432/tcp"], cwd=root)
    assert res.code == 0, res.err
    (e,) = json.loads(res.out)
    (story,) = e["listeners"]
    assert (story["verdict"], story["rule"]) == ("wrong_bind", "db/postgres")
    assert [w["outcome"] for w in story["waivers"]] == ["no", "expired", "no"]


def test_live_explain_of_an_unreachable_host(tmp_path: Path) -> None:
    shutil.copyfile(Path(__file__).parents[2] / "policies" / "web.yml", tmp_path / "web.yml")
    (tmp_path / "inv.yml").write_text("all:\n  children:\n    web:\n      hosts:\n        "
                                      "web1: {ansible_connection: winrm}\n")
    res = run_cli(["explain", "-i", "inv.yml", "-p", "web.yml", "web1", "443"], cwd=tmp_path)
    assert res.code == 3
    assert res.err.startswith("fleetcheck: web1 could not be checked (unsupported_connection: "
                              "ansible_connection=winrm is not supported")


@pytest.mark.parametrize(("keep", "message"), [
    ((), "this run does not record its policy definitions (it was made by an older "
         "fleetcheck); explain the host live with -i/-p instead"),
    (("baseline",), "host 'web1' was judged by policy 'web', which this run does not define "
                    "(an edited or damaged run file); explain the host live with -i/-p "
                    "instead"),
])
def test_a_run_without_the_policies_its_host_was_judged_by(saved: Path, tmp_path: Path,
                                                           keep: tuple[str, ...],
                                                           message: str) -> None:
    """No definitions: an older fleetcheck made it; some missing: an edited run. Exit 2."""
    run = json.loads(saved.read_text())
    run["policy_definitions"] = [p for p in run["policy_definitions"] if p["name"] in keep]
    (tmp_path / "run.json").write_text(json.dumps(run))
    res = run_cli(["explain", "--run", "run.json", "web1", "8080/tcp"], cwd=tmp_path)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {message}\n")
