"""The published JSON Schema of fleetcheck.run/3: valid itself, matching the model, strict."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from fleetcheck.model import FindingKind, RunResult, Severity, Status, Verdict
from fleetcheck.render import jsonout
from tests.render.synthetic import fenced, probe_run, synthetic_run, with_stderr
from tests.runschema import SCHEMA_FILE, assert_valid_run, schema_errors


def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("fleetcheck").joinpath(SCHEMA_FILE).read_text("utf-8"))
    return data


def test_schema_words_are_the_models_words() -> None:
    defs = _schema()["$defs"]
    assert defs["severity"]["enum"] == [s.label for s in sorted(Severity, reverse=True)]
    assert set(defs["host"]["properties"]["status"]["enum"]) == {s.value for s in Status}
    assert set(defs["listener"]["properties"]["verdict"]["enum"]) == {v.value for v in Verdict}
    assert set(defs["finding"]["properties"]["kind"]["enum"]) == {k.value for k in FindingKind}


def test_runs_validate(composite: RunResult) -> None:
    assert_valid_run(json.loads(jsonout.render(composite)))
    assert_valid_run(synthetic_run(100).to_dict())


def _broken(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = path.split("/")
    node: Any = out
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    if value is KeyError:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return out


@pytest.mark.parametrize(("path", "value", "complaint"), [
    ("schema", "fleetcheck.run/2", "fleetcheck.run/3"),
    ("hosts", KeyError, "'hosts' is a required property"),
    ("started_at", "yesterday", "does not match"),
    ("summary/exit_code", 2, "is not one of"),
    ("hosts/3/status", "ok", "is not one of"),
    ("hosts/3/findings/0/severity", "severe", "is not one of"),
    ("hosts/3/findings/0/id", "1923", "does not match"),
    ("hosts/3/listeners/0/port", 70000, "is greater than the maximum"),
    ("hosts/2/listeners", [{"proto": "tcp"}], "expected to be empty"),
    ("hosts/2/error", None, "is not of type 'object'"),
    ("inputs/policy/0/sha256", "abc", "does not match"),
])
def test_what_breaks_the_contract_is_rejected(composite: RunResult, path: str, value: Any,
                                              complaint: str) -> None:
    doc = _broken(composite.to_dict(), path, value)
    errors = schema_errors(doc)
    assert errors, f"{path}={value!r} should be rejected"
    assert any(complaint in e for e in errors), errors


def test_output_stored_once_validates_and_one_way_only() -> None:
    doc = fenced(with_stderr(probe_run(4), "a warning\n")).to_dict()
    record = doc["hosts"][0]["commands"][0]
    assert "stdout_parts" in record and "stderr_ref" in record
    assert_valid_run(doc)
    for key, value in [("stderr", "a warning\n"), ("stdout", "x")]:  # both ways at once
        both = copy.deepcopy(doc)
        both["hosts"][0]["commands"][0][key] = value
        assert schema_errors(both), key
    for key in ("stderr_ref", "stdout_parts", "nonce"):  # neither way (or no nonce to join)
        neither = copy.deepcopy(doc)
        del neither["hosts"][0]["commands"][0][key]
        assert schema_errors(neither), key
