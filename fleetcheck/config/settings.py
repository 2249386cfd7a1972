"""Every setting fleetcheck takes from configuration, in one declarative table.

A setting has a type, a default, the environment variables and config-file keys that
may set it, and the command-line attribute it fills when the command line did not.
Ansible's settings are read as ansible-core reads them (ansible.cfg, ANSIBLE_*);
fleetcheck's own from its project file (fleetcheck.yml) and FLEETCHECK_*. Adding a
setting is adding a row (and its line in docs/configuration.md).
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from fleetcheck.booleans import ansible_boolean
from fleetcheck.frozen import frozen
from fleetcheck.inventory.combine import HASH_BEHAVIOURS
from fleetcheck.inventory.ignored import IGNORED_EXTENSIONS
from fleetcheck.model import Severity
from fleetcheck.numbers import MAX_DIGITS

_VAR = re.compile(r"\$(?:(\w+)|\{([^}]*)\})")


class Kind(enum.Enum):
    """How a setting's text is read (ansible-core's `ensure_type` for Ansible's settings)."""

    TEXT = "text"
    BOOL = "bool"  # Ansible's lenient booleans: yes/on/1/true/t are true, anything else false
    INT = "int"
    PATH = "path"  # ~ and $VARS expanded, relative to the file that set it
    PATHS = "paths"  # comma-separated paths (Ansible's pathlist)
    WORDS = "words"  # comma-separated words (Ansible's list)
    CHOICE = "choice"


@frozen
class Setting:
    """One setting: its name (the fleetcheck.yml key), type, default and where it may be set."""

    name: str
    kind: Kind
    default: Any
    help: str
    dest: str | None = None  # the command-line attribute it fills when the command line did not
    flag: str | None = None  # the command-line option that wins over every other source
    env: tuple[str, ...] = ()  # environment variables; the last one set wins (as in Ansible)
    ini: tuple[tuple[str, str], ...] = ()  # ansible.cfg (section, key); the last one set wins
    project: bool = False  # may be set in fleetcheck.yml
    choices: tuple[str, ...] = ()
    # the value the command line would have held (e.g. an Ansible boolean as a mode word)
    to_arg: Callable[[Any], Any] | None = None
    ansible: str | None = None  # ansible-core's name, as `ansible-config dump` shows it
    commands: tuple[str, ...] | None = None  # the commands it applies to (None: all with dest)
    secret: bool = False  # never shown (`fleetcheck config` says only whether it is set)
    # where ansible-core's own setting of this name reads it (env, ini), when fleetcheck takes
    # a plugin's option that reads more: a bad value there is refused all the same
    core: tuple[tuple[str, ...], tuple[tuple[str, str], ...]] | None = None


def _host_key_mode(value: Any) -> Any:
    """Ansible's host_key_checking boolean as fleetcheck's mode (`accept-new` stays itself)."""
    if isinstance(value, bool):
        return "strict" if value else "off"
    return value


_PLANNING = ("scan", "validate", "explain")  # the commands that plan hosts' connections
_CONTACTING = ("scan", "explain")  # the commands that contact hosts

