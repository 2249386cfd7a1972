"""The command line: argument parsing, dispatch, and the one place exceptions become exit codes."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from fleetcheck import __version__
from fleetcheck.cli import (
    completion_cmd,
    config_cmd,
    diff_cmd,
    evidence_cmd,
    explain_cmd,
    history_cmd,
    inventory_cmd,
    manpage_cmd,
    merge_cmd,
    parse_cmd,
    report_cmd,
    scan_cmd,
    validate_cmd,
    verify_cmd,
    worker_cmd,
)
from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env, guarded
from fleetcheck.cli.suggest import subparsers, suggestion
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.parsers import ParseError
from fleetcheck.sanitize import one_line

COMMANDS: tuple[Command, ...] = (scan_cmd.COMMAND, validate_cmd.COMMAND, explain_cmd.COMMAND,
                                 parse_cmd.COMMAND, report_cmd.COMMAND, inventory_cmd.COMMAND,
                                 evidence_cmd.COMMAND, verify_cmd.COMMAND, merge_cmd.COMMAND,
                                 diff_cmd.COMMAND, history_cmd.COMMAND, worker_cmd.COMMAND,
                                 config_cmd.COMMAND, completion_cmd.COMMAND, manpage_cmd.COMMAND)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors map to exit 2 in one place,
    each with the closest known word when one is near what was typed."""

    root: argparse.ArgumentParser | None = None  # the top parser, set by parse_arguments
    argv: Sequence[str] = ()

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(suggestion(message, self.root or self, self.argv))


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


def parse_arguments(args_list: Sequence[str]) -> tuple[argparse.ArgumentParser,
                                                        argparse.Namespace]:
    """The parser and what it made of `args_list`; InputError (with a suggestion) if bad."""
    parser = build_parser()
    for each in (parser, *subparsers(parser).values()):
        if isinstance(each, _Parser):
            each.root, each.argv = parser, tuple(args_list)
    return parser, parser.parse_args(args_list)


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    """Run one command; returns the exit status (never raises for user errors)."""
    env = guarded(env or Env())
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser, args = parse_arguments(args_list)
        if args.command is None:
            env.stderr.write(parser.format_help())
            return ExitStatus.BAD_INPUT
        args.argv = ["fleetcheck", *args_list]
        args.settings = config_cmd.configure(args, env)  # what the command line left out
        return int(args.handler(args, env))
    except (InputError, ParseError) as exc:  # may quote an inventory, a file, a host's output
        env.stderr.write(f"fleetcheck: error: {one_line(str(exc))}\n")
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
