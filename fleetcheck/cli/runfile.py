"""Reading a saved run (its JSON report): for `report`, `diff`, `--baseline`, `history import`."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from fleetcheck.cli.env import Env
from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import InputError
from fleetcheck.model import SCHEMA, RunResult, Severity


def load_run(text: str, name: str) -> RunResult:
    """Parse a saved run; InputError naming the file (and line) for anything else."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", name, exc.lineno, exc.colno) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"not a {SCHEMA} document (schema: {found!r})", name)
    try:
        run = RunResult.from_dict(data)
        # Settled again, so a run written before statuses followed --fail-on reads as one verdict.
        hosts, summary = judge_run(run.hosts, Severity.parse(run.summary.fail_on),
                                   complete=run.summary.complete, gate=run.summary.gate)
        run = dataclasses.replace(run, hosts=hosts, summary=summary)
    except KeyError as exc:
        raise InputError(f"incomplete {SCHEMA} document: missing key {exc.args[0]!r}",
                         name) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"malformed {SCHEMA} document: {exc}", name) from None
    return run


def read_run(arg: str, env: Env) -> RunResult:
    """The run in file `arg` ('-': stdin); InputError naming the file for anything wrong."""
    if arg == "-":
        return load_run(env.stdin.read(), "<stdin>")
    try:
        text = env.path(arg).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read run: {getattr(exc, 'strerror', None) or exc}",
                         arg) from None
    return load_run(text, arg)
