"""`fleetcheck scan`: check hosts against policies and write the reports."""

from __future__ import annotations

import argparse
import socket

from fleetcheck.cli import evidence_cmd, history_setup
from fleetcheck.cli.argtypes import count
from fleetcheck.cli.common import (
    Command,
    Inputs,
    add_input_arguments,
    extra_vars,
    inventory_warnings,
    load_inputs,
    plan_or_stop,
)
from fleetcheck.cli.deliver import deliver
from fleetcheck.cli.destinations import add_report_argument, destinations
from fleetcheck.cli.engine_args import (
    add_engine_arguments,
    celery_engine,
    celery_record,
    refuse_worker_side,
)
from fleetcheck.cli.env import Env, write_data
from fleetcheck.cli.output import (
    DEFAULT_FORMATS,
    add_terminal_arguments,
    prepare_output_dir,
)
from fleetcheck.cli.recorded import recorded_argv
from fleetcheck.cli.scan_args import (
    add_connection_arguments,
    local_user,
    logging_through,
    say_trust,
    scan_options,
    ssh_warnings,
)
from fleetcheck.cli.shard_args import add_shard_arguments, select_shard
from fleetcheck.clock import Start
from fleetcheck.engine.interrupts import as_ctrl_c
from fleetcheck.engine.limits import forks_within_limit
from fleetcheck.engine.scan import scan
from fleetcheck.errors import ErrorKind, ExitStatus, InputError
from fleetcheck.frozen import replace
from fleetcheck.model import HostResult, Severity
from fleetcheck.plan import PlannedHost
from fleetcheck.progress import Progress, host_log_line
from fleetcheck.redact import run_redactor
from fleetcheck.render import FORMATS, PIPEABLE
from fleetcheck.render.waived import WARN_DAYS
from fleetcheck.sanitize import one_line
from fleetcheck.words import plural


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `scan`."""
    add_input_arguments(parser)
    parser.add_argument("--format", metavar="FORMATS",
                        help=f"comma-separated report formats ({', '.join(FORMATS)}, or all); "
                             f"default: {DEFAULT_FORMATS}. Stdout shows the summary, or "
                             f"the one format asked for if it is {', '.join(PIPEABLE)}")
    parser.add_argument("-o", "--output-dir", metavar="DIR",
                        help="the directory reports are written to, each also as "
                             "fleetcheck-latest.EXT (default: reports/); '-' prints the one "
                             "format asked for on stdout and writes no file")
    add_report_argument(parser)
    parser.add_argument("--evidence", metavar="BUNDLE.zip",
                        help="also write an evidence bundle of the run (as `fleetcheck "
                             "evidence`); the reports then name it and its digest")
    evidence_cmd.add_evidence_arguments(parser, scan=True)
    add_terminal_arguments(parser)
    parser.add_argument("--waiver-warning-days", type=count, default=WARN_DAYS, metavar="DAYS",
                        help=f"warn about waivers expiring within DAYS days, in every report "
                             f"and on stderr (default: {WARN_DAYS}; 0: no such warning)")
    parser.add_argument("--fail-on", metavar="SEVERITY",
                        help="lowest severity that makes the exit code 1 "
                             "(critical, high, medium, low, info; default: low)")
    add_connection_arguments(parser)
    add_shard_arguments(parser)
    add_engine_arguments(parser)
    history_setup.add_arguments(parser)
    parser.add_argument("--list-hosts", action="store_true",
                        help="print the hosts the scan would contact, one a line, and stop "
                             "(nothing is contacted, no report is written)")


def list_hosts(hosts: list[PlannedHost], env: Env) -> int:
    """--list-hosts: the hosts that would be contacted on stdout, in plan order; on stderr
    each selected host that would not be, and why."""
    for host in hosts:
        if host.refused is None:  # escaped on pipes too: one name a line, whatever a name holds
            write_data(env, f"{one_line(host.name)}\n")
        else:
            env.stderr.write(one_line(f"fleetcheck: {host.name} would not be contacted: "
                                      f"{host.refused.message}") + "\n")
    return ExitStatus.OK


def policy_warnings(args: argparse.Namespace, inputs: Inputs) -> dict[str, list[str]]:
    """What `validate` warns about the policy files, recorded in the run so every report shows
    it (the inventory's warnings are recorded as such; waiver problems are stated by the
    run's waiver records)."""
    given = [p.rstrip("/") for p in args.policy or ()]
    # 'file:line:col: message', as the inventory's are recorded: every one is a warning,
    # and reports already say so ("WARNING: policy: ...")
    shown = [f"{p.where}: {p.message}" for p in inputs.problems.warnings
             if p.path and any(p.path == g or p.path.startswith(g + "/") for g in given)]
    return {"policy_warnings": shown} if shown else {}


def run(args: argparse.Namespace, env: Env) -> int:
    """Load, plan, scan, report. Input problems raise InputError before any host is contacted."""
    try:
        fail_on = Severity.parse(args.fail_on)
    except ValueError as exc:  # from the command line: configured values are checked there
        raise InputError(f"--fail-on: {exc}") from None
    if args.waiver_warning_days < 0:
        raise InputError("--waiver-warning-days must be 0 or more")
    dest = destinations(args, env, DEFAULT_FORMATS)
    if (args.sign or args.include_inventory) and not args.evidence:
        raise InputError("--sign and --include-inventory go with --evidence BUNDLE.zip")
    start = Start()  # one reading of the clock: the run's start and the date it judges on
    inputs = load_inputs(args, env, start)
    hosts, shard = select_shard(args, inputs.inventory, plan_or_stop(inputs, args, env))
    if args.list_hosts:  # with the inventory's warnings (limit terms matching nothing)
        # the connection options are checked as a scan checks them (a missing key, -T 0),
        # on a copy that asks for no password: --list-hosts prompts for nothing
        scan_options(argparse.Namespace(**{**vars(args), "ask_pass": False,
                                           "ask_become_pass": False,
                                           "ask_key_passphrase": False}), env, hosts, fail_on)
        inventory_warnings(inputs.inventory, env, args)
        return list_hosts(hosts, env)
    # Refused before anything is asked for: no password is typed for a run that then stops.
    # A baseline that cannot be read, or one asked of a database turned off, is bad input
    # too; the database itself failing, later, is only a warning.
    refuse_worker_side(args)
    open_history = history_setup.ScanHistory.checked(args, env, dest.outdir,
                                                     shard=shard is not None)
    key = evidence_cmd.signing_key(args, env)  # a key that cannot sign is bad input, now
    if args.evidence and env.path(evidence_cmd.bundle_name(args.evidence, "--evidence")
                                  ).exists():  # never replaced: said now
        raise InputError("--evidence: a file of that name exists (not overwritten)",
                         args.evidence)
    hosts, options = scan_options(args, env, hosts, fail_on)
    engine = celery_engine(args, env, inputs, hosts)
    narrowed = None
    if engine is None:  # hosts are checked here: as many at once as the open files allow
        forks, narrowed = forks_within_limit(min(options.forks, max(1, len(hosts))))
        if narrowed is not None:  # said in every report too: the run was slower than asked
            env.stderr.write(f"fleetcheck: warning: {narrowed}\n")
            options = replace(options, forks=forks)
    if args.engine in ("threads", "processes"):
        options = replace(options, engine=args.engine)
    redactor = run_redactor(hosts, options.ssh)  # for the command line and the -v log alike
    meta = {
        "command_line": recorded_argv(args.argv, extra_vars(args, env).values, redactor),
        "user": local_user(),
        "hostname": socket.gethostname(),
        "fail_on": fail_on.label,
        "forks": args.forks,
        "workers": options.workers,
        "deadline": options.deadline,
        "become": bool(args.become),
        "policies": [p.name for p in inputs.policies],
        "host_key_checking": options.ssh.host_key_checking,
        "warnings": [*ssh_warnings(options, hosts, args, env), *([narrowed] if narrowed else []),
                     *inventory_warnings(inputs.inventory, env, args)],
        "waiver_warning_days": args.waiver_warning_days,
        **policy_warnings(args, inputs),
    }
    if dest.outdir is not None:
        prepare_output_dir(dest.outdir, args)
    history = open_history()
    # -q: a cron job or a script on a terminal wants the verdict line and nothing drawn
    progress = Progress(len(hosts), env.stderr,
                        enabled=env.stderr_isatty and not env.in_ci and not args.quiet)

    def on_done(result: HostResult) -> None:
        progress.host_done(result)
        if args.verbose:
            progress.write(host_log_line(result))

    with as_ctrl_c() as caught, history:
        with logging_through(args.verbose, progress, redactor):
            try:
                # Once every host has its result (or the run was cut short) a signal is
                # only noted: judging, history and the reports are not cut.
                result = scan(hosts, options=options, inputs=inputs.files, meta=meta,
                              on_done=on_done, waivers=inputs.waivers, engine=engine,
                              start=start, collected=caught.disarm)
            finally:
                progress.close()
        say_trust(result, env)
        if engine is not None:
            result = celery_record(result, engine)
            for problem in engine.problems:
                env.stderr.write(f"fleetcheck: {problem}\n")
        if not result.complete and (caught.name or engine is None or not engine.problems):
            by = f" by {caught.name}" if caught.name else ""
            if caught.name:
                result = replace(result, meta={**result.meta,
                                                           "interrupted_by": caught.name})
            unfinished = sum(1 for h in result.hosts
                             if h.error is not None and h.error.kind == ErrorKind.NOT_RUN)
            env.stderr.write(f"fleetcheck: interrupted{by}: {len(result.hosts) - unfinished} of "
                             f"{plural(len(result.hosts), 'host')} finished, {unfinished} "
                             "marked not_run\n")
        if shard is not None:
            result = replace(result, shard=shard)
        result = history.finish(history.apply(result))
        lost = False
        if args.evidence:
            try:
                result = evidence_cmd.bundle_scan(result, args, env, key, inputs.inventory)
            except InputError as exc:  # the hosts were checked: a bundle lost is a report lost
                env.stderr.write(f"fleetcheck: error: {one_line(str(exc))}\n")
                lost = True
        status = deliver(result, dest, env, args)
        return ExitStatus.REPORTS_FAILED if lost and status == ExitStatus.OK else status

COMMAND = Command("scan", "check hosts' listeners against policies and write reports",
                  add_arguments, run)
