"""`fleetcheck scan`: check hosts against policies and write the reports."""

from __future__ import annotations

import argparse
import dataclasses
import socket

from fleetcheck.cli import history_setup
from fleetcheck.cli.common import Command, add_input_arguments, limit_pattern, load_inputs
from fleetcheck.cli.env import Env
from fleetcheck.cli.output import (
    final_status,
    prepare_output_dir,
    print_report,
    stdout_format,
    write_and_list,
)
from fleetcheck.cli.scan_args import (
    add_connection_arguments,
    local_user,
    logging_through,
    scan_options,
    ssh_warnings,
)
from fleetcheck.engine.interrupts import as_ctrl_c
from fleetcheck.engine.scan import scan
from fleetcheck.errors import InputError
from fleetcheck.model import HostResult, Severity
from fleetcheck.plan import plan
from fleetcheck.progress import Progress, host_log_line
from fleetcheck.render import FORMATS, PIPEABLE, parse_formats

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
    add_connection_arguments(parser)
    history_setup.add_arguments(parser)


def run(args: argparse.Namespace, env: Env) -> int:
    """Load, plan, scan, report. Input problems raise InputError before any host is contacted."""
    try:
        fail_on = Severity.parse(args.fail_on)
        formats = parse_formats(args.format)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    inputs = load_inputs(args, env)
    outdir = env.path(args.output_dir)
    hosts = plan(inputs.inventory, inputs.policies, limit=limit_pattern(args, env),
                 become=args.become, user=args.user)
    hosts, options = scan_options(args, env, hosts, fail_on)
    prepare_output_dir(outdir)
    history = history_setup.ScanHistory.start(args, env, outdir)
    options = dataclasses.replace(options, gate=history.gate)
    meta = {
        "command_line": list(args.argv),
        "user": local_user(),
        "hostname": socket.gethostname(),
        "fail_on": fail_on.label,
        "forks": args.forks,
        "workers": options.workers,
        "deadline": options.deadline,
        "become": bool(args.become),
        "policies": [p.name for p in inputs.policies],
        "host_key_checking": options.ssh.host_key_checking,
        "warnings": ssh_warnings(options),
    }
    progress = Progress(len(hosts), env.stderr, enabled=env.stderr_isatty and not env.in_ci)

    def on_done(result: HostResult) -> None:
        progress.host_done(result)
        if args.verbose:
            progress.write(host_log_line(result))

    with as_ctrl_c() as caught, history:
        with logging_through(args.verbose, progress):
            try:
                result = scan(hosts, options=options, inputs=inputs.files, meta=meta,
                              on_done=on_done, waivers=inputs.waivers, compare=history.compare)
            finally:
                progress.close()
        caught.armed = False  # from here on a signal is noted, and the reports still written
        if not result.complete:
            by = f" by {caught.name}" if caught.name else ""
            if caught.name:
                result = dataclasses.replace(result, meta={**result.meta,
                                                           "interrupted_by": caught.name})
            env.stderr.write(f"fleetcheck: interrupted{by}: {len(result.hosts)} hosts "
                             "reported, unfinished ones marked not_run\n")
        result = history.finish(result)
        written = write_and_list(result, formats, outdir, env)
        print_report(result, stdout_format(formats), env, written.paths)
        return final_status(result, env, written)

COMMAND = Command("scan", "check hosts' listeners against policies and write reports",
                  add_arguments, run)
