"""`fleetcheck merge` refuses shards that are not of one plan and one set of inputs, naming
the files (exit 2, one line, nothing written), and never turns a missing shard into a
smaller fleet. Shard runs come from real local scans; the refusals from edited copies."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from tests.conftest import run_cli, run_files


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Shards 1/2 and 2/2 of four hosts reached through the local connection."""
    tmp = tmp_path_factory.mktemp("shards")
    inv = tmp / "inv.yml"
    inv.write_text("all:\n  hosts:\n" + "".join(
        f"    {n}: {{ansible_connection: local}}\n" for n in ("a1", "b2", "c3", "d4")))
    runs = []
    for k in (1, 2):
        out = tmp / f"s{k}"
        res = run_cli(["scan", "-i", str(inv), "--shard", f"{k}/2", "-o", str(out),
                       "--format", "json"], cwd=tmp)
        assert res.code in (0, 1, 3), res.err
        runs.append(json.loads(run_files(out)[0].read_text()))
    assert sorted(h["name"] for r in runs for h in r["hosts"]) == ["a1", "b2", "c3", "d4"]
    return runs


def _write(tmp: Path, name: str, run: dict[str, Any]) -> str:
    (tmp / name).write_text(json.dumps(run))
    return name


def _merge(tmp: Path, *names: str) -> Any:
    return run_cli(["merge", *names, "-o", str(tmp / "out"), "--format", "json"], cwd=tmp)


def test_both_shards_merge(shards: list[dict[str, Any]], tmp_path: Path) -> None:
    res = _merge(tmp_path, _write(tmp_path, "one.json", shards[0]),
                 _write(tmp_path, "two.json", shards[1]))
    merged = json.loads(res.out)
    assert res.code == merged["summary"]["exit_code"], res.err
    assert [h["name"] for h in merged["hosts"]] == ["a1", "b2", "c3", "d4"]
    assert merged["complete"] is True and "shard" not in merged
    assert [(s["index"], s["status"], s["file"]) for s in merged["shards"]] == [
        (1, "merged", "one.json"), (2, "merged", "two.json")]
    text = run_cli(["report", str(run_files(tmp_path / "out")[0]), "--format",
                    "text"], cwd=tmp_path).out
    assert "Shard 1 of 2" in text and "Shard 2 of 2" in text  # the reports say what merged
    shard_text = run_cli(["report", "one.json", "--format", "text"], cwd=tmp_path).out
    assert f"1 of 2, plan {shards[0]['shard']['plan']}" in " ".join(shard_text.split())


def _edit_plan(run: dict[str, Any]) -> None:
    run["shard"]["plan"] = "0123456789abcdef"


def _edit_policy(run: dict[str, Any]) -> None:
    run["inputs"]["policy"][0]["sha256"] = "0" * 64


def _edit_version(run: dict[str, Any]) -> None:
    run["tool_version"] = "0.0.1"


def _edit_fail_on(run: dict[str, Any]) -> None:
    run["summary"]["fail_on"] = "critical"


def _add_waiver_file(run: dict[str, Any]) -> None:
    run["inputs"]["waiver"] = [{"path": "w.yml", "sha256": "1" * 64}]


def _steal_host(run: dict[str, Any]) -> None:
    run["hosts"].append(dict(run["hosts"][0], name="a1" if run["hosts"][0]["name"] != "a1"
                             else "b2"))


def _edit_become(run: dict[str, Any]) -> None:
    run["meta"]["become"] = not run["meta"]["become"]


