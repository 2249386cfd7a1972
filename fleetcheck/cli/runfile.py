"""Reading a saved run (its JSON report): for `report`, `diff`, `--baseline`, `history import`."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from fleetcheck.bounded import MAX_RUN_BYTES, read_bounded, read_stream
from fleetcheck.cli.env import Env
from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import InputError
from fleetcheck.jsontext import LoneSurrogate, checked
from fleetcheck.model import READABLE, SCHEMA, RunResult, Severity


def load_run(text: str, name: str) -> RunResult:
    """Parse a saved run; InputError naming the file (and line) for anything else."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", name, exc.lineno, exc.colno) from None
    except (ValueError, RecursionError) as exc:  # an integer too long, nesting too deep
        raise InputError(f"not a readable run: {type(exc).__name__}", name) from None
    try:  # no report of ours holds one: it could never be written out
        checked(data, text)
    except LoneSurrogate as exc:
        raise InputError(f"not a readable run: {exc}", name, exc.line) from None
    if not isinstance(data, dict) or data.get("schema") not in READABLE:
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
    """The saved run named on the command line ('-': stdin); InputError when unusable."""
    if arg == "-":
        return load_run(read_stream(env.stdin, MAX_RUN_BYTES, "run", "<stdin>"), "<stdin>")
    try:
        text = read_bounded(str(env.path(arg)), MAX_RUN_BYTES, "run", arg).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read run: {exc}", arg) from None
    return load_run(text, arg)
