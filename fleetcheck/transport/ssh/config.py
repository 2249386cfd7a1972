"""OpenSSH client configuration files (~/.ssh/config, /etc/ssh/ssh_config, -F FILE).

Read once before any host is contacted (`config_files`: a syntax error is an InputError
naming file:line); looked up per host as ssh reads them (readconf.c): line by line, Host
and Match lines switching the lines after them on or off, the first value obtained
for a keyword winning, IdentityFile (and the other list keywords) accumulating,
Include nesting (its files' Host and Match lines do not change the including
block's state), and, when some Match line asks for `final`, a second pass in which
Host lines match the resolved HostName.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from pathlib import Path

from fleetcheck.errors import ErrorKind, HostFailure, InputError
from fleetcheck.frozen import frozen
from fleetcheck.transport.ssh.config_files import (
    LIST_KEYWORDS,
    ConfigFile,
    Criterion,
    HostLine,
    IncludeLine,
    MatchLine,
    Setting,
    read_config,
)
from fleetcheck.transport.ssh.config_syntax import ARRAY, split_words
from fleetcheck.transport.ssh.patterns import pattern_list_matches

# ssh drops a key file named twice (by the same kind of file: user or system).
_DEDUPED = frozenset({"identityfile", "certificatefile"})
# ProxyJump and ProxyCommand exclude each other: whichever is obtained first wins, except
# that ssh lets a ProxyCommand follow `ProxyJump none` (but no ProxyJump follows it).
_EXCLUSIVE = {"proxyjump": "proxycommand", "proxycommand": "proxyjump"}


class _State:
    """What one lookup has gathered so far (options, their origins, key files seen)."""

    def __init__(self, options: dict[str, str | list[str]]) -> None:
        self.options = options
        self.origins: dict[str, str] = {}
        # Command-line key files count as a user's (ssh -i): the user's file repeats none.
        self.seen = {(key, value, True) for key in _DEDUPED
                     for value in (options.get(key) or []) if isinstance(options[key], list)}


@frozen
class _Pass:
    """One pass over the files: the name Host lines match, the name given, which pass."""

    host: str
    original: str
    final: bool
    local_user: str


class SshConfig:
    """Parsed ssh_config files, in the order OpenSSH reads them."""

    def __init__(self, files: Sequence[ConfigFile] = ()) -> None:
        self.files = list(files)

    @classmethod
    def load(cls, paths: Sequence[Path], *, include_base: Path, user: bool = True) -> SshConfig:
        """Parse `paths` (missing ones are skipped); `include_base` resolves relative Includes;
        `user` is False for the system-wide file (where ssh refuses `Include ~...`)."""
        return cls([read_config(path, include_base, 0, user, None) for path in paths
                    if path.is_file()])

    @classmethod
    def given(cls, path: Path, *, include_base: Path, label: str = "") -> SshConfig:
        """`ssh -F FILE`: read FILE whatever it is (a file, /dev/null, a pipe); InputError,
        its message after `label`, when it does not exist or is a directory, as ssh refuses
        them."""
        if not path.exists():
            raise InputError(f"{label}ssh config file not found", str(path))
        if path.is_dir():
            raise InputError(f"{label}ssh config file is a directory", str(path))
        return cls([read_config(path, include_base, 0, True, None)])

    def extend(self, other: SshConfig) -> None:
        """Read `other`'s files after these (the system file after the user's)."""
        self.files += other.files

    def wants_final(self) -> bool:
        """Some Match line names `final`: ssh then reads the files a second time."""
        return any(f.final for f in self.files)

    def lookup(self, host: str, *, preset: Mapping[str, str | list[str]] | None = None,
               local_user: str = "") -> dict[str, str | list[str]]:
        """Options for `host` as given on the command line; `preset` (command-line) wins.
        "hostname" is always set: HostName with %h expanded (or `host`), lower-cased
        unless an address, as ssh connects to it. HostFailure where ssh would fail."""
        state = _State(_preset(preset or {}))
        first = _Pass(host, host, False, local_user)
        for f in self.files:
            _walk(f, state, first, active=True, never=False)
        name = _expand_hostname(state, host)
        state.options["hostname"] = name if _is_address(name) else name.lower()
        if self.wants_final():
            final = _Pass(str(state.options["hostname"]), host, True, local_user)
            for f in self.files:
                _walk(f, state, final, active=True, never=False)
        return state.options


def _preset(preset: Mapping[str, str | list[str]]) -> dict[str, str | list[str]]:
    options: dict[str, str | list[str]] = {}
    for key, value in preset.items():
        if key in ARRAY and isinstance(value, str):
            options[key] = split_words(value, "command line:0")
        elif key in _DEDUPED and isinstance(value, list):
            options[key] = list(dict.fromkeys(value))
        else:
            options[key] = list(value) if isinstance(value, list) else value
    for key in _EXCLUSIVE:
        if key in options:
            _exclude(options, key)
    return options


def _exclude(options: dict[str, str | list[str]], key: str) -> None:
    """`key` (ProxyJump or ProxyCommand) was obtained: the other one is no longer taken."""
    value = options[key]
    if not (key == "proxyjump" and isinstance(value, str) and value.lower() == "none"):
        options.setdefault(_EXCLUSIVE[key], "none")


def _walk(f: ConfigFile, state: _State, ctx: _Pass, *, active: bool, never: bool) -> None:
    """Apply the lines of `f` that are on; `never`: an Include in a block that was off. Blocks
    whose Host line names other hosts only are off: they are not read (config_blocks)."""
    for block in f.blocks.read_for(ctx.host):
        for e in block:
            if isinstance(e, HostLine):
                active = not never and pattern_list_matches(e.patterns, ctx.host)
            elif isinstance(e, MatchLine):
                active = not never and _match(e.criteria, state, ctx)
            elif isinstance(e, IncludeLine):  # its files start in this block's state
                for inc in e.files:
                    _walk(inc, state, ctx, active=active, never=never or not active)
            elif active:
                _apply(e, state)


def _apply(s: Setting, state: _State) -> None:
    options = state.options
    if s.key in LIST_KEYWORDS:
        values = options.setdefault(s.key, [])
        assert isinstance(values, list)
        for value in s.value:
            if s.key in _DEDUPED:
                if (s.key, value, s.user) in state.seen:
                    continue
                state.seen.add((s.key, value, s.user))
            values.append(value)
    elif s.key == "connecttimeout" and s.value == "none":
        pass  # ssh stores `none` as "not set": a later ConnectTimeout still applies
    elif s.key not in options:
        options[s.key] = list(s.value) if isinstance(s.value, tuple) else s.value
        state.origins[s.key] = s.origin
        if s.key in _EXCLUSIVE:
            _exclude(options, s.key)


def _match(criteria: Sequence[Criterion], state: _State, ctx: _Pass) -> bool:
    """All criteria hold (OpenSSH ANDs them); one fleetcheck cannot evaluate (exec, ...)
    fails the host, unless another criterion already decides that the block is off."""
    undecidable = None
    for c in criteria:
        if c.name == "all":
            result = True
        elif c.name in ("final", "canonical"):  # canonical: names are never canonicalised
            result = ctx.final
        elif c.name == "host":
            name = str(state.options["hostname"]) if ctx.final \
                else _expand_hostname(state, ctx.host)
            result = pattern_list_matches(c.patterns, name.lower())
        elif c.name == "originalhost":
            result = pattern_list_matches(c.patterns, ctx.original.lower())
        elif c.name == "user":
            user = state.options.get("user")
            result = pattern_list_matches(c.patterns, user if isinstance(user, str)
                                          else ctx.local_user)
        elif c.name == "localuser":
            result = pattern_list_matches(c.patterns, ctx.local_user)
        else:
            undecidable = undecidable or c
            continue
        if result == c.negated:
            return False
    if undecidable is not None:
        raise HostFailure(ErrorKind.UNSUPPORTED,
                          f"{undecidable.origin}: 'Match {undecidable.name}' is not supported "
                          "by fleetcheck (use Host patterns)")
    return True


def _expand_hostname(state: _State, host: str) -> str:
    """HostName with %h (the name given) and %% expanded, as ssh does; `host` if unset."""
    template = state.options.get("hostname")
    if not isinstance(template, str):
        return host
    out, i = [], 0
    while i < len(template):
        c = template[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        key = template[i + 1:i + 2]
        if key not in ("h", "%"):
            where = state.origins.get("hostname", "command line")
            raise HostFailure(ErrorKind.SSH_ERROR,
                              f"{where}: HostName {template!r}: only %h and %% can be used")
        out.append(host if key == "h" else "%")
        i += 2
    return "".join(out)


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