SETTINGS: tuple[Setting, ...] = (
    # Ansible's settings: ansible.cfg and ANSIBLE_*, below the command line.
    Setting("inventory", Kind.PATHS, (), "inventory sources when no -i is given",
            dest="inventory", flag="-i", env=("ANSIBLE_INVENTORY",),
            ini=(("defaults", "inventory"),), ansible="DEFAULT_HOST_LIST"),
    Setting("remote_user", Kind.TEXT, None, "remote user for hosts whose inventory names none",
            dest="user", flag="-u", env=("ANSIBLE_REMOTE_USER",),
            ini=(("defaults", "remote_user"),), ansible="DEFAULT_REMOTE_USER"),
    Setting("private_key_file", Kind.PATH, None,
            "SSH private key for hosts whose inventory names none", dest="private_key",
            flag="--private-key", env=("ANSIBLE_PRIVATE_KEY_FILE",),
            ini=(("defaults", "private_key_file"),), ansible="DEFAULT_PRIVATE_KEY_FILE"),
    Setting("host_key_checking", Kind.BOOL, True,
            "check host keys (false: --host-key-checking off)", dest="host_key_checking",
            flag="--host-key-checking",
            env=("ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_HOST_KEY_CHECKING"),
            ini=(("defaults", "host_key_checking"), ("ssh_connection", "host_key_checking")),
            to_arg=_host_key_mode, ansible="HOST_KEY_CHECKING"),
    Setting("forks", Kind.INT, 10, "hosts checked at once (Ansible's default is 5)",
            dest="forks", flag="-f", env=("ANSIBLE_FORKS",), ini=(("defaults", "forks"),),
            ansible="DEFAULT_FORKS"),
    Setting("remote_port", Kind.INT, None, "SSH port for hosts whose inventory names none",
            dest="remote_port", env=("ANSIBLE_REMOTE_PORT",),
            ini=(("defaults", "remote_port"),), ansible="DEFAULT_REMOTE_PORT",
            commands=_PLANNING),
    Setting("connection", Kind.TEXT, "ssh",
            "connection for hosts whose inventory names none (ssh, paramiko, local)",
            dest="connection", flag="-c", env=("ANSIBLE_TRANSPORT",),
            ini=(("defaults", "transport"),), ansible="DEFAULT_TRANSPORT", commands=_PLANNING),
    Setting("timeout", Kind.INT, None,
            "connection timeout in seconds (-T; default: the host's -o ConnectTimeout=, then "
            "ssh_config's ConnectTimeout, else 10)",
            dest="connect_timeout", flag="-T", env=("ANSIBLE_TIMEOUT", "ANSIBLE_SSH_TIMEOUT"),
            ini=(("defaults", "timeout"), ("ssh_connection", "timeout")),
            to_arg=lambda v: float(v) if v is not None else None, ansible="DEFAULT_TIMEOUT",
            core=(("ANSIBLE_TIMEOUT",), (("defaults", "timeout"),))),
    Setting("become", Kind.BOOL, False, "collect with privilege escalation", dest="become",
            flag="-b", env=("ANSIBLE_BECOME",), ini=(("privilege_escalation", "become"),),
            ansible="DEFAULT_BECOME"),
    Setting("become_user", Kind.TEXT, "root",
            "user to become for hosts whose inventory names none", dest="become_user",
            flag="--become-user", env=("ANSIBLE_BECOME_USER",),
            ini=(("privilege_escalation", "become_user"),), ansible="DEFAULT_BECOME_USER",
            commands=_PLANNING),
    Setting("become_method", Kind.TEXT, "sudo",
            "become method (sudo, su, doas) for hosts whose inventory names none",
            dest="become_method", flag="--become-method", env=("ANSIBLE_BECOME_METHOD",),
            ini=(("privilege_escalation", "become_method"),), ansible="DEFAULT_BECOME_METHOD",
            commands=_PLANNING),
    Setting("become_exe", Kind.TEXT, None,
            "the become method's program for hosts whose inventory names none (default: "
            "the method's name)", dest="become_exe", env=("ANSIBLE_BECOME_EXE",),
            ini=(("privilege_escalation", "become_exe"),), ansible="DEFAULT_BECOME_EXE",
            commands=_PLANNING),
    Setting("become_flags", Kind.TEXT, "",
            "options for the become method's program, for hosts whose inventory names none",
            dest="become_flags", env=("ANSIBLE_BECOME_FLAGS",),
            ini=(("privilege_escalation", "become_flags"),), ansible="DEFAULT_BECOME_FLAGS",
            commands=_PLANNING),
    Setting("become_password", Kind.TEXT, None,
            "become password for hosts whose inventory gives none (-K asks for it)",
            dest="become_password", env=("ANSIBLE_BECOME_PASS",), commands=_CONTACTING,
            secret=True),
    Setting("vault_password_file", Kind.PATH, None, "vault password file (or script)",
            dest="vault_password_file", flag="--vault-password-file",
            env=("ANSIBLE_VAULT_PASSWORD_FILE",), ini=(("defaults", "vault_password_file"),),
            to_arg=lambda v: [v] if v else None, ansible="DEFAULT_VAULT_PASSWORD_FILE"),
    Setting("vault_identity_list", Kind.WORDS, (),
            "vault identities (label@file or file); every file's password is tried",
            env=("ANSIBLE_VAULT_IDENTITY_LIST",), ini=(("defaults", "vault_identity_list"),),
            ansible="DEFAULT_VAULT_IDENTITY_LIST"),
    Setting("ssh_args", Kind.TEXT, None,
            "ssh arguments for hosts without ansible_ssh_args (ssh_connection)", dest="ssh_args",
            env=("ANSIBLE_SSH_ARGS",), ini=(("ssh_connection", "ssh_args"),),
            commands=_PLANNING),
    Setting("ssh_common_args", Kind.TEXT, None,
            "ssh arguments for hosts without ansible_ssh_common_args", dest="ssh_common_args",
            flag="--ssh-common-args", env=("ANSIBLE_SSH_COMMON_ARGS",),
            ini=(("ssh_connection", "ssh_common_args"),), commands=_PLANNING),
    Setting("ssh_extra_args", Kind.TEXT, None,
            "ssh arguments for hosts without ansible_ssh_extra_args", dest="ssh_extra_args",
            flag="--ssh-extra-args", env=("ANSIBLE_SSH_EXTRA_ARGS",),
            ini=(("ssh_connection", "ssh_extra_args"),), commands=_PLANNING),
    # fleetcheck's own: fleetcheck.yml and FLEETCHECK_*, below the command line.
    Setting("policies", Kind.PATHS, (), "policy files or directories (default: the baseline)",
            dest="policy", flag="-p", env=("FLEETCHECK_POLICIES",), project=True),
    Setting("waivers", Kind.PATHS, (), "waiver files or directories", dest="waivers",
            flag="-w", env=("FLEETCHECK_WAIVERS",), project=True),
    Setting("command_timeout", Kind.INT, 60,
            "seconds a host's collection command may run", dest="command_timeout",
            flag="--command-timeout", env=("FLEETCHECK_COMMAND_TIMEOUT",), project=True,
            to_arg=float, commands=_CONTACTING),
    # merge writes reports as scan does, and history reads the database beside them: the
    # report directory of `cd ops && fleetcheck scan` is theirs too
    Setting("output_dir", Kind.PATH, "reports", "where reports are written", dest="output_dir",
            flag="-o", env=("FLEETCHECK_OUTPUT_DIR",), project=True,
            commands=("scan", "merge", "history")),
    Setting("formats", Kind.WORDS, ("text", "html", "json", "junit"), "report formats",
            dest="format", flag="--format", env=("FLEETCHECK_FORMATS",), project=True,
            to_arg=",".join, commands=("scan", "merge")),
    Setting("fail_on", Kind.CHOICE, "low", "lowest severity that makes the exit code 1",
            dest="fail_on", flag="--fail-on", env=("FLEETCHECK_FAIL_ON",), project=True,
            choices=tuple(reversed([s.label for s in Severity])), commands=("scan",)),
    Setting("inventory_ignore_extensions", Kind.WORDS, IGNORED_EXTENSIONS,
            "entries of an inventory directory not read: names ending so",
            dest="inventory_ignore_extensions", env=("ANSIBLE_INVENTORY_IGNORE",),
            ini=(("defaults", "inventory_ignore_extensions"), ("inventory", "ignore_extensions")),
            ansible="INVENTORY_IGNORE_EXTS"),
    Setting("inventory_ignore_patterns", Kind.WORDS, (),
            "entries of an inventory directory not read: names these regular expressions find",
            dest="inventory_ignore_patterns", env=("ANSIBLE_INVENTORY_IGNORE_REGEX",),
            ini=(("defaults", "inventory_ignore_patterns"), ("inventory", "ignore_patterns")),
            ansible="INVENTORY_IGNORE_PATTERNS"),
    Setting("host_pattern_mismatch", Kind.CHOICE, "warning",
            "a host pattern term that matches no host: warning, error or ignore",
            dest="host_pattern_mismatch", env=("ANSIBLE_HOST_PATTERN_MISMATCH",),
            ini=(("inventory", "host_pattern_mismatch"),), choices=("warning", "error", "ignore"),
            ansible="HOST_PATTERN_MISMATCH"),
    Setting("hash_behaviour", Kind.CHOICE, "replace",
            "variables set again: replace them whole, or merge mappings key by key",
            dest="hash_behaviour", env=("ANSIBLE_HASH_BEHAVIOUR",),
            ini=(("defaults", "hash_behaviour"),), choices=HASH_BEHAVIOURS,
            ansible="DEFAULT_HASH_BEHAVIOUR"),
    Setting("inventory_use_extra_vars", Kind.BOOL, False,
            "constructed sources that do not set use_extra_vars: whether -e reaches their "
            "expressions", dest="inventory_use_extra_vars",
            env=("ANSIBLE_INVENTORY_USE_EXTRA_VARS",),
            ini=(("inventory_plugins", "use_extra_vars"),)),
    Setting("strict_inventory", Kind.BOOL, False, "inventory warnings are errors",
            dest="strict_inventory", flag="--strict-inventory",
            env=("FLEETCHECK_STRICT_INVENTORY",), project=True),
)

