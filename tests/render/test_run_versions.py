"""fleetcheck.run/2 stores each command once per run, run/3 each repeated stderr too;
fleetcheck.run/1 and run/2 files still read."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from html import unescape as html_unescape
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.model import CommandRecord, RunResult
from fleetcheck.render import FORMATS, RenderOptions, hostview, jsonout, view
from fleetcheck.render.shared import shared_commands
from tests.conftest import run_cli
from tests.render.synthetic import fenced, probe_run, with_stderr
from tests.runschema import commands_written_out


def as_run2(doc: dict[str, Any]) -> dict[str, Any]:
    """A run/3 document as fleetcheck wrote run/2 before it: every stdout and stderr in full."""
    out = commands_written_out(copy.deepcopy(doc))
    del out["stdout_texts"], out["stderr_texts"]
    out["schema"] = "fleetcheck.run/2"
    for host in out["hosts"]:
        for c in host["commands"]:
            for key in ("command", "stdout_parts", "stderr_ref"):
                c.pop(key, None)
    return out


def as_run1(doc: dict[str, Any]) -> dict[str, Any]:
    """A run/3 document as fleetcheck wrote run/1 before it: every command in full."""
    out = as_run2(doc)
    texts = out.pop("command_texts")
    out["schema"] = "fleetcheck.run/1"
    for host in out["hosts"]:
        for c in host["commands"]:
            c["command"] = c.pop("nonce", "").join(texts[c.pop("command_ref")])
    return out


def test_each_command_is_stored_once_and_read_back_exactly() -> None:
    run = probe_run(40)
    doc = json.loads(jsonout.render(run))
    assert doc["schema"] == "fleetcheck.run/3"
    assert len(doc["command_texts"]) == 1  # the probe, split at its nonce
    refs = [c["command_ref"] for h in doc["hosts"] for c in h["commands"]]
    assert len(refs) > 30 and set(refs) == {0}
    again = RunResult.from_dict(doc)
    assert [h.commands for h in again.hosts] == [h.commands for h in run.hosts]
    nonces = [c.nonce for h in again.hosts for c in h.commands if c.nonce]
    assert len(set(nonces)) == len(nonces) > 30
    assert all(c.nonce in c.command for h in again.hosts for c in h.commands if c.nonce)


def _stderr_table(run: RunResult) -> tuple[list[str], list[dict[str, Any]]]:
    """The run's stderr_texts as written, and every command record."""
    doc = json.loads(jsonout.render(run))
    return doc["stderr_texts"], [c for h in doc["hosts"] for c in h["commands"]]


def test_a_repeated_stderr_is_stored_once_and_read_back_exactly() -> None:
    warning = "sudo: unable to resolve host h1: Name or service not known\n"
    run = with_stderr(probe_run(20), warning)
    texts, records = _stderr_table(run)
    assert texts == [warning]
    assert len(records) == 20 and all(c["stderr_ref"] == 0 and "stderr" not in c
                                      for c in records)
    again = RunResult.from_dict(json.loads(jsonout.render(run)))
    assert [h.commands for h in again.hosts] == [h.commands for h in run.hosts]


def test_different_stderr_texts_each_once_a_lone_one_and_empty_ones_in_place() -> None:
    run = with_stderr(probe_run(9), "first warning\n", "second warning\n", "")
    texts, records = _stderr_table(run)
    assert texts == ["first warning\n", "second warning\n"]
    assert [c.get("stderr_ref") for c in records] == [0, 1, None] * 3
    assert all(c["stderr"] == "" for c in records if "stderr_ref" not in c)  # no entry for ""
    lone = with_stderr(probe_run(3), "only once\n", "", "")
    texts, records = _stderr_table(lone)
    assert texts == [] and records[0]["stderr"] == "only once\n"
    for one in (run, lone):
        again = RunResult.from_dict(json.loads(jsonout.render(one)))
        assert [h.commands for h in again.hosts] == [h.commands for h in one.hosts]


def test_run3_reads_back_to_the_same_run_and_older_files_to_it_too(composite: RunResult) -> None:
    run = with_stderr(composite, "Warning: Permanently added the host key\n")
    doc = json.loads(jsonout.render(run))
    assert doc["stderr_texts"] and doc["schema"] == "fleetcheck.run/3"
    again = RunResult.from_dict(doc)
    assert again == RunResult.from_dict(run.to_dict())
    assert [h.commands for h in again.hosts] == [h.commands for h in run.hosts]
    assert jsonout.render(again) == jsonout.render(run)  # written again, the same text
    for old in (as_run2(doc), as_run1(doc)):
        assert "stderr_texts" not in old and RunResult.from_dict(old) == again


