"""`fleetcheck config`, and configuration applied to every command's arguments.

`configure(args, env)` fills each argument the command line left out from the
environment, ansible.cfg or fleetcheck.yml (see fleetcheck/config), so the commands
themselves only ever read `args`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env, write_data
from fleetcheck.config import BY_NAME, SETTINGS, Effective, Kind, Resolved, Setting, resolve
from fleetcheck.errors import ExitStatus
from fleetcheck.redact import MASK
from fleetcheck.sanitize import one_line, printable


def _applies(setting: Setting, args: argparse.Namespace) -> bool:
    """Whether `setting` fills an argument of this command."""
    if setting.dest is None:
        return False
    if setting.commands is not None:
        return args.command in setting.commands
    return hasattr(args, setting.dest)


def configure(args: argparse.Namespace, env: Env) -> Effective | None:
    """Fill the arguments the command line left out; None for commands that take no setting.

    A config file or variable that cannot be read is an InputError (exit 2) naming it.
    """
    applying = [s for s in SETTINGS if _applies(s, args)]
    if not applying and args.command != "config":
        return None
    given = {s.name: (getattr(args, s.dest), s.flag) for s in applying
             if s.dest is not None and s.flag is not None
             and getattr(args, s.dest, None) is not None}
    effective = resolve(env.environ, str(env.cwd), given)
    for warning in effective.warnings:
        env.stderr.write(f"fleetcheck: warning: {one_line(warning)}\n")
    for setting in applying:
        if setting.name in given or setting.dest is None:
            continue
        value = effective[setting.name]
        if setting.to_arg is not None:
            value = setting.to_arg(value)
        elif setting.kind is Kind.PATHS:
            value = list(value) or None
        setattr(args, setting.dest, value)
    if "vault_password_file" not in given and hasattr(args, "vault_password_file"):
        files = [i.split("@", 1)[-1] for i in effective["vault_identity_list"]
                 if i.split("@", 1)[-1] != "prompt"]  # prompting is not supported here
        args.vault_password_file = [*files, *(args.vault_password_file or [])] or None
    return effective


def from_command_line(args: argparse.Namespace, name: str) -> bool:
    """Whether setting `name` was given on the command line (not filled by configuration)."""
    settings: Effective | None = getattr(args, "settings", None)
    if settings is None:
        return bool(getattr(args, BY_NAME[name].dest or name, None))
    return settings.values[name].origin.startswith("command line")


def _shown(resolved: Resolved) -> Any:
    """A setting's value as printed: a secret only says that it is set."""
    value = resolved.value
    if resolved.setting.secret and value is not None:
        return MASK
    return list(value) if isinstance(value, tuple) else value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `config`."""
    parser.add_argument("--only-changed", action="store_true",
                        help="only the settings something other than the default sets")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text (default): 'name = value  (origin)' a line; json: for tools")


def run(args: argparse.Namespace, env: Env) -> int:
    """Print every effective setting and where it came from."""
    effective: Effective = args.settings  # configured by main before any command runs
    rows = [r for r in effective.values.values() if r.changed or not args.only_changed]
    if args.format == "json":
        write_data(env, json.dumps({
            "ansible_cfg": effective.ansible_cfg, "project_file": effective.project_file,
            "settings": [{"name": r.setting.name, "value": _shown(r), "origin": r.origin,
                          "ansible": r.setting.ansible} for r in rows]}, indent=2) + "\n")
        return ExitStatus.OK
    lines = [f"# ansible.cfg: {effective.ansible_cfg or 'none found'}",
             f"# fleetcheck.yml: {effective.project_file or 'none found'}"]
    lines += [f"{r.setting.name} = {json.dumps(_shown(r))}  ({r.origin})" for r in rows]
    env.stdout.write(printable("\n".join(lines)) + "\n")  # paths and values may be anything
    return ExitStatus.OK


COMMAND = Command("config", "print every effective setting and where it came from "
                            "(environment, ansible.cfg, fleetcheck.yml, default)",
                  add_arguments, run)