@pytest.mark.parametrize(("edit", "message"), [
    (_edit_become, "become (-b) True differs from False in one.json"),
    (_edit_plan, "plan '0123456789abcdef' differs from"),
    (_edit_policy, "policy files' sha256 differ from those of one.json"),
    (_add_waiver_file, "waiver files' sha256 differ"),
    (_edit_version, "fleetcheck version '0.0.1' differs"),
    (_edit_fail_on, "--fail-on 'critical' differs"),
])
def test_shards_of_other_plans_or_inputs_are_refused(
        shards: list[dict[str, Any]], tmp_path: Path,
        edit: Callable[[dict[str, Any]], None], message: str) -> None:
    second = json.loads(json.dumps(shards[1]))
    edit(second)
    res = _merge(tmp_path, _write(tmp_path, "one.json", shards[0]),
                 _write(tmp_path, "two.json", second))
    assert res.code == 2
    assert res.err.startswith("fleetcheck: error: two.json: "), res.err
    assert message in res.err
    assert len(res.err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_shards_judged_on_other_dates_are_refused_without_waiver_files(
        tmp_path: Path) -> None:
    """Reviews are judged on the run's date with no waiver file as well: every run records
    it, so shards of two dates (--today) never merge into one verdict."""
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n    a1: {ansible_connection: local}\n"
                   "    b2: {ansible_connection: local}\n")
    names = []
    for k, day in ((1, "2031-06-01"), (2, "2032-06-01")):
        res = run_cli(["scan", "-i", str(inv), "--shard", f"{k}/2", "--today", day, "-o",
                       str(tmp_path / f"s{k}"), "--format", "json", "--no-history"],
                      cwd=tmp_path)
        assert res.code in (0, 1, 3), res.err
        assert json.loads(res.out)["meta"]["waiver_date"] == day
        names.append(str(run_files(tmp_path / f"s{k}")[0]))
    res = _merge(tmp_path, *names)
    assert res.code == 2 and "waiver date (--today) '2032-06-01' differs" in res.err, res.err


def test_a_host_in_two_shards_is_refused(shards: list[dict[str, Any]], tmp_path: Path) -> None:
    second = json.loads(json.dumps(shards[1]))
    first_host = shards[0]["hosts"][0]
    second["hosts"].append(first_host)
    res = _merge(tmp_path, _write(tmp_path, "one.json", shards[0]),
                 _write(tmp_path, "two.json", second))
    assert res.code == 2
    assert f"host {first_host['name']!r} is in one.json too" in res.err


def test_the_same_shard_twice_is_refused(shards: list[dict[str, Any]], tmp_path: Path) -> None:
    res = _merge(tmp_path, _write(tmp_path, "one.json", shards[0]),
                 _write(tmp_path, "again.json", shards[0]))
    assert res.code == 2
    assert "again.json: shard 1/2 is given twice: in one.json and here" in res.err


def test_a_shard_with_hosts_not_its_own_is_refused(shards: list[dict[str, Any]],
                                                   tmp_path: Path) -> None:
    second = json.loads(json.dumps(shards[1]))
    second["hosts"] = second["hosts"][1:]
    res = _merge(tmp_path, _write(tmp_path, "one.json", shards[0]),
                 _write(tmp_path, "two.json", second))
    assert res.code == 2
    assert "its hosts are not those of shard 2/2" in res.err


def test_a_plain_run_is_not_a_shard(shards: list[dict[str, Any]], tmp_path: Path) -> None:
    plain = json.loads(json.dumps(shards[0]))
    del plain["shard"]
    res = _merge(tmp_path, _write(tmp_path, "plain.json", plain))
    assert res.code == 2
    assert "plain.json: not a shard run" in res.err


def test_a_missing_shard_is_never_a_smaller_fleet(shards: list[dict[str, Any]],
                                                 tmp_path: Path) -> None:
    res = _merge(tmp_path, _write(tmp_path, "two.json", shards[1]))
    merged = json.loads(res.out)
    assert merged["summary"]["hosts"] == 4
    assert merged["complete"] is False
    assert merged["summary"]["exit_code"] in (1, 3)  # 1 only if shard 2's hosts violate
    assert res.code == merged["summary"]["exit_code"]
    missing = {h["name"] for h in shards[0]["hosts"]}
    for host in merged["hosts"]:
        if host["name"] in missing:
            assert host["error"]["kind"] == "not_run"
            assert host["status"] == "error"
    assert "shard 1/2 of plan" in res.err
    # nothing was interrupted: the reports say hosts were never run, not "interrupted"
    text = " ".join(run_cli(["report", str(run_files(tmp_path / "out")[0])],
                            cwd=tmp_path).out.split())
    assert "some hosts were never run" in text and "Complete no (hosts never run)" in text
    assert "the run was interrupted (" not in text


