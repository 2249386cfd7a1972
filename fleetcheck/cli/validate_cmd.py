"""`fleetcheck validate`: check inventories and policies without contacting any host."""

from __future__ import annotations

import argparse

from fleetcheck.cli.common import Command, add_input_arguments, limit_pattern, load_inputs
from fleetcheck.cli.env import Env
from fleetcheck.errors import ExitStatus
from fleetcheck.plan import plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `validate`."""
    add_input_arguments(parser)


def run(args: argparse.Namespace, env: Env) -> int:
    """Load and plan everything; print a one-line summary. Problems raise InputError (exit 2)."""
    inputs = load_inputs(args, env)
    hosts = plan(inputs.inventory, inputs.policies, limit=limit_pattern(args, env))
    rules = sum(len(p.rules) for p in inputs.policies)
    env.stdout.write(f"ok: {len(hosts)} host{'s' * (len(hosts) != 1)}, "
                     f"{len(inputs.policies)} polic{'ies' if len(inputs.policies) != 1 else 'y'}, "
                     f"{rules} rule{'s' * (rules != 1)}\n")
    return ExitStatus.OK


COMMAND = Command("validate", "check inventories and policies without contacting any host",
                  add_arguments, run)
