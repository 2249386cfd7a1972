"""`fleetcheck validate`: lint inventories, policies and waivers without contacting a host."""

from __future__ import annotations

import argparse
import json

from fleetcheck.cli.common import (
    Command,
    add_input_arguments,
    gather_inputs,
    inventory_problems,
    plan_hosts,
)
from fleetcheck.cli.env import Env, write_data
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.sanitize import one_line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `validate`."""
    add_input_arguments(parser)
    parser.add_argument("--strict", action="store_true",
                        help="treat warnings as errors (exit 2 when there is any)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text: one 'file:line:column: level: message' line per problem "
                             "(default); json: a document for tools")


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def run(args: argparse.Namespace, env: Env) -> int:
    """Report every problem; exit 2 when there is an error (or, with --strict, a warning)."""
    inputs, problems = gather_inputs(args, env)
    counts: dict[str, int] = {}
    if inputs is not None:
        try:
            hosts = plan_hosts(inputs, args, env)
        except InputError as exc:
            problems.add(exc)
            hosts = []
        inventory_problems(inputs.inventory, problems, args, env)
        counts = {"hosts": len(hosts), "policies": len(inputs.policies),
                  "rules": sum(len(p.rules) for p in inputs.policies),
                  "waivers": len(inputs.waivers.waivers) if inputs.waivers else 0}
    errors, warnings = problems.errors, problems.warnings
    failed = bool(errors) or (args.strict and bool(warnings))
    if args.format == "json":
        write_data(env, json.dumps({"ok": not failed, "errors": len(errors),
                                     "warnings": len(warnings), **counts,
                                     "problems": [p.to_dict() for p in problems.sorted()]},
                                    indent=2) + "\n")
    else:
        for problem in problems.sorted():
            env.stdout.write(f"{one_line(str(problem))}\n")
        what = ", ".join(_plural(n, k[:-1] if k != "policies" else "policy",
                                 k if k != "policies" else "policies")
                         for k, n in counts.items())
        verdict = "ok" if not errors and not warnings else \
            f"{_plural(len(errors), 'error')}, {_plural(len(warnings), 'warning')}"
        env.stdout.write(f"{verdict}: {what}\n" if what else f"{verdict}\n")
    return ExitStatus.BAD_INPUT if failed else ExitStatus.OK


COMMAND = Command("validate", "lint inventories, policies and waivers without contacting any host",
                  add_arguments, run)
