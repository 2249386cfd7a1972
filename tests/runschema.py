"""A pytest plugin: every fleetcheck.run/3 JSON the test suite produces is schema-validated.

Two nets: JSON rendered in-process (every `FORMATS["json"]` render, which is what `scan`,
`report` and `write_reports` use) is validated as it is produced; run JSON files written by
subprocesses anywhere under the session's temporary directory are validated at the end.
A file meant to be invalid must carry `.invalid.` in its name.
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


_validated = {"in_process": 0, "files": 0}


@pytest.fixture(autouse=True, scope="session")
def _validate_rendered_json() -> Iterator[None]:
    """Wrap the JSON renderer for the whole session so each rendered run is validated."""
    original = FORMATS["json"]

    def checked(run: RunResult, options: RenderOptions | None = None) -> str:
        """Render as before, then validate what was rendered."""
        text = original.render(run, options)
        assert_valid_run(json.loads(text), "rendered run JSON")
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