def test_merge_prints_the_summary_as_scan_does(shards: list[dict[str, Any]],
                                               tmp_path: Path) -> None:
    """`merge --help` says stdout shows the summary (it said the text report)."""
    res = run_cli(["merge", _write(tmp_path, "one.json", shards[0]),
                   _write(tmp_path, "two.json", shards[1]), "-o", "out"], cwd=tmp_path)
    lines = res.out.splitlines()
    assert re.match(r"(COMPLIANT|NONCOMPLIANT|NOT VERIFIED): ", lines[0]), res.out
    assert lines[-5] == "Reports:" and not res.out.startswith("fleetcheck report ·")
    quiet = run_cli(["merge", "one.json", "two.json", "-o", "again", "-q", "--color", "never",
                     "--all-hosts"], cwd=tmp_path)  # scan's terminal options, as scan's
    assert (quiet.code, quiet.out) == (res.code, lines[0] + "\n"), quiet.err


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_the_merged_host_key_checking_is_the_weakest_in_any_order(
        shards: list[dict[str, Any]], tmp_path: Path, order: tuple[int, int]) -> None:
    """A shard whose hosts' keys were not checked makes the merged run say so (mode and
    warning), whichever file comes first."""
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n" + "".join(
        f"    {n}: {{ansible_connection: local}}\n" for n in ("a1", "b2", "c3", "d4")))
    res = run_cli(["scan", "-i", str(inv), "--shard", "2/2", "--host-key-checking", "off",
                   "-o", str(tmp_path / "off"), "--format", "json"], cwd=tmp_path)
    assert res.code in (0, 1, 3), res.err
    unchecked = json.loads(run_files(tmp_path / "off")[0].read_text())
    assert unchecked["meta"]["host_key_checking"] == "off"
    names = [_write(tmp_path, "one.json", shards[0]), _write(tmp_path, "two.json", unchecked)]
    merged = json.loads(_merge(tmp_path, *(names[i] for i in order)).out)
    assert merged["meta"]["host_key_checking"] == "off"
    assert any("NOT checked" in w for w in merged["meta"]["warnings"])


def test_a_merge_without_history_carries_none_of_the_shards_comparisons(
        tmp_path: Path) -> None:
    """Each shard compared its findings with its runner's history; the merged run is compared
    once, as one run would be: with --no-history not at all, so no finding says `change`."""
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n    a1: {ansible_connection: local}\n"
                   "    b2: {ansible_connection: local}\n")
    names = []
    with socket.socket() as stray:  # a real listener the baseline calls stray, on both hosts
        stray.bind(("0.0.0.0", 0))
        stray.listen()
        for k in (1, 2):
            res = run_cli(["scan", "-i", str(inv), "--shard", f"{k}/2", "-o",
                           str(tmp_path / f"s{k}"), "--format", "json"], cwd=tmp_path)
            assert res.code in (0, 1), res.err  # (a shard may hold neither host)
            assert all(f["change"] == "new" for h in json.loads(res.out)["hosts"]
                       for f in h["findings"])
            names.append(str(run_files(tmp_path / f"s{k}")[0]))
    res = run_cli(["merge", *names, "-o", "-", "--format", "json", "--no-history"],
                  cwd=tmp_path)
    assert res.code == 1, res.err
    findings = [f for h in json.loads(res.out)["hosts"] for f in h["findings"]]
    assert findings and not any({"change", "first_seen", "age_days"} & set(f)
                                for f in findings)


def test_a_shard_reads_the_history_and_never_writes_it(tmp_path: Path) -> None:
    """A shard compares its findings with its runner's history but records nothing (its
    merge is the one entry): where there is no database yet it compares as with an empty
    one and leaves none behind; where there is one, the database is as it was."""
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n    a1: {ansible_connection: local}\n")
    database = tmp_path / "history.sqlite3"
    with socket.socket() as stray:  # a real listener the baseline calls stray
        stray.bind(("0.0.0.0", 0))
        stray.listen()

        def scan(out: str, *args: str) -> dict[str, Any]:
            res = run_cli(["scan", "-i", str(inv), *args, "-o", out, "--format", "json",
                           "--history-db", str(database)], cwd=tmp_path)
            assert res.code == 1, res.err
            return cast(dict[str, Any], json.loads(run_files(tmp_path / out)[0].read_text()))

        first = scan("s1", "--shard", "1/1")
        assert not database.exists()
        assert first["history"]["status"] == "off"
        assert {f["change"] for h in first["hosts"] for f in h["findings"]} == {"new"}
        assert len(first["trend"]) == 1
        scan("full")
        before = database.read_bytes()
        second = scan("s2", "--shard", "1/1")
    assert database.read_bytes() == before
    assert {f["change"] for h in second["hosts"] for f in h["findings"]} == {"persisting"}
    assert len(second["trend"]) == 2
