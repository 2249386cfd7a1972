"""Shards of a plan of real sshd hosts, merged, equal the run of one process over them all;
a missing shard leaves its hosts not_run and the run incomplete."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import run_cli, run_files
from tests.runcompare import differences
from tests.ssh.conftest import Fleet
from tests.ssh.scaleout import TODAY, cli, local_args, write_inputs

pytestmark = pytest.mark.lab


def _merge(fleet: Fleet, files: list[str]) -> tuple[int, str, dict[str, Any]]:
    fleet.runs += 1
    out = fleet.tmp / f"merged{fleet.runs}"
    res = run_cli(["merge", *files, "-o", str(out), "--format", "json,text"], cwd=fleet.tmp)
    reports = run_files(out)
    assert len(reports) == 1, f"exit {res.code}: {res.err}"
    return res.code, res.err, json.loads(reports[0].read_text())


def _report(fleet: Fleet) -> str:
    return str(run_files(fleet.tmp / f"run{fleet.runs}")[0])


def test_hashed_shards_merge_into_the_single_process_run(fleet: Fleet) -> None:
    inv, waivers = write_inputs(fleet)
    inputs = ["scan", "-i", str(inv), "-w", str(waivers), "--today", TODAY, *local_args(fleet)]
    code, _, whole = cli(fleet, inputs)
    assert code == 1  # 1923 on web1 (web2's is waived)
    files, codes, plans = [], [], set()
    for k in (1, 2, 3):
        shard_code, _, shard = cli(fleet, [*inputs, "--shard", f"{k}/3"])
        codes.append(shard_code)
        assert shard["shard"]["index"] == k and shard["shard"]["count"] == 3
        plans.add(shard["shard"]["plan"])
        assert len(shard["shard"]["plan_hosts"]) == len(whole["hosts"])
        files.append(_report(fleet))
    assert len(plans) == 1
    code, err, merged = _merge(fleet, files)
    assert code == whole["summary"]["exit_code"] == 1, err
    assert differences(whole, merged) == []
    assert [s["status"] for s in merged["shards"]] == ["merged"] * 3
    assert {w["id"]: w["status"] for w in merged["waivers"]} == {
        "W-SPICE": "active", "W-MYSQL": "expired", "W-IDLE": "unused"}


def test_shard_by_site_and_a_missing_shard(fleet: Fleet) -> None:
    sites = {"a": ("web3", "web4"), "b": ("p2222", "notools")}
    inv, _ = write_inputs(fleet, sites)
    inputs = ["scan", "-i", str(inv), *local_args(fleet)]
    code, err, site_a = cli(fleet, [*inputs, "--shard-by", "site", "--shard", "a"])
    assert code == 0, err
    assert [h["name"] for h in site_a["hosts"]] == ["web3", "web4"]
    assert site_a["shard"]["names"] == ["a", "b"] and site_a["shard"]["by"] == "site"
    code, err, merged = _merge(fleet, [_report(fleet)])
    assert code == 3, err  # no violation, but site b never ran: never a smaller clean fleet
    assert "shard 2/2 of plan" in err
    assert merged["complete"] is False
    assert merged["summary"]["hosts"] == 4
    by_name = {h["name"]: h for h in merged["hosts"]}
    for name in sites["b"]:
        assert by_name[name]["error"]["kind"] == "not_run"
        assert "shard 2/2 (b)" in by_name[name]["error"]["message"]
    assert [s["status"] for s in merged["shards"]] == ["merged", "missing"]


def test_shard_runs_need_no_engine_of_their_own(fleet: Fleet) -> None:
    """A shard is an ordinary scan: threads here, its run file says which shard it is."""
    inv, _ = write_inputs(fleet, {"a": ("web3",), "b": ("web4",)})
    code, err, run = cli(fleet, ["scan", "-i", str(inv), *local_args(fleet), "--shard", "1/1"])
    assert code == 0, err
    assert run["shard"]["name"] == "1/1"
    assert {h["name"] for h in run["hosts"]} == {"web3", "web4"}
