"""The connection, concurrency and logging options of `scan` (Ansible's and OpenSSH's words)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import re
from collections.abc import Iterator, Sequence

from fleetcheck.cli.argtypes import MAX_SECONDS, count, seconds
from fleetcheck.cli.common import (
    add_extra_vars_argument,
    blamed,
    configured_at,
    host_defaults,
    setting_origin,
)
from fleetcheck.cli.env import Env
from fleetcheck.config import BY_NAME, sshargs
from fleetcheck.engine.options import ScanOptions, worker_ceiling
from fleetcheck.errors import InputError
from fleetcheck.frozen import replace
from fleetcheck.model import RunResult, Severity
from fleetcheck.numbers import is_number
from fleetcheck.plan import PlannedHost
from fleetcheck.plan.variables import SUPPORTED_CONNECTIONS, connection_type
from fleetcheck.progress import Progress, ProgressHandler
from fleetcheck.redact import Redactor
from fleetcheck.render import view
from fleetcheck.sanitize import one_line
from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT
from fleetcheck.transport.ssh import HOST_KEY_MODES, HOST_KEYS_OFF, SshOptions
from fleetcheck.transport.ssh.cmdline import config_file
from fleetcheck.transport.ssh.target import identity_exists

OFF_WARNING = HOST_KEYS_OFF
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(value: str | int) -> int:
    """'16M', '512k', '1048576' -> bytes; ValueError for anything else."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*([0-9]+)\s*([kmg]?)i?b?\s*", value.lower())
    if not m or not is_number(m.group(1)) or int(m.group(1)) <= 0:
        raise ValueError(f"--max-output: {value!r} is not a size (e.g. 16M, 512k)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def _connection(value: str) -> str:
    """-c: a connection fleetcheck serves (a value from configuration it cannot serve makes
    each host it reaches `unsupported_connection` instead: configuration is Ansible's too)."""
    if connection_type(value) not in SUPPORTED_CONNECTIONS:
        raise argparse.ArgumentTypeError(f"fleetcheck connects with "
                                         f"{', '.join(SUPPORTED_CONNECTIONS)}, not {value!r}")
    return value


def add_connection_arguments(parser: argparse.ArgumentParser, *, worker: bool = False) -> None:
    """Who to connect as, how to trust hosts, how many at once, how long to wait, how loud.

    `worker`: only what a Celery worker decides itself (keys, known_hosts, secrets, width);
    -u, -b and the timeouts come with each shard from the coordinator.
    """
    g = parser.add_argument_group("connection")
    if not worker:
        g.add_argument("-u", "--user", help="remote user where the inventory names none")
        g.add_argument("-c", "--connection", metavar="CONNECTION", type=_connection,
                       help="ssh (default; also smart), paramiko or local, where the inventory "
                            "names no ansible_connection")
        add_extra_vars_argument(g)
        g.add_argument("--ssh-common-args", metavar="ARGS",
                       help="ssh arguments for hosts without ansible_ssh_common_args "
                            "(e.g. '-o ProxyJump=bastion')")
        g.add_argument("--ssh-extra-args", metavar="ARGS",
                       help="ssh arguments for hosts without ansible_ssh_extra_args")
    g.add_argument("--private-key", "--key-file", dest="private_key", metavar="FILE",
                   help="SSH private key where the inventory names none")
    g.add_argument("-k", "--ask-pass", action="store_true",
                   help="ask for the SSH password (hosts without ansible_password)")
    g.add_argument("--ask-key-passphrase", action="store_true",
                   help="ask for the passphrase of encrypted key files "
                        "(or set FLEETCHECK_KEY_PASSPHRASE)")
    g.add_argument("-F", "--ssh-config", metavar="FILE",
                   help="ssh_config file to use instead of ~/.ssh/config and "
                        "/etc/ssh/ssh_config ('none': no file, as for ssh)")
    g.add_argument("--known-hosts", action="append", metavar="FILE",
                   help="known_hosts file to use instead of ~/.ssh/known_hosts (repeatable; "
                        "/etc/ssh/ssh_known_hosts is still read)")
    g.add_argument("--host-key-checking", choices=HOST_KEY_MODES,
                   help="strict (default): only known keys; accept-new: trust and record keys "
                        "of hosts never seen; off: no checks (stated in every report)")
    g.add_argument("-T", "--timeout", "--connect-timeout", dest="connect_timeout", type=seconds,
                   metavar="SECONDS",
                   help="connection timeout, as Ansible's -T: TCP connect, then SSH banner and "
                        "key exchange (default: the host's -o ConnectTimeout=, then "
                        "ssh_config's ConnectTimeout, else 10)")
    g.add_argument("--retries", type=count, default=2,
                   help="further attempts after a transient network error (default: 2)")
    b = parser.add_argument_group("privilege")
    if not worker:
        b.add_argument("-b", "--become", action="store_true", default=None,
                       help="collect with privilege (sudo by default) so every process's "
                            "sockets are attributed")
        b.add_argument("--become-method", metavar="METHOD",
                       help="sudo (default), su or doas, where the inventory names none")
        b.add_argument("--become-user", metavar="USER",
                       help="user to become (default: root), where the inventory names none")
    b.add_argument("-K", "--ask-become-pass", action="store_true",
                   help="ask for the become password (hosts without ansible_become_password)")
    if worker:
        parser.add_argument("-f", "--forks", type=count,
                            help="hosts of a shard checked at once (default: 10)")
        parser.add_argument("-v", "--verbose", action="count", default=0,
                            help="log connection details (-vv: paramiko's own log); a "
                                 "worker has no host lines of its own, so its -v is scan's "
                                 "-vv")
        return
    r = parser.add_argument_group("concurrency and limits")
    r.add_argument("-f", "--forks", type=count,
                   help="hosts checked at once (default: 10)")
    r.add_argument("--workers", type=count, metavar="N",
                   help="processes sharing the forks, all started at once (default: one, "
                        "and another whenever it is CPU-bound, up to the cores available and "
                        "one per 200 hosts)")
    r.add_argument("--command-timeout", type=seconds, metavar="SECONDS",
                   help="seconds a host's collection command may run (default: 60; this was "
                        "-T before -T became the connection timeout, as in Ansible)")
    r.add_argument("--deadline", type=seconds, metavar="SECONDS",
                   help="seconds one host may take in all, connecting included (default: "
                        "enough for every timeout, at least 180)")
    r.add_argument("--max-output", default=DEFAULT_MAX_OUTPUT, metavar="SIZE",
                   help="most output read from one host (e.g. 16M, the default)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="-v: each host's outcome as it finishes; -vv: connection "
                             "details too (address, user, keys tried, jump hosts, "
                             "algorithms, timings); -vvv: paramiko's own log as well")


def scan_options(args: argparse.Namespace, env: Env, hosts: list[PlannedHost],
                 fail_on: Severity = Severity.LOW) -> tuple[list[PlannedHost], ScanOptions]:
    """The planned hosts (with a prompted become password) and the ScanOptions the command
    line and environment ask for; InputError for a bad value, before any host is contacted."""
    try:
        args.max_output = parse_size(args.max_output)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    for name in ("forks", "retries"):
        if getattr(args, name) < (1 if name == "forks" else 0):
            raise InputError(f"--{name} must be at least {1 if name == 'forks' else 0}")
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers must be at least 1")
    if (args.workers or 1) > 1 and getattr(args, "engine", None) == "threads":
        # never a silent single process: the two ask for different things
        raise InputError(f"--workers {args.workers} starts worker processes, which --engine "
                         "threads rules out: give one or the other")
    if args.command_timeout is None:
        args.command_timeout = float(BY_NAME["command_timeout"].default)
    for name, option in (("command_timeout", "--command-timeout"), ("deadline", "--deadline"),
                         ("connect_timeout", "-T/--timeout")):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise InputError(f"{option} must be positive")
        if value is not None and value > MAX_SECONDS:  # from a config file: not argparse's
            raise InputError(f"{option} must be at most {MAX_SECONDS:.0f} seconds")
    ssh = ssh_options(args, env, hosts)
    # Without --workers the cores are a ceiling: a process is added only while this one
    # is CPU-bound, never to a run too small to keep one busy.
    workers = args.workers if args.workers is not None else worker_ceiling(len(hosts))
    longest = max((h.connect_timeout for h in hosts if h.connect_timeout), default=0.0)
    deadline = args.deadline if args.deadline is not None else \
        max(180.0, args.command_timeout + 2 * max(args.connect_timeout or 10.0, longest) + 30.0)
    if args.ask_become_pass:
        hosts = with_become_password(hosts, prompt(env, "BECOME password: "))
    return hosts, ScanOptions(forks=args.forks, fail_on=fail_on,
                              command_timeout=args.command_timeout,
                              deadline=deadline, max_output=args.max_output, workers=workers,
                              grow=args.workers is None,
                              ssh=ssh, log_level=log_level(args.verbose),
                              library_log=args.verbose >= LIBRARY_LOG)


def ssh_options(args: argparse.Namespace, env: Env,
                hosts: Sequence[PlannedHost] = ()) -> SshOptions:
    """The SSH settings (and prompted secrets) the command line and environment ask for."""
    if args.retries < 0:
        raise InputError("--retries must be at least 0")
    if args.connect_timeout is not None and args.connect_timeout <= 0:
        raise InputError("-T/--timeout must be positive")
    passphrase = env.environ.get("FLEETCHECK_KEY_PASSPHRASE")
    if args.ask_key_passphrase:
        passphrase = prompt(env, "Key passphrase: ")
    password = prompt(env, "SSH password: ") if args.ask_pass else None
    known_hosts = tuple(str(env.path(p)) for p in args.known_hosts or ())
    for path in known_hosts:  # a typo here would make every host "unknown"; /dev/null is none
        if os.path.isdir(path):  # no mode can read keys from it, or record one in it
            raise InputError("--known-hosts names a directory, not a known_hosts file", path)
        if args.host_key_checking != "accept-new" and not os.path.exists(path):
            raise InputError("--known-hosts: known_hosts file not found (with "
                             "--host-key-checking accept-new it would be created)", path)
    private_key = str(env.path(args.private_key)) if args.private_key else None
    if private_key is not None and not identity_exists(private_key):
        label = "--private-key: " if configured_at(args, "private_key_file") is None else ""
        what = "is a directory, not a key file" if os.path.isdir(private_key) else \
            "key file not found"
        raise blamed(InputError(f"{label}{what}", private_key), args, "private_key_file")
    home = env.environ.get("HOME") or os.path.expanduser("~")
    if home.startswith("~"):  # ssh's ~/.ssh files have nowhere to be (ssh itself refuses)
        raise InputError(f"no home directory: HOME is not set and user id {os.getuid()} has "
                         "no entry in the password database; set HOME")
    ssh = SshOptions(
        host_key_checking=args.host_key_checking,
        host_key_checking_forced=(setting_origin(args, "host_key_checking") or "").startswith(
            "command line"),
        known_hosts=known_hosts,
        ssh_config=(None if not args.ssh_config else "none" if args.ssh_config == "none"
                    else str(env.path(args.ssh_config))),
        connect_timeout=args.connect_timeout, retries=args.retries,
        private_key=private_key,
        key_passphrase=passphrase, password=password,
        agent=env.environ.get("SSH_AUTH_SOCK"), home=home, local_user=local_user(),
        host_configs=tuple(sorted({(f, str(env.path(f))) for h in hosts
                                   if h.connection == "ssh"
                                   and (f := config_file(h.ssh_args)) is not None})),
    )
    ssh.resolver()  # a broken ssh_config is bad input: report it before contacting anyone
    return ssh


def ssh_warnings(options: ScanOptions, hosts: list[PlannedHost], args: argparse.Namespace,
                 env: Env) -> list[str]:
    """What every report of a run with these options must warn about; the ssh arguments
    the hosts' own variables give and fleetcheck's SSH ignores are also said on stderr."""
    defaults = host_defaults(args)
    given = (*defaults.ssh_args, *defaults.ssh_common_args, *defaults.ssh_extra_args)
    ignored = sshargs.hosts_note([(h.name, h.ssh_args) for h in hosts if h.connection == "ssh"],
                                 given)
    for note in ignored:
        env.stderr.write(one_line(f"fleetcheck: warning: {note}") + "\n")
    return [*([OFF_WARNING] if options.ssh.host_key_checking == "off" else []), *ignored]


def say_trust(run: RunResult, env: Env) -> None:
    """On stderr: what the run trusted without checking (keys trusted on first use, no checks
    at all), so trust-on-first-use leaves evidence where the operator is looking too."""
    for _, _, sentence in view.trust(run):
        env.stderr.write(one_line(f"fleetcheck: warning: {sentence}") + "\n")


def with_become_password(hosts: list[PlannedHost], password: str) -> list[PlannedHost]:
    """-K: the prompted password for every becoming host the inventory gives none."""
    return [replace(h, become=replace(h.become, password=password))
            if h.become is not None and h.become.password is None else h for h in hosts]


def prompt(env: Env, prompt: str) -> str:
    """Ask for a secret: without echo on a terminal, else one line of stdin."""
    isatty = getattr(env.stdin, "isatty", None)
    if isatty is not None and isatty():
        return getpass.getpass(prompt, stream=env.stderr)
    env.stderr.write(prompt)
    line = env.stdin.readline()
    if not line:
        raise InputError(f"{prompt.rstrip(': ').lower()} was asked for, but stdin is empty")
    return line.rstrip("\r\n")


# What each -v adds (docs/cli.md): 1 each host's outcome (written by the command as hosts
# finish, not logged); 2 fleetcheck's connection log (address, user, keys, jump hosts,
# algorithms, timings); 3 paramiko's own log too.
HOST_LINES, CONNECTION_LOG, LIBRARY_LOG = 1, 2, 3


def log_level(verbose: int) -> int | None:
    """The logging level of fleetcheck's loggers for -v..-vvv; None below -vv (warnings
    still reach stderr through logging's last-resort handler)."""
    return logging.DEBUG if verbose >= CONNECTION_LOG else None


def local_user() -> str:
    """Who runs fleetcheck here (the uid when it has no name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


@contextlib.contextmanager
def logging_through(verbose: int, progress: Progress,
                    redact: Redactor | None = None) -> Iterator[None]:
    """-v: fleetcheck's log records go through the progress line to stderr while scanning,
    with `redact`'s secrets masked."""
    level = log_level(verbose)
    if level is None:
        yield
        return
    handler = ProgressHandler(progress, redact)
    loggers = [logging.getLogger("fleetcheck")]
    if verbose >= LIBRARY_LOG:
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
