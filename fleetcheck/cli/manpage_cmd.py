"""`fleetcheck manpage`: the manual page (roff), written from the argument parser."""

from __future__ import annotations

import argparse

from fleetcheck.cli import manpage
from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.policy.fields import parse_day
from fleetcheck.render.write import write_named_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `manpage`."""
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the page to FILE (e.g. docs/fleetcheck.1) instead of stdout")
    parser.add_argument("--date", default="", metavar="YYYY-MM-DD",
                        help="the date in the page's header (default: none, so the page is "
                             "the same whenever it is built)")


def run(args: argparse.Namespace, env: Env) -> int:
    """Print or write the page; `man ./fleetcheck.1` shows it."""
    from fleetcheck.cli.main import build_parser

    if args.date:  # the header's date is a claim about the page: a calendar's, as --today's
        try:
            parse_day(args.date)
        except ValueError:
            raise InputError(f"--date must be a date written YYYY-MM-DD, not {args.date!r}") \
                from None
    page = manpage.render(build_parser(), args.date)
    if args.output in (None, "-"):  # '-' is stdout, as for every command's -o
        env.stdout.write(page)
        return ExitStatus.OK
    try:
        write_named_file(env.path(args.output), page)
    except OSError as exc:
        raise InputError(f"cannot write the manual page: {exc.strerror or exc}",
                         args.output) from None
    return ExitStatus.OK


COMMAND = Command("manpage", "print the manual page (roff) built from the command line's "
                  "own definition", add_arguments, run)
