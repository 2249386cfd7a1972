"""The command line: argument parsing, dispatch, and the one place exceptions become exit codes."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from fleetcheck import __version__
from fleetcheck.cli import (
    diff_cmd,
    explain_cmd,
    history_cmd,
    inventory_cmd,
    parse_cmd,
    report_cmd,
    scan_cmd,
    validate_cmd,
)
from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env, guarded
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.parsers import ParseError

COMMANDS: tuple[Command, ...] = (scan_cmd.COMMAND, validate_cmd.COMMAND, explain_cmd.COMMAND,
                                 parse_cmd.COMMAND, report_cmd.COMMAND, inventory_cmd.COMMAND,
                                 diff_cmd.COMMAND, history_cmd.COMMAND)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors map to exit 2 in one place."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(message)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with one sub-command per Command."""
    parser = _Parser(prog="fleetcheck", description="What is listening on every host of a "
                     "fleet, and is each listener allowed?")
    parser.add_argument("--version", action="version", version=f"fleetcheck {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        sub = subs.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    """Run one command; returns the exit status (never raises for user errors)."""
    env = guarded(env or Env())
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(args_list)
        if args.command is None:
            env.stderr.write(parser.format_help())
            return ExitStatus.BAD_INPUT
        args.argv = ["fleetcheck", *args_list]
        return int(args.handler(args, env))
    except InputError as exc:
        env.stderr.write(f"fleetcheck: error: {exc}\n")
        return ExitStatus.BAD_INPUT
    except ParseError as exc:
        env.stderr.write(f"fleetcheck: error: {exc}\n")
        return ExitStatus.BAD_INPUT
    except KeyboardInterrupt:
        env.stderr.write("fleetcheck: interrupted\n")
        return ExitStatus.INTERRUPTED
    except Exception as exc:  # a bug: never let it pass for a verdict (1 says "violations")
        env.stderr.write("".join(traceback.format_exception(exc)))
        env.stderr.write(f"fleetcheck: internal error: {exc.__class__.__name__}: {exc}\n")
        return ExitStatus.INTERNAL


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
