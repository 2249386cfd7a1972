"""What sub-commands share: the Command shape and loading of inventories and policies."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shlex
from collections.abc import Callable
from dataclasses import field
from importlib import resources
from pathlib import Path

from fleetcheck.cli.env import Env
from fleetcheck.clock import Start
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen, replace
from fleetcheck.inventory import Inventory, load, localhost_inventory
from fleetcheck.inventory.extravars import ExtraVars, read_extra_vars
from fleetcheck.inventory.ignored import IGNORED_EXTENSIONS, directory_filter
from fleetcheck.inventory.vault import Keyring
from fleetcheck.model import InputFile
from fleetcheck.plan import HostDefaults, PlannedHost, plan
from fleetcheck.policy import Policy
from fleetcheck.policy.fields import parse_day
from fleetcheck.policy.lint import WARN_EXPIRING_DAYS, check_all
from fleetcheck.policy.load import expand_paths
from fleetcheck.policy.problems import Level, Problems
from fleetcheck.policy.waivers import WaiverBook
from fleetcheck.sanitize import one_line


@frozen(slots=False)
class Command:
    """One sub-command: its name, help, arguments and handler (returns the exit status)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Env], int]


def add_inventory_arguments(parser: argparse.ArgumentParser, *, limit: bool = True) -> None:
    """-i/--inventory, -l/--limit and --vault-password-file, shared by every inventory reader."""
    parser.add_argument("-i", "--inventory", action="append", metavar="INVENTORY",
                        help="Ansible inventory: file, directory, script or 'host1,host2,' "
                             "(repeatable). Default: this machine via the local connection.")
    if limit:
        parser.add_argument("-l", "--limit", metavar="PATTERN",
                            help="only hosts matching this Ansible host pattern "
                                 "(e.g. 'web:&dc1:!web3', 'db[0]', '~web\\d+', '@hosts.txt')")
    parser.add_argument("--vault-password-file", action="append", metavar="FILE",
                        dest="vault_password_file",
                        help="file holding the vault password, or an executable printing it "
                             "(repeatable). Default: $ANSIBLE_VAULT_PASSWORD_FILE")
    parser.add_argument("--strict-inventory", action="store_true", default=None,
                        help="make every inventory warning (what ansible-core accepts with a "
                             "warning, and --limit terms matching nothing) a located error, "
                             "exit 2")
    # filled from configuration only (ansible.cfg, ANSIBLE_*), see config.settings
    parser.set_defaults(inventory_use_extra_vars=None, inventory_ignore_extensions=None,
                        inventory_ignore_patterns=None, host_pattern_mismatch=None,
                        hash_behaviour=None)