def test_a_stdout_is_split_at_its_nonce_and_what_repeats_stored_once() -> None:
    run = fenced(probe_run(12))
    doc = json.loads(jsonout.render(run))
    texts = doc["stdout_texts"]
    assert texts[:3] == ["@@fleetcheck:", " os Linux\n@@fleetcheck:", " end ss 0\n"]
    records = [c for h in doc["hosts"] for c in h["commands"]]
    listings = [c["stdout_parts"][2] for c in records]
    for c in records:
        assert "stdout" not in c and c["stdout_parts"][:2] == [0, 1]
        assert c["stdout_parts"][3] == 2 and len(c["stdout_parts"]) == 4
    own = [p for p in listings if isinstance(p, str)]  # a host's own listing: in place
    assert len(own) > 6 and all(p.startswith(" begin ss\n") for p in own)
    assert all(listings.count(p) > 1 and texts[p].startswith(" begin ss\n")
               for p in listings if isinstance(p, int))  # listings alike on several hosts
    again = RunResult.from_dict(doc)
    assert [h.commands for h in again.hosts] == [h.commands for h in run.hosts]
    assert jsonout.render(again) == jsonout.render(run)


def test_a_stdout_without_its_nonce_stays_whole() -> None:
    run = probe_run(6)
    doc = json.loads(jsonout.render(run))
    assert doc["stdout_texts"] == []
    assert all(isinstance(c["stdout"], str) and "stdout_parts" not in c
               for h in doc["hosts"] for c in h["commands"])
    one = fenced(probe_run(1))
    (c,) = json.loads(jsonout.render(one))["hosts"][0]["commands"]
    assert all(isinstance(p, str) for p in c["stdout_parts"])  # nothing repeats: all in place
    assert c["nonce"].join(c["stdout_parts"]) == one.hosts[0].commands[0].stdout


def test_probe_evidence_no_longer_grows_with_the_fleet() -> None:
    run = probe_run(200)
    v2 = jsonout.render(run)
    v1 = json.dumps(as_run1(json.loads(v2)), indent=2, ensure_ascii=False)
    script = len(run.hosts[0].commands[0].command)
    assert script > 4000
    assert len(v1) - len(v2) > 150 * script  # ~one probe per checked host saved


@pytest.mark.parametrize("older", [as_run1, as_run2])
def test_older_files_read_as_before(composite: RunResult, tmp_path: Path, older: Any) -> None:
    run = with_stderr(composite, "Warning: Permanently added the host key\n", "")
    old_doc = older(run.to_dict())
    assert RunResult.from_dict(old_doc) == RunResult.from_dict(run.to_dict())
    (tmp_path / "old.json").write_text(json.dumps(old_doc))
    (tmp_path / "new.json").write_text(jsonout.render(run))
    old = run_cli(["report", "old.json", "--format", "text"], cwd=tmp_path)
    new = run_cli(["report", "new.json", "--format", "text"], cwd=tmp_path)
    assert old.code == new.code and old.out == new.out and old.err == new.err
    upgraded = json.loads(run_cli(["report", "old.json", "--format", "json"], cwd=tmp_path).out)
    assert upgraded["schema"] == "fleetcheck.run/3"
    assert upgraded["command_texts"] == run.to_dict()["command_texts"]
    assert upgraded["stderr_texts"] == run.to_dict()["stderr_texts"] != []


# What the published schema refuses is named by its path; what it cannot say (a
# reference past the end of its table) by the reader.
@pytest.mark.parametrize(("change", "complaint"), [
    (lambda d: d["hosts"][0]["commands"][0].update(command_ref=9), "names no entry"),
    (lambda d: d["hosts"][0]["commands"][0].update(command_ref=-1),
     "$.hosts[0].commands[0].command_ref: -1 is below 0"),
    (lambda d: d["hosts"][0]["commands"][0].update(command_ref=True),
     "$.hosts[0].commands[0].command_ref: true is not integer"),
    (lambda d: d["hosts"][0]["commands"][0].pop("command_ref"), "missing key 'command_ref'"),
    (lambda d: d.update(command_texts="true"), '$.command_texts: "true" is not array'),
    (lambda d: d.update(command_texts=[[]]), "$.command_texts[0]: fewer than 1 item"),
    (lambda d: d["hosts"][0]["commands"][0].pop("nonce"),
     "$.hosts[0].commands[0]: missing key 'nonce'"),
    (lambda d: d["hosts"][0]["commands"][0].update(stderr_ref=1), "names no entry"),
    (lambda d: d["hosts"][0]["commands"][0].update(stderr_ref="0"),
     '$.hosts[0].commands[0].stderr_ref: "0" is not integer'),
    (lambda d: d.update(stderr_texts="x"), '$.stderr_texts: "x" is not array'),
    (lambda d: d.update(stderr_texts=[1]), "$.stderr_texts[0]: 1 is not string"),
    (lambda d: d.update(stdout_texts={}), "$.stdout_texts: {} is not array"),
    (lambda d: d["hosts"][0]["commands"][0].update(stdout_parts=[0, 9]), "names no entry"),
    (lambda d: d["hosts"][0]["commands"][0].update(stdout_parts=[0, None]),
     "$.hosts[0].commands[0].stdout_parts[1]: null is not string"),
    (lambda d: d["hosts"][0]["commands"][0].update(stdout_parts=["x"]),
     "$.hosts[0].commands[0].stdout_parts: fewer than 2 items"),
])
def test_broken_references_are_one_clear_error(composite: RunResult, tmp_path: Path,
                                               change: Any, complaint: str) -> None:
    doc = fenced(with_stderr(probe_run(3), "a warning\n")).to_dict()
    change(doc)
    (tmp_path / "run.invalid.json").write_text(json.dumps(doc))
    res = run_cli(["report", "run.invalid.json"], cwd=tmp_path)
    assert res.code == 2, res
    assert "run.invalid.json: " in res.err and complaint in res.err, res.err
    assert res.err.count("\n") == 1


