"""`fleetcheck scan`: check hosts against policies and write the reports."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import getpass
import logging
import os
import socket
from collections.abc import Iterator

from fleetcheck.cli.common import Command, add_input_arguments, load_inputs
from fleetcheck.cli.env import Env
from fleetcheck.cli.scan_args import add_connection_arguments, parse_size
from fleetcheck.errors import InputError
from fleetcheck.model import HostResult, Severity
from fleetcheck.plan import PlannedHost, plan
from fleetcheck.progress import Progress, ProgressHandler, host_log_line
from fleetcheck.render import FORMATS, parse_formats, text
from fleetcheck.render.write import write_reports
from fleetcheck.scan import ScanOptions, scan
from fleetcheck.transport.ssh import SshOptions
from fleetcheck.workers import default_workers

DEFAULT_FORMATS = "text,json"
# Machine-readable formats a single-format run prints to stdout for piping.
_PIPEABLE = ("json",)
# Below this many hosts per process, extra worker processes cost more than they give.
HOSTS_PER_WORKER = 200
OFF_WARNING = ("Host keys were NOT checked (--host-key-checking off): any machine answering "
               "at a host's address could have produced its results.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `scan`."""
    add_input_arguments(parser)
    parser.add_argument("--format", default=DEFAULT_FORMATS, metavar="FORMATS",
                        help=f"comma-separated report formats ({', '.join(FORMATS)}); "
                             f"default: {DEFAULT_FORMATS}")
    parser.add_argument("-o", "--output-dir", default="reports", metavar="DIR",
                        help="where reports are written (default: reports/)")
    parser.add_argument("--fail-on", default="low", metavar="SEVERITY",
                        help="lowest severity that makes the exit code 1 "
                             "(critical, high, medium, low, info; default: low)")
    add_connection_arguments(parser)


def _options(args: argparse.Namespace, env: Env, hosts: list[PlannedHost],
             fail_on: Severity) -> ScanOptions:
    """ScanOptions from the command line and the environment (prompts for asked secrets)."""
    for name in ("forks", "retries"):
        if getattr(args, name) < (1 if name == "forks" else 0):
            raise InputError(f"--{name} must be at least {1 if name == 'forks' else 0}")
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers must be at least 1")
    for name in ("timeout", "deadline", "connect_timeout"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise InputError(f"--{name.replace('_', '-')} must be positive")
    passphrase = env.environ.get("FLEETCHECK_KEY_PASSPHRASE")
    if args.ask_key_passphrase:
        passphrase = _prompt(env, "Key passphrase: ")
    password = _prompt(env, "SSH password: ") if args.ask_pass else None
    known_hosts = tuple(str(env.path(p)) for p in args.known_hosts or ())
    for path in known_hosts:  # a typo here would make every host "unknown"
        if args.host_key_checking != "accept-new" and not os.path.isfile(path):
            raise InputError("known_hosts file not found (with --host-key-checking "
                             "accept-new it would be created)", path)
    home = env.environ.get("HOME") or os.path.expanduser("~")
    ssh = SshOptions(
        host_key_checking=args.host_key_checking,
        known_hosts=known_hosts,
        ssh_config=str(env.path(args.ssh_config)) if args.ssh_config else None,
        connect_timeout=args.connect_timeout, retries=args.retries,
        private_key=str(env.path(args.private_key)) if args.private_key else None,
        key_passphrase=passphrase, password=password,
        agent=env.environ.get("SSH_AUTH_SOCK"), home=home, local_user=_user(),
    )
    ssh.resolver()  # a broken ssh_config is bad input: report it before contacting anyone
    workers = args.workers if args.workers is not None else \
        min(default_workers(), max(1, len(hosts) // HOSTS_PER_WORKER))
    deadline = args.deadline if args.deadline is not None else \
        max(180.0, args.timeout + 2 * (args.connect_timeout or 10.0) + 30.0)
    return ScanOptions(forks=args.forks, fail_on=fail_on, command_timeout=args.timeout,
                       deadline=deadline, max_output=args.max_output, workers=workers, ssh=ssh,
                       extra={"log_level": _log_level(args.verbose)})


def run(args: argparse.Namespace, env: Env) -> int:
    """Load, plan, scan, report. Input problems raise InputError before any host is contacted."""
    try:
        fail_on = Severity.parse(args.fail_on)
        formats = parse_formats(args.format)
        args.max_output = parse_size(args.max_output)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    inputs = load_inputs(args, env)
    hosts = plan(inputs.inventory, inputs.policies, limit=args.limit, become=args.become,
                 user=args.user)
    options = _options(args, env, hosts, fail_on)
    if args.ask_become_pass:
        hosts = _with_become_password(hosts, _prompt(env, "BECOME password: "))
    meta = {
        "command_line": list(args.argv),
        "user": _user(),
        "hostname": socket.gethostname(),
        "fail_on": fail_on.label,
        "forks": args.forks,
        "workers": options.workers,
        "deadline": options.deadline,
        "become": bool(args.become),
        "policies": [p.name for p in inputs.policies],
        "host_key_checking": options.ssh.host_key_checking,
        "warnings": [OFF_WARNING] if options.ssh.host_key_checking == "off" else [],
    }
    progress = Progress(len(hosts), env.stderr, enabled=env.stderr_isatty and not env.in_ci)

    def on_done(result: HostResult) -> None:
        progress.host_done(result)
        if args.verbose:
            progress.write(host_log_line(result))

    with _logging(args.verbose, progress):
        try:
            result = scan(hosts, options=options, inputs=inputs.files, meta=meta,
                          on_done=on_done)
        finally:
            progress.close()
    if not result.complete:
        env.stderr.write(f"fleetcheck: interrupted: {len(result.hosts)} hosts reported, "
                         "unfinished ones marked not_run\n")
    written = write_reports(result, formats, env.path(args.output_dir))
    if len(formats) == 1 and formats[0] in _PIPEABLE:
        env.stdout.write(FORMATS[formats[0]].render(result))
    else:
        env.stdout.write(text.render(result, color=env.color))
    for path in written:
        env.stderr.write(f"report: {path}\n")
    return result.summary.exit_code


def _with_become_password(hosts: list[PlannedHost], password: str) -> list[PlannedHost]:
    """-K: the prompted password for every becoming host the inventory gives none."""
    return [dataclasses.replace(h, become=dataclasses.replace(h.become, password=password))
            if h.become is not None and h.become.password is None else h for h in hosts]


def _prompt(env: Env, prompt: str) -> str:
    """Ask for a secret: without echo on a terminal, else one line of stdin."""
    isatty = getattr(env.stdin, "isatty", None)
    if isatty is not None and isatty():
        return getpass.getpass(prompt, stream=env.stderr)
    env.stderr.write(prompt)
    line = env.stdin.readline()
    if not line:
        raise InputError(f"{prompt.rstrip(': ').lower()} was asked for, but stdin is empty")
    return line.rstrip("\r\n")


def _log_level(verbose: int) -> int | None:
    return None if not verbose else logging.INFO if verbose == 1 else logging.DEBUG


@contextlib.contextmanager
def _logging(verbose: int, progress: Progress) -> Iterator[None]:
    """-v: fleetcheck's log records go through the progress line to stderr while scanning."""
    level = _log_level(verbose)
    if level is None:
        yield
        return
    handler = ProgressHandler(progress)
    loggers = [logging.getLogger("fleetcheck")]
    if verbose >= 3:
        loggers.append(logging.getLogger("paramiko"))
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, old in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(old)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


COMMAND = Command("scan", "check hosts' listeners against policies and write reports",
                  add_arguments, run)
