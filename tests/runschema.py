"""A pytest plugin: every fleetcheck.run/3 JSON the test suite produces is schema-validated.

Two nets: JSON rendered in-process (every `FORMATS["json"]` render, which is what `scan`,
`report` and `write_reports` use) is validated as it is produced; run JSON files written by
subprocesses anywhere under the session's temporary directory are validated at the end.
What fleetcheck renders in-process is also held to the promises beyond the schema
(`promise_errors`). A file meant to be invalid must carry `.invalid.` in its name.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fleetcheck.model import SCHEMA, RunResult
from fleetcheck.render import FORMATS, RenderOptions

SCHEMA_FILE = "data/fleetcheck.run-3.schema.json"


@cache
def validator() -> Any:
    """The validator for the published fleetcheck.run/3 schema (checked itself first)."""
    schema = json.loads(resources.files("fleetcheck").joinpath(SCHEMA_FILE).read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def schema_errors(document: Any) -> list[str]:
    """Every violation of the schema in `document`, as 'path: message' lines."""
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in sorted(validator().iter_errors(document), key=lambda e: list(e.path))]


def assert_valid_run(document: Any, what: str = "run JSON") -> None:
    """Fail with every schema violation of a fleetcheck.run/3 document."""
    errors = schema_errors(document)
    assert not errors, f"{what} violates {SCHEMA}:\n" + "\n".join(errors[:20])


_SEVERITIES = ("info", "low", "medium", "high", "critical")


def promise_errors(run: dict[str, Any]) -> list[str]:
    """What a run fleetcheck wrote breaks of the promises docs/reports.md makes
    beyond the schema (which also reads runs other tools wrote): the fields every run,
    listener and finding has, and a summary, statuses and exit code that agree."""
    out: list[str] = []
    for key in ("run_id", "complete"):
        if key not in run:
            out.append(f"(root): no {key}")
    meta, summary = run.get("meta", {}), run["summary"]
    if "interrupted_by" in meta and run.get("complete") is not False:
        out.append("meta.interrupted_by on a complete run")
    if "below_threshold" not in summary:
        out.append("summary: no below_threshold")
    hosts = run["hosts"]
    fail_on = _SEVERITIES.index(summary["fail_on"])
    statuses = dict.fromkeys(("compliant", "noncompliant", "unreachable", "error"), 0)
    for i, host in enumerate(hosts):
        where = f"hosts/{i} ({host['name']})"
        statuses[host["status"]] += 1
        for j, li in enumerate(host["listeners"]):
            exposure = li.get("exposure")
            if "container" not in li or exposure is None:
                out.append(f"{where}/listeners/{j}: no container or exposure")
            if "netns" in li and exposure == "host":
                out.append(f"{where}/listeners/{j}: netns on a host listener")
            if "published_port" in li and exposure != "published":
                out.append(f"{where}/listeners/{j}: published_port but {exposure}")
        violation = False
        for j, f in enumerate(host["findings"]):
            below = not f["waived"] and _SEVERITIES.index(f["severity"]) < fail_on
            if f.get("below_threshold") is not below:
                out.append(f"{where}/findings/{j}: below_threshold {f.get('below_threshold')}"
                           f" for a {'waived ' if f['waived'] else ''}{f['severity']} finding"
                           f" under fail_on {summary['fail_on']}")
            violation |= not f["waived"] and not below
        if host["error"] is None and host["status"] != ("noncompliant" if violation
                                                        else "compliant"):
            out.append(f"{where}: status {host['status']} with"
                       f"{'' if violation else ' no'} violations")
        if "trusted_keys" in host and not host["trusted_keys"]:
            out.append(f"{where}: an empty trusted_keys (absent when none)")
    counted = {"compliant": summary["compliant"], "noncompliant": summary["noncompliant"],
               "unreachable": summary["unreachable"], "error": summary["errors"]}
    if summary["hosts"] != len(hosts) or counted != statuses:
        out.append(f"summary: {summary['hosts']} hosts, {counted}; the hosts: {len(hosts)},"
                   f" {statuses}")
    deciding = summary["new_violations"] if summary.get("gate") == "new" \
        else summary["violations"]
    unchecked = statuses["unreachable"] + statuses["error"]
    code = 1 if deciding else 3 if unchecked or not summary.get("complete", True) else 0
    if summary["exit_code"] != code:
        out.append(f"summary: exit_code {summary['exit_code']}, the counts make {code}")
    return out


_validated = {"in_process": 0, "files": 0}


@pytest.fixture(autouse=True, scope="session")
def _validate_rendered_json() -> Iterator[None]:
    """Wrap the JSON renderer for the whole session so each rendered run is validated."""
    original = FORMATS["json"]

    def checked(run: RunResult, options: RenderOptions | None = None) -> str:
        """Render as before, then validate what was rendered."""
        text = original.render(run, options)
        document = json.loads(text)
        assert_valid_run(document, "rendered run JSON")
        broken = promise_errors(document)
        assert not broken, "rendered run JSON breaks its promises:\n" + "\n".join(broken[:20])
        _validated["in_process"] += 1
        return text

    FORMATS["json"] = dataclasses.replace(original, render=checked)
    try:
        yield
    finally:
        FORMATS["json"] = original


def _run_files(base: Path) -> Iterator[Path]:
    """JSON files under `base` that may be run records (not the .invalid. ones)."""
    for path in base.rglob("*.json"):
        if ".invalid." in path.name or not path.is_file() or path.stat().st_size > 64 << 20:
            continue
        yield path


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Validate run JSON files left under this session's temporary directory."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    try:
        base = factory.getbasetemp()
    except (OSError, ValueError):
        return
    bad = []
    for path in _run_files(base):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            continue  # not JSON, or a hostile input some test left there: no run record
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            continue
        _validated["files"] += 1
        errors = schema_errors(data)
        if errors:
            bad.append(f"{path}:\n  " + "\n  ".join(errors[:10]))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if bad:
        if reporter is not None:
            reporter.write_line(f"{SCHEMA} schema violations in run JSON files written by "
                                "tests:\n" + "\n".join(bad), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None and reporter.verbosity > 0:
        reporter.write_line(f"{SCHEMA}: {_validated['in_process']} rendered runs and "
                            f"{_validated['files']} run files validated")


def commands_written_out(run: dict[str, Any]) -> dict[str, Any]:
    """`run` (JSON) with each host's command records also carrying their `command`, `stdout`
    and `stderr` texts, as fleetcheck.run/1 wrote them: for tests that look at what ran on
    one host."""
    texts, stdouts = run.get("command_texts", []), run.get("stdout_texts", [])
    stderrs = run.get("stderr_texts", [])
    for host in run.get("hosts", ()):
        for c in host.get("commands", ()):
            if "command_ref" in c:
                c["command"] = c.get("nonce", "").join(texts[c["command_ref"]])
            if "stdout_parts" in c:
                c["stdout"] = c["nonce"].join(p if isinstance(p, str) else stdouts[p]
                                              for p in c["stdout_parts"])
            if "stderr_ref" in c:
                c["stderr"] = stderrs[c["stderr_ref"]]
    return run