BY_NAME = {s.name: s for s in SETTINGS}


class BadValue(ValueError):
    """A value that does not read as its setting's type."""


def read_value(setting: Setting, raw: Any, base: str, environ: Mapping[str, str], *,
               ini: bool = False) -> Any:
    """`raw` (text from a file or the environment, or a YAML value) as the setting's type.

    Paths are expanded as ansible-core expands them (`$VARS` and `~` from `environ`) and
    made absolute against `base` (the directory of the file that set them, or the working
    directory). Text from an INI file loses its surrounding quotes, as in ansible-core.
    """
    kind = setting.kind
    if kind is Kind.BOOL:
        flag = ansible_boolean(raw)
        if setting.project and flag is None:  # fleetcheck's own: no guessing
            raise BadValue(f"{setting.name} must be true or false, not {raw!r}")
        return flag is True  # Ansible's: anything but a true word is false, as ansible-core
    if kind is Kind.INT:
        import decimal  # a number in a setting is rare: not loaded at every start

        try:
            number = decimal.Decimal(str(raw).strip())
            # past int()'s digit limit the number could not even be shown back
            if isinstance(raw, bool) or number.adjusted() >= MAX_DIGITS \
                    or number != int(number):
                raise ValueError
            return int(number)
        except (ValueError, ArithmeticError):
            raise BadValue(f"{setting.name} must be a whole number, not {raw!r}") from None
    if kind is Kind.CHOICE:
        # Ansible's: the exact word, unquoted when from an INI file; fleetcheck's: any case
        word = str(raw).strip().lower() if setting.project else _unquote(str(raw)) if ini \
            else str(raw)
        if word not in setting.choices:
            raise BadValue(f"{setting.name} must be one of {', '.join(setting.choices)}, "
                           f"not {raw!r}")
        return word
    if kind is Kind.PATH:
        if not setting.project and isinstance(raw, str):  # Ansible's: the text as written
            return _path(raw, base, environ, ansible=True)
        if not _scalar(raw):  # str() would make a name: `output_dir: [a]` was a dir "['a']"
            raise BadValue(f"{setting.name} must be a path, not {raw!r}")
        return _path(str(raw), base, environ)
    if kind in (Kind.PATHS, Kind.WORDS) and not setting.project and isinstance(raw, str):
        # Ansible's list: every comma-separated item stripped (words unquoted), even empty
        # ones; its pathlist: stripped paths, quotes and all (an empty one is the directory)
        items = [i.strip() for i in raw.split(",")]
        if kind is Kind.WORDS:
            return tuple(_unquote(i) for i in items)
        return tuple(_path(i, base, environ, ansible=True) for i in items)
    if kind in (Kind.PATHS, Kind.WORDS):
        items = list(raw) if isinstance(raw, list | tuple) else str(raw).split(",")
        if not all(_scalar(i) for i in items):  # str() would make a name of a list or `true`
            raise BadValue(f"{setting.name} must be a list of "
                           f"{'paths' if kind is Kind.PATHS else 'words'}, not {raw!r}")
        words = [_unquote(str(i).strip()) for i in items if str(i).strip()]
        if kind is Kind.WORDS:
            return tuple(words)
        return tuple(_path(w, base, environ) for w in words)
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise BadValue(f"{setting.name} must be text, not {raw!r}")
    return _unquote(str(raw)) if ini else str(raw)


def _scalar(value: Any) -> bool:
    """Whether a YAML value may stand for a path or a word: text or a number, not a boolean."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _path(text: str, base: str, environ: Mapping[str, str], *, ansible: bool = False) -> str:
    """A path as ansible-core's unfrackpath makes it (without following links).

    `ansible`: the text as ansible-core takes it (neither stripped nor unquoted).
    """
    path = _VAR.sub(lambda m: environ.get(m.group(1) or m.group(2), m.group(0)),
                    text if ansible else _unquote(text.strip()))
    if path == "~" or path.startswith("~/"):
        path = environ.get("HOME", os.path.expanduser("~")) + path[1:]
    return os.path.normpath(os.path.join(base, path))


def _unquote(text: str) -> str:
    """Ansible's unquote: surrounding matching quotes removed (not a closing one escaped)."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and text[-2] != "\\":
        return text[1:-1]
    return text