def add_extra_vars_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """-e/--extra-vars, as Ansible's."""
    parser.add_argument("-e", "--extra-vars", action="append", metavar="VARS",
                        help="variables over every host's own, as Ansible's -e: key=value "
                             "words, YAML/JSON, or @FILE (repeatable; the last wins)")


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Inventory arguments, -p/--policy, -w/--waivers and --today: what every run reads."""
    add_inventory_arguments(parser)
    add_policy_arguments(parser)
    parser.add_argument("--today", metavar="YYYY-MM-DD",
                        help="judge waivers and rule reviews as of this date (default: "
                             "today in UTC)")


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """-p/--policy and -w/--waivers."""
    parser.add_argument("-p", "--policy", action="append", metavar="POLICY",
                        help="policy YAML file or directory of them (repeatable). "
                             "Default: the shipped baseline.")
    parser.add_argument("-w", "--waivers", action="append", metavar="WAIVERS",
                        help="waiver YAML file or directory of them (repeatable)")


def setting_origin(args: argparse.Namespace, name: str) -> str | None:
    """Where setting `name` came from ('default', 'command line (...)', 'env NAME',
    'file:line ...'); None for arguments no configuration was resolved for."""
    settings = getattr(args, "settings", None)
    return None if settings is None else str(settings.values[name].origin)


def configured_at(args: argparse.Namespace, name: str) -> str | None:
    """Where configuration (a file's line or an environment variable) set setting `name`;
    None when the command line or the default did."""
    origin = setting_origin(args, name)
    if origin is None or origin == "default" or origin.startswith("command line"):
        return None
    return origin


def blamed(exc: InputError, args: argparse.Namespace, name: str) -> InputError:
    """`exc`, when it is about a whole file that configuration named (missing, not a file),
    also naming the line that named it: that line is where the mistake is."""
    where = configured_at(args, name)
    if where is None or exc.line is not None:
        return exc
    return InputError(f"{exc.message} ({name} from {where})", exc.path)


def load_inventory(args: argparse.Namespace, env: Env, *, plays: bool = False) -> Inventory:
    """The inventory named by -i (the local machine without -i), vault passwords applied.

    `plays` (the commands that plan connections): the group_vars/host_vars of the working
    directory apply too, as the ad-hoc `ansible` reads them there (ansible-inventory does
    not, so `inventory` does not either)."""
    keyring = vault_keyring(args, env)  # as in Ansible: a missing password file stops any run
    if not args.inventory:
        return localhost_inventory()
    sources = [s if "," in s and not env.path(s).exists() else str(env.path(s))
               for s in args.inventory]
    try:
        inventory = load(sources, keyring=keyring,
                         strict=args.strict_inventory, extra_vars=extra_vars(args, env).values,
                         use_extra_vars=bool(getattr(args, "inventory_use_extra_vars", False)),
                         skip=_directory_filter(args),
                         play_dirs=[str(env.cwd)] if plays else [],
                         merge=getattr(args, "hash_behaviour", None) == "merge")
    except InputError as exc:
        raise blamed(exc, args, "inventory") from None
    inventory.notes.mismatch = getattr(args, "host_pattern_mismatch", None) or "warning"
    return inventory


def _directory_filter(args: argparse.Namespace) -> Callable[[str], bool]:
    """Which entries of an inventory directory are not read, as configuration says."""
    extensions = getattr(args, "inventory_ignore_extensions", None)
    patterns = getattr(args, "inventory_ignore_patterns", None) or ()
    try:
        return directory_filter(IGNORED_EXTENSIONS if extensions is None else tuple(extensions),
                                tuple(patterns))
    except ValueError as exc:
        origin = setting_origin(args, "inventory_ignore_patterns") or "?"
        raise InputError(f"inventory_ignore_patterns ({origin}): {exc}") from None


def vault_files(args: argparse.Namespace, env: Env) -> list[str]:
    """The vault password files: --vault-password-file, else $ANSIBLE_VAULT_PASSWORD_FILE."""
    files = list(getattr(args, "vault_password_file", None) or [])
    if not files and env.environ.get("ANSIBLE_VAULT_PASSWORD_FILE"):
        files = [env.environ["ANSIBLE_VAULT_PASSWORD_FILE"]]
    return files


def vault_keyring(args: argparse.Namespace, env: Env) -> Keyring:
    """The vault passwords, read once per command (a password script runs once, as in
    Ansible) and kept on its arguments for the inventory and -e alike."""
    keyring: Keyring | None = getattr(args, "_vault_keyring", None)
    if keyring is None:
        try:
            keyring = Keyring.from_files([str(env.path(p)) for p in vault_files(args, env)])
        except InputError as exc:
            settings = getattr(args, "settings", None)
            listed = {str(env.path(i.split("@", 1)[-1]))
                      for i in (settings["vault_identity_list"] if settings else ())}
            name = "vault_identity_list" if exc.path in listed else "vault_password_file"
            if name == "vault_password_file" and exc.line is None \
                    and configured_at(args, name) is None:  # the command line named it
                exc = InputError(f"--vault-password-file: {exc.message}", exc.path)
            raise blamed(exc, args, name) from None
        args._vault_keyring = keyring
    return keyring


def inventory_warnings(inventory: Inventory, env: Env,
                       args: argparse.Namespace | None = None) -> list[str]:
    """Print the inventory's warnings not shown yet on stderr; every one, for the run's record.

    With `args`, paths are shown as the command line wrote them (as its errors are).
    Strict, there are none to show: the first one has been raised as an error.
    """
    if inventory.notes.strict:
        return []
    written = _as_written(list(args.inventory or []), env) if args is not None else str
    for warning in inventory.notes.unshown():  # inventory text: made safe for a terminal
        env.stderr.write(f"fleetcheck: warning: {one_line(written(str(warning)))}\n")
    return [f"inventory: {written(str(w))}" for w in inventory.warnings]


def inventory_problems(inventory: Inventory, problems: Problems, args: argparse.Namespace,
                       env: Env) -> None:
    """Record the inventory's warnings as located warnings (for `validate`), paths as written."""
    written = _as_written(list(args.inventory or []), env)
    for warning in inventory.warnings:
        exc = warning.located()
        problems.add(InputError(written(exc.message), written(exc.path) if exc.path else None,
                                exc.line, exc.column), Level.WARNING)


def baseline_path() -> Path:
    """The shipped baseline policy file."""
    return Path(str(resources.files("fleetcheck").joinpath("data/baseline.yml")))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (for the report's audit trail)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


@frozen(slots=False)
class Inputs:
    """Everything a run reads before contacting any host."""

    inventory: Inventory
    policies: list[Policy]
    files: tuple[InputFile, ...]
    waivers: WaiverBook | None = None  # an empty book when no waiver file is given
    problems: Problems = field(default_factory=Problems)


def today_of(args: argparse.Namespace, start: Start | None = None) -> dt.date:
    """--today if given, else the run's date: the UTC date of its start (see clock.py)."""
    text = getattr(args, "today", None)
    if text is None:
        return (start or Start()).today
    try:
        return parse_day(text)
    except ValueError:
        raise InputError(f"--today must be a date written YYYY-MM-DD, not {text!r}") from None


def gather_inputs(args: argparse.Namespace, env: Env, start: Start | None = None
                  ) -> tuple[Inputs | None, Problems]:
    """Load inventory, policies and waivers, recording every problem instead of stopping;
    waivers and reviews are judged on --today, else the date of `start` (default: now)."""
    problems = Problems()
    today = today_of(args, start)
    inventory: Inventory | None = None
    try:
        inventory = load_inventory(args, env, plays=True)
    except InputError as exc:
        problems.add(exc)
    policy_paths = _paths(args, "policy", env, problems) if args.policy else [baseline_path()]
    waiver_paths = _paths(args, "waivers", env, problems)
    checked = check_all(inventory, policy_paths, waiver_paths, problems, today=today,
                        warn_days=getattr(args, "waiver_warning_days", WARN_EXPIRING_DAYS))
    written = _as_written([*(args.inventory or []), *(args.policy or []), *(args.waivers or [])],
                          env)
    problems.items = [replace(p, path=written(p.path) if p.path else None,
                              message=written(p.message)) for p in problems.items]
    if inventory is None:
        return None, problems
    files: list[InputFile] = []
    for src in inventory.sources:
        sp = Path(src)
        if sp.is_file():
            files.append(InputFile("inventory", src, sha256_file(sp)))
    files += [InputFile("policy", str(p), sha256_file(p)) for p in policy_paths]
    files += [InputFile("waiver", str(p), sha256_file(p)) for p in waiver_paths]
    # A book even without waiver files: the run records the date it judged on (reviews
    # are judged on it too), so explain, merge and reports read it back from every run.
    book = WaiverBook(tuple(checked.waivers), today)
    return Inputs(inventory, checked.policies, tuple(files), book, problems), problems


def shown_path(path: str | None, env: Env) -> str | None:
    """A path as the user would write it: relative when it lies under the working directory."""
    if path is None or not os.path.isabs(path):
        return path
    rel = os.path.relpath(path, env.cwd)
    return path if rel.startswith("..") else rel


def _as_written(values: list[str], env: Env) -> Callable[[str], str]:
    """A function putting back the paths the user wrote wherever their resolved form appears."""
    pairs = sorted(((str(env.path(v)), v) for v in values), key=lambda p: -len(p[0]))

    def rewrite(text: str) -> str:
        for resolved, value in pairs:
            if resolved != value:
                # a resolved path never ends in a separator: 'waivers/' stands for 'waivers'
                text = text.replace(resolved, value.rstrip(os.sep) or value)
        return text

    return rewrite


def _paths(args: argparse.Namespace, dest: str, env: Env, problems: Problems) -> list[Path]:
    """The policy (dest 'policy') or waiver ('waivers') files the arguments name."""
    what, setting = ("policy", "policies") if dest == "policy" else ("waiver", "waivers")
    out: list[Path] = []
    for value in getattr(args, dest) or []:
        try:
            out += expand_paths([env.path(value)], what)
        except InputError as exc:
            problems.add(blamed(exc, args, setting))
    return out


def load_inputs(args: argparse.Namespace, env: Env, start: Start | None = None) -> Inputs:
    """Load everything named on the command line; InputError on any error, warnings to stderr."""
    inputs, problems = gather_inputs(args, env, start)
    problems.raise_errors()
    assert inputs is not None  # no errors means the inventory loaded
    for problem in problems.warnings:
        env.stderr.write(f"fleetcheck: {problem}\n")
    return inputs


def host_defaults(args: argparse.Namespace) -> HostDefaults:
    """The connection defaults configuration gives hosts whose inventory says nothing."""
    def origin(name: str) -> str:
        return setting_origin(args, name) or name

    def split(name: str) -> tuple[str, ...]:
        text = getattr(args, name, None)
        try:
            return tuple(shlex.split(text)) if text else ()
        except ValueError as exc:
            raise InputError(f"{name} ({origin(name)}) cannot be split into arguments: {exc}") \
                from None

    port = getattr(args, "remote_port", None)
    if port is not None and not 1 <= port <= 65535:
        raise InputError(f"remote_port ({origin('remote_port')}) must be a port number "
                         f"(1-65535), not {port}")
    asked = getattr(args, "ask_become_pass", False)  # -K wins over ANSIBLE_BECOME_PASS
    return HostDefaults(become_user=getattr(args, "become_user", None) or "root",
                        become_method=getattr(args, "become_method", None) or "sudo",
                        become_exe=split("become_exe"), become_flags=split("become_flags"),
                        become_password=None if asked else getattr(args, "become_password", None),
                        connection=getattr(args, "connection", None) or "ssh", port=port,
                        ssh_args=split("ssh_args"), ssh_common_args=split("ssh_common_args"),
                        ssh_extra_args=split("ssh_extra_args"))


def extra_vars(args: argparse.Namespace, env: Env) -> ExtraVars:
    """-e/--extra-vars, read as Ansible reads them (`@FILE` relative to the working directory,
    vault-encrypted with the inventory's vault passwords)."""
    # Read once per command and kept on its arguments: the inventory (constructed's
    # use_extra_vars) and the plan must see the same -e, even if an @file changes between.
    read: ExtraVars | None = getattr(args, "_extra_vars_read", None)
    if read is not None:
        return read
    given = getattr(args, "extra_vars", None)
    if not given:
        read = ExtraVars()
    else:
        read = read_extra_vars(given, str(env.cwd), vault_keyring(args, env))
    args._extra_vars_read = read
    return read


def plan_hosts(inputs: Inputs, args: argparse.Namespace, env: Env) -> list[PlannedHost]:
    """The hosts --limit selects, planned with everything the command line and configuration
    give (-b, -u, -e and the defaults of hosts whose inventory says nothing)."""
    return plan(inputs.inventory, inputs.policies, limit=limit_pattern(args, env),
                become=bool(getattr(args, "become", False)), user=getattr(args, "user", None),
                defaults=host_defaults(args), extra_vars=extra_vars(args, env))


def plan_or_stop(inputs: Inputs, args: argparse.Namespace, env: Env) -> list[PlannedHost]:
    """plan_hosts for a command that stops on bad input: the inventory's warnings met before
    the error (--limit terms matching nothing) are printed first, as Ansible prints its own."""
    try:
        return plan_hosts(inputs, args, env)
    except InputError:
        inventory_warnings(inputs.inventory, env, args)
        raise


def limit_pattern(args: argparse.Namespace, env: Env) -> str | None:
    """--limit with each `@file` made absolute against the invocation's working directory."""
    limit: str | None = args.limit
    if limit is None or "@" not in limit:
        return limit
    from fleetcheck.inventory.patterns import split_pattern

    terms = split_pattern(limit)
    return ",".join(f"@{env.path(t[1:])}" if t.startswith("@") else t for t in terms)
