"""fleetcheck.run/2 stores each command once per run; fleetcheck.run/1 files still read."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.model import CommandRecord, RunResult
from fleetcheck.render import FORMATS, RenderOptions, hostview, jsonout, view
from tests.conftest import run_cli
from tests.render.synthetic import probe_run


def as_run1(doc: dict[str, Any]) -> dict[str, Any]:
    """A run/2 document as fleetcheck wrote run/1 before it: every command in full."""
    out = copy.deepcopy(doc)
    texts = out.pop("command_texts")
    out["schema"] = "fleetcheck.run/1"
    for host in out["hosts"]:
        for c in host["commands"]:
            c["command"] = c.pop("nonce", "").join(texts[c.pop("command_ref")])
    return out


def test_each_command_is_stored_once_and_read_back_exactly() -> None:
    run = probe_run(40)
    doc = json.loads(jsonout.render(run))
    assert doc["schema"] == "fleetcheck.run/2"
    assert len(doc["command_texts"]) == 1  # the probe, split at its nonce
    refs = [c["command_ref"] for h in doc["hosts"] for c in h["commands"]]
    assert len(refs) > 30 and set(refs) == {0}
    again = RunResult.from_dict(doc)
    assert [h.commands for h in again.hosts] == [h.commands for h in run.hosts]
    nonces = [c.nonce for h in again.hosts for c in h.commands if c.nonce]
    assert len(set(nonces)) == len(nonces) > 30
    assert all(c.nonce in c.command for h in again.hosts for c in h.commands if c.nonce)


def test_probe_evidence_no_longer_grows_with_the_fleet() -> None:
    run = probe_run(200)
    v2 = jsonout.render(run)
    v1 = json.dumps(as_run1(json.loads(v2)), indent=2, ensure_ascii=False)
    script = len(run.hosts[0].commands[0].command)
    assert script > 4000
    assert len(v1) - len(v2) > 150 * script  # ~one probe per checked host saved


def test_run1_files_read_as_before(composite: RunResult, tmp_path: Path) -> None:
    v1 = as_run1(composite.to_dict())
    assert RunResult.from_dict(v1) == RunResult.from_dict(composite.to_dict())
    (tmp_path / "old.json").write_text(json.dumps(v1))
    (tmp_path / "new.json").write_text(jsonout.render(composite))
    old = run_cli(["report", "old.json", "--format", "text"], cwd=tmp_path)
    new = run_cli(["report", "new.json", "--format", "text"], cwd=tmp_path)
    assert old.code == new.code and old.out == new.out and old.err == new.err
    upgraded = run_cli(["report", "old.json", "--format", "json"], cwd=tmp_path)
    assert json.loads(upgraded.out)["command_texts"] == composite.to_dict()["command_texts"]


@pytest.mark.parametrize(("change", "complaint"), [
    (lambda d: d["hosts"][0]["commands"][0].update(command_ref=9), "names no entry"),
    (lambda d: d["hosts"][0]["commands"][0].update(command_ref=-1), "names no entry"),
    (lambda d: d["hosts"][0]["commands"][0].update(command_ref=True), "names no entry"),
    (lambda d: d["hosts"][0]["commands"][0].pop("command_ref"), "missing key 'command_ref'"),
    (lambda d: d.update(command_texts="true"), "command_texts must be"),
    (lambda d: d.update(command_texts=[[]]), "command_texts must be"),
    (lambda d: d.update(command_texts=[["a", "b"]]), "needs a nonce"),
])
def test_broken_references_are_one_clear_error(composite: RunResult, tmp_path: Path,
                                               change: Any, complaint: str) -> None:
    doc = composite.to_dict()
    change(doc)
    (tmp_path / "run.invalid.json").write_text(json.dumps(doc))
    res = run_cli(["report", "run.invalid.json"], cwd=tmp_path)
    assert res.code == 2, res
    assert "run.invalid.json: " in res.err and complaint in res.err, res.err
    assert res.err.count("\n") == 1


def test_records_between_processes_carry_the_command() -> None:
    record = CommandRecord("sh -c 'echo abc; x'", 0, "", "", 0.1, nonce="abc")
    assert CommandRecord.from_dict(record.to_dict()) == record
    assert record.to_dict()["command"] == "sh -c 'echo abc; x'"


def test_the_html_digest_is_the_json_reports_and_the_run_is_serialised_once(
        composite: RunResult, monkeypatch: pytest.MonkeyPatch) -> None:
    run = dataclasses.replace(composite)  # a run no other test rendered
    calls: list[int] = []
    real = RunResult.to_dict

    def counted(self: RunResult) -> dict[str, Any]:
        calls.append(1)
        return real(self)

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
    for host, row in zip(run.hosts, data["hosts"], strict=True):
        for c, got in zip(host.commands, row[6], strict=True):  # as report.js joins them
            assert got[8].join(data["strings"][i] for i in got[0]) == c.command
            assert got[8].join(data["strings"][i] for i in got[1]) == \
                view.command_preview(c.command, "under Exact command")
