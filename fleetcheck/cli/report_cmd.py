"""`fleetcheck report`: re-render a saved run (its JSON report) in any format."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from fleetcheck.bounded import MAX_RUN_BYTES, read_bounded, read_stream
from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env, stream_failed
from fleetcheck.cli.output import DEFAULT_FORMATS, print_report, write_and_list
from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.model import READABLE, SCHEMA, RunResult, Severity
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
                             "the one format asked for goes to stdout")
    parser.add_argument("--force", action="store_true",
                        help="replace report files of the same name in DIR (never done "
                             "without it)")


def load_run(text: str, name: str) -> RunResult:
    """Parse a saved run; InputError naming the file (and line) for anything else."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", name, exc.lineno, exc.colno) from None
    except (ValueError, RecursionError) as exc:  # an integer too long, nesting too deep
        raise InputError(f"not a readable run: {type(exc).__name__}", name) from None
    if not isinstance(data, dict) or data.get("schema") not in READABLE:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"not a {SCHEMA} document (schema: {found!r})", name)
    try:
        run = RunResult.from_dict(data)
        # Settled again, so a run written before statuses followed --fail-on reads as one verdict.
        hosts, summary = judge_run(run.hosts, Severity.parse(run.summary.fail_on),
                                   complete=run.summary.complete)
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


def run(args: argparse.Namespace, env: Env) -> int:
    """Render the saved run; exit 0 once rendered (the run's own verdict is in the report),
    4 when a report could not be written."""
    try:
        formats = parse_formats(args.format or (DEFAULT_FORMATS if args.output_dir else "text"))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if args.output_dir is None and len(formats) != 1:
        raise InputError("several formats need -o DIR to write them to")
    result = read_run(args.run, env)
    written = Written()
    if args.output_dir is None:
        print_report(result, formats[0], env)
    else:
        written = write_and_list(result, formats, env.path(args.output_dir), env,
                                 replace=args.force)
    lost = written.failed or (stream_failed(env.stdout) is not None
                              and not isinstance(stream_failed(env.stdout), BrokenPipeError))
    return ExitStatus.REPORTS_FAILED if lost else ExitStatus.OK


COMMAND = Command("report", "re-render a saved run (RUN.json) as text, HTML, JUnit, CSV or JSON",
                  add_arguments, run)
