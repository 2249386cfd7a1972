"""`fleetcheck report`: re-render a saved run (its JSON report) in any format."""

from __future__ import annotations

import argparse

from fleetcheck.cli.common import Command
from fleetcheck.cli.destinations import STDOUT, check_directory
from fleetcheck.cli.env import Env, tell_lost_stdout
from fleetcheck.cli.output import (
    DEFAULT_FORMATS,
    add_color_argument,
    print_report,
    write_and_list,
)
from fleetcheck.cli.runfile import read_run
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.render import FORMATS, parse_formats
from fleetcheck.render.write import Written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `report`."""
    parser.add_argument("run", metavar="RUN.json", help="a run's JSON report ('-' for stdin)")
    parser.add_argument("--format", metavar="FORMATS",
                        help=f"comma-separated formats ({', '.join(FORMATS)}, or all); default: "
                             f"text on stdout, or {DEFAULT_FORMATS} with -o")
    parser.add_argument("-o", "--output-dir", metavar="DIR",
                        help="write the reports here, named as the run named them; without it "
                             "(or with '-') the one format asked for goes to stdout")
    add_color_argument(parser)  # the text report on a terminal is coloured, as scan's
    parser.add_argument("--force", action="store_true",
                        help="replace report files of the same name in DIR (never done "
                             "without it)")


def run(args: argparse.Namespace, env: Env) -> int:
    """Render the saved run; exit 0 once rendered (the run's own verdict is in the report),
    4 when a report could not be written."""
    # -o - is stdout, as for scan and merge; a file name is refused, never made a directory
    outdir = None if args.output_dir in (None, STDOUT) else \
        check_directory(args.output_dir, env, "--format {name} > {path}")
    try:
        formats = parse_formats(args.format or (DEFAULT_FORMATS if outdir else "text"))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if outdir is None and len(formats) != 1:
        raise InputError("several formats need -o DIR to write them to")
    result = read_run(args.run, env)
    written = Written()
    if outdir is None:
        print_report(result, formats[0], env, color=args.color)
    else:
        written = write_and_list(result, formats, outdir, env, replace=args.force)
    lost = tell_lost_stdout(env) or written.failed  # a 4 never comes without its reason
    return ExitStatus.REPORTS_FAILED if lost else ExitStatus.OK


COMMAND = Command("report", "re-render a saved run (RUN.json) as text, HTML, JUnit, CSV or JSON",
                  add_arguments, run)