def test_records_between_processes_carry_the_command() -> None:
    record = CommandRecord("sh -c 'echo abc; x'", 0, "", "a warning\n", 0.1, nonce="abc")
    assert CommandRecord.from_dict(record.to_dict()) == record
    assert record.to_dict()["command"] == "sh -c 'echo abc; x'"
    assert record.to_dict()["stderr"] == "a warning\n"


def test_the_html_digest_is_the_json_reports_and_the_run_is_serialised_once(
        composite: RunResult, monkeypatch: pytest.MonkeyPatch) -> None:
    run = dataclasses.replace(composite)  # a run no other test rendered
    calls: list[int] = []
    real = RunResult.to_dict

    def counted(self: RunResult, *args: Any) -> dict[str, Any]:
        calls.append(1)
        return real(self, *args)

    monkeypatch.setattr(RunResult, "to_dict", counted)
    page = FORMATS["html"].render(run, RenderOptions())
    record = FORMATS["json"].render(run, RenderOptions())
    assert f"sha256 {hashlib.sha256(record.encode()).hexdigest()}" in page
    assert len(calls) == 1
    other = dataclasses.replace(run, run_id="another")
    assert json.loads(FORMATS["json"].render(other, RenderOptions()))["run_id"] == "another"
    assert len(calls) == 2


def test_the_html_stores_the_probe_once_and_the_page_rebuilds_each_hosts() -> None:
    run = probe_run(30)
    data = json.loads(hostview.lazy_data(run, list(run.hosts)))
    script = run.hosts[0].commands[0].command
    assert sum(len(s) for s in data["strings"]) < 2 * len(script)
    copies = {c.number: c.parts for c in shared_commands(run.hosts).values()}
    assert copies  # the probe, one script but for each host's nonce, is one shared command
    for host, row in zip(run.hosts, data["hosts"], strict=True):
        for c, got in zip(host.commands, row[6], strict=True):  # as report.js joins them
            assert got[0] == [] and got[9] in copies  # the page names the run's copy
            assert got[8].join(copies[got[9]]) == c.command
            assert got[8].join(data["strings"][i] for i in got[1]) == \
                view.command_preview(c.command, "under Exact command")


@pytest.mark.parametrize("lazy_from", [None, 1])
def test_the_html_writes_a_command_several_hosts_ran_once(lazy_from: int | None) -> None:
    """Rendered or built by the page, the probe's text is in the page once, under Run; each
    host names it with its own nonce, and that copy with the nonce is the host's command."""
    run = probe_run(30)
    page = FORMATS["html"].render(run, RenderOptions(lazy_hosts_from=lazy_from))
    script = run.hosts[0].commands[0].command
    marker = "export LC_ALL; PATH="  # once in the probe, and the same escaped or not
    assert script.count(marker) == 1 and 1 <= page.count(marker) <= 2
    (copy,) = re.findall(r'<details class="raw shared" id="command-1">.*?<pre>\n(.*?)</pre>',
                         page, re.S)
    text = html_unescape(copy.replace('<mark class="nonce">NONCE</mark>', "\0"))
    commands = [c for host in run.hosts for c in host.commands]
    assert len(commands) > 10
    for c in commands:
        assert text.replace("\0", c.nonce) == c.command
        if lazy_from is None:
            assert (f'ran <a href="#command-1">command #1</a> (written out once, under Run), '
                    f'with its own nonce <code>{c.nonce}</code> where that shows NONCE.') in page
