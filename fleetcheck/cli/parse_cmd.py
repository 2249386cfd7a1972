"""`fleetcheck parse`: the listeners of one captured tool output, as JSON."""

from __future__ import annotations

import argparse
import json

from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.parsers import PARSERS, ParseError, parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `parse`."""
    parser.add_argument("--tool", required=True, metavar="TOOL",
                        help=f"the tool that printed FILE: {', '.join(sorted(PARSERS))}")
    parser.add_argument("file", metavar="FILE", help="captured output ('-' for stdin)")


def run(args: argparse.Namespace, env: Env) -> int:
    """Print the listeners of FILE as a JSON list; a parse error names FILE and the line."""
    if args.tool not in PARSERS:
        raise InputError(f"unknown tool {args.tool!r} (known: {', '.join(sorted(PARSERS))})")
    if args.file == "-":
        text, name = env.stdin.read(), "<stdin>"
    else:
        path = env.path(args.file)
        try:
            text = path.read_bytes().decode("utf-8", "replace")
        except OSError as exc:
            raise InputError(f"cannot read file: {exc.strerror}", args.file) from None
        name = args.file
    try:
        listeners = parse(args.tool, text)
    except ParseError as exc:
        raise InputError(f"{args.tool} output not recognised: {exc.message}"
                         + (f": {(exc.line or '').strip()!r}" if exc.line else ""),
                         name, exc.line_no) from None
    env.stdout.write(json.dumps([li.to_dict() for li in listeners], indent=2) + "\n")
    return ExitStatus.OK


COMMAND = Command("parse", "print the listeners of one captured tool output as JSON",
                  add_arguments, run)
