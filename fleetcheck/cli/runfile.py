"""Reading a saved run (its JSON report): for `report`, `diff`, `--baseline`, `history import`."""

from __future__ import annotations

import json
from typing import Any

from fleetcheck.bounded import MAX_RUN_BYTES, read_stream
from fleetcheck.cli.env import Env
from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import InputError
from fleetcheck.frozen import replace
from fleetcheck.jsontext import LoneSurrogate, checked
from fleetcheck.model import READABLE, SCHEMA, RunResult, Severity
from fleetcheck.model.runcheck import RunShapeError, check_run, show
from fleetcheck.model.runtimes import check_times
from fleetcheck.textfile import read_text


def load_run(text: str, name: str) -> RunResult:
    """Parse a saved run; InputError naming the file (and line) for anything else."""
    # An editor's byte order mark: JSON readers may ignore it (RFC 8259, 8.1), as the JSON
    # inventories and extra vars read here (through YAML) do; Python's json refuses it.
    text = text.removeprefix("\ufeff")
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
        check_run(data)  # what the readers below trust, checked: never a crash in a renderer
        check_times(data)  # and its times on the calendar (2030-02-30 has the right shape)
    except RunShapeError as exc:
        raise InputError(f"malformed {data['schema']} document: {exc}", name) from None
    _check_policies(data, name)
    try:
        run = RunResult.from_dict(data)
        # Settled again, so a run written before statuses followed --fail-on reads as one verdict.
        hosts, summary = judge_run(run.hosts, Severity.parse(run.summary.fail_on),
                                   complete=run.summary.complete, gate=run.summary.gate)
        run = replace(run, hosts=hosts, summary=summary)
    except KeyError as exc:
        raise InputError(f"incomplete {SCHEMA} document: missing key {exc.args[0]!r}",
                         name) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"malformed {SCHEMA} document: {exc}", name) from None
    return run


_RULE_TEXTS = ("id", "action", "severity", "reason")


def _check_policies(data: dict[str, Any], name: str) -> None:
    """InputError unless each of the run's policy definitions reads back as a policy (the
    published schema leaves their shape open; reports and evidence rebuild them)."""
    # Imported here: only where a run is read.
    from fleetcheck.policy.serialize import policy_from_dict, policy_to_dict

    definitions = data.get("policy_definitions", [])
    if not isinstance(definitions, list):
        raise InputError(f"malformed {data['schema']} document: $.policy_definitions: "
                         "not an array", name)
    for index, definition in enumerate(definitions):
        try:
            if not isinstance(definition, dict) or not isinstance(definition.get("name"), str):
                raise ValueError("not a policy with a name")
            for written in definition.get("rules") or ():
                if not isinstance(written, dict) or not all(
                        isinstance(written.get(key), str | None) for key in _RULE_TEXTS):
                    raise ValueError(f"rule {show(written)}: {', '.join(_RULE_TEXTS)} "
                                     "must be strings")
            policy = policy_from_dict(definition)
            policy_to_dict(policy)  # as reports and evidence rebuild and show it
            for rule in policy.rules:
                rule.match.describe()
        except KeyError as exc:
            why = f"missing key {exc.args[0]!r}"
        except (TypeError, ValueError, AttributeError) as exc:
            why = str(exc)
        except InputError as exc:  # a rule's field read as a policy file's (located nowhere)
            why = exc.message
        else:
            continue
        raise InputError(f"malformed {data['schema']} document: "
                         f"$.policy_definitions[{index}]: {why}", name)


def read_run(arg: str, env: Env) -> RunResult:
    """The saved run named on the command line ('-': stdin); InputError when unusable."""
    if arg == "-":
        return load_run(read_stream(env.stdin, MAX_RUN_BYTES, "run", "<stdin>"), "<stdin>")
    return load_run(read_run_text(arg, env), arg)


def read_run_text(arg: str, env: Env) -> str:
    """The text of the saved run file `arg`; InputError when unreadable, too large or not UTF-8."""
    return read_text(str(env.path(arg)), MAX_RUN_BYTES, "run", arg)
