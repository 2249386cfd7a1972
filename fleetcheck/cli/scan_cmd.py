"""`fleetcheck scan`: check hosts against policies and write the reports."""

from __future__ import annotations

import argparse
import getpass
import os
import socket

from fleetcheck.cli.common import Command, add_input_arguments, limit_pattern, load_inputs
from fleetcheck.cli.env import Env
from fleetcheck.cli.output import (
    prepare_output_dir,
    print_report,
    stdout_format,
    write_and_list,
)
from fleetcheck.errors import InputError
from fleetcheck.model import Severity
from fleetcheck.plan import plan
from fleetcheck.render import FORMATS, PIPEABLE, parse_formats
from fleetcheck.scan import ScanOptions, scan

# The product's reports: text and HTML for people, JSON and JUnit for machines (CSV on request).
DEFAULT_FORMATS = "text,html,json,junit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `scan`."""
    add_input_arguments(parser)
    parser.add_argument("--format", default=DEFAULT_FORMATS, metavar="FORMATS",
                        help=f"comma-separated report formats ({', '.join(FORMATS)}, or all); "
                             f"default: {DEFAULT_FORMATS}. Stdout shows the text report, or "
                             f"the one format asked for if it is {', '.join(PIPEABLE)}")
    parser.add_argument("-o", "--output-dir", default="reports", metavar="DIR",
                        help="where reports are written (default: reports/)")
    parser.add_argument("--fail-on", default="low", metavar="SEVERITY",
                        help="lowest severity that makes the exit code 1 "
                             "(critical, high, medium, low, info; default: low)")
    parser.add_argument("-f", "--forks", type=int, default=10,
                        help="hosts checked at once (default: 10)")
    parser.add_argument("-u", "--user", help="remote user where the inventory names none")
    parser.add_argument("-b", "--become", action="store_true",
                        help="collect through sudo so every process's sockets are attributed")
    parser.add_argument("-T", "--timeout", type=float, default=60.0,
                        help="seconds a host's collection command may run (default: 60)")


def run(args: argparse.Namespace, env: Env) -> int:
    """Load, plan, scan, report. Input problems raise InputError before any host is contacted."""
    try:
        fail_on = Severity.parse(args.fail_on)
        formats = parse_formats(args.format)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if args.forks < 1:
        raise InputError("--forks must be at least 1")
    inputs = load_inputs(args, env)
    outdir = env.path(args.output_dir)
    hosts = plan(inputs.inventory, inputs.policies, limit=limit_pattern(args, env),
                 become=args.become,
                 user=args.user)
    options = ScanOptions(forks=args.forks, fail_on=fail_on, command_timeout=args.timeout)
    meta = {
        "command_line": list(args.argv),
        "user": _user(),
        "hostname": socket.gethostname(),
        "fail_on": fail_on.label,
        "forks": args.forks,
        "become": bool(args.become),
        "policies": [p.name for p in inputs.policies],
    }
    prepare_output_dir(outdir)
    result = scan(hosts, options=options, inputs=inputs.files, meta=meta,
                  waivers=inputs.waivers)
    write_and_list(result, formats, outdir, env)
    print_report(result, stdout_format(formats), env)
    return result.summary.exit_code


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


COMMAND = Command("scan", "check hosts' listeners against policies and write reports",
                  add_arguments, run)
