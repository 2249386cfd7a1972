"""OpenSSH client configuration files (~/.ssh/config, /etc/ssh/ssh_config, -F FILE).

Read once before any host is contacted (a syntax error is an InputError naming
file:line); looked up per host with OpenSSH's rules: Host patterns match the
name as given, Match criteria are ANDed, the first value obtained for a keyword
wins, IdentityFile (and the other list keywords) accumulate, Include nests.
"""

from __future__ import annotations

import glob
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fleetcheck.errors import ErrorKind, HostFailure, InputError
from fleetcheck.transport.ssh.patterns import Pattern, compile_patterns, pattern_list_matches

# Keywords whose every occurrence adds to a list instead of the first one winning.
LIST_KEYWORDS = frozenset({"identityfile", "certificatefile", "localforward", "remoteforward",
                           "dynamicforward", "sendenv", "setenv"})
# Keywords taking exactly one argument (quotes removed); more is an error, as in ssh.
SINGLE_KEYWORDS = frozenset({"hostname", "user", "port", "identityfile", "hostkeyalias",
                             "proxyjump", "identityagent", "connecttimeout", "identitiesonly",
                             "hashknownhosts", "pubkeyauthentication",
                             "passwordauthentication", "stricthostkeychecking",
                             "connectionattempts", "batchmode"})
# ProxyJump and ProxyCommand exclude each other: whichever is obtained first wins.
_EXCLUSIVE = {"proxyjump": "proxycommand", "proxycommand": "proxyjump"}
MAX_INCLUDE_DEPTH = 16


@dataclass(frozen=True, slots=True)
class Criterion:
    """One `Match` criterion: its name, its argument, whether `!` negates it, where it was."""

    name: str
    arg: str
    negated: bool
    origin: str


@dataclass(frozen=True, slots=True)
class Block:
    """A Host or Match block (the implicit first block matches every host) and its options."""

    host: tuple[Pattern, ...] | None  # Host patterns; None for a Match block
    match: tuple[Criterion, ...]
    options: tuple[tuple[str, str, str], ...]  # (keyword lower-case, value, origin)
    parent: Block | None = None  # the block an Include appeared in: it must match too


def _split_line(line: str, origin: str) -> tuple[str, str] | None:
    """'Keyword value', 'Keyword=value' or 'Keyword = value' -> (keyword, value); None if blank."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    key, sep, rest = text.partition("=") if "=" in text.split(None, 1)[0] else ("", "", "")
    if not sep:
        parts = text.split(None, 1)
        key, rest = parts[0], parts[1] if len(parts) > 1 else ""
        if rest.lstrip().startswith("="):
            rest = rest.lstrip()[1:]
    key, rest = key.strip().lower(), rest.strip()
    if not rest:
        raise InputError(f"{key}: missing argument", *_where(origin))
    return key, rest


def _where(origin: str) -> tuple[str, int]:
    path, _, line = origin.rpartition(":")
    return path, int(line)


def _words(value: str, origin: str) -> list[str]:
    try:
        return shlex.split(value, comments=False, posix=True)
    except ValueError as exc:
        raise InputError(f"unbalanced quotes: {exc}", *_where(origin)) from None


class SshConfig:
    """Parsed ssh_config files, in the order OpenSSH reads them."""

    def __init__(self, blocks: Sequence[Block] = ()) -> None:
        self.blocks = list(blocks)

    @classmethod
    def load(cls, paths: Sequence[Path], *, include_base: Path) -> SshConfig:
        """Parse `paths` (missing ones are skipped); `include_base` resolves relative Includes."""
        config = cls()
        for path in paths:
            if path.is_file():
                config._parse(path, include_base, depth=0, parent=None)
        return config

    def _parse(self, path: Path, include_base: Path, depth: int, parent: Block | None) -> None:
        if depth > MAX_INCLUDE_DEPTH:
            raise InputError("Include nested too deeply", str(path))
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read ssh config: {exc}", str(path)) from None
        if not self.blocks:
            self.blocks.append(Block(compile_patterns(["*"]), (), ()))
        for no, line in enumerate(lines, 1):
            origin = f"{path}:{no}"
            split = _split_line(line, origin)
            if split is None:
                continue
            key, value = split
            words = _words(value, origin)  # ssh rejects unbalanced quotes on any line
            if key in SINGLE_KEYWORDS:
                if len(words) != 1:
                    raise InputError(f"{key}: expects one argument, got {len(words)}",
                                     *_where(origin))
                value = words[0]
            if key == "host":
                self.blocks.append(Block(compile_patterns(words), (), (), parent))
            elif key == "match":
                self.blocks.append(Block(None, _criteria(value, origin), (), parent))
            elif key == "include":  # conditional: included blocks apply where this one does
                enclosing = self.blocks[-1]
                for pattern in words:
                    full = Path(os.path.expanduser(pattern))
                    if not full.is_absolute():
                        full = include_base / full
                    for found in sorted(glob.glob(str(full))):
                        self._parse(Path(found), include_base, depth + 1, enclosing)
                self.blocks.append(Block(enclosing.host, enclosing.match, (), enclosing.parent))
            else:
                last = self.blocks[-1]
                self.blocks[-1] = Block(last.host, last.match,
                                        (*last.options, (key, value, origin)), last.parent)

    def lookup(self, host: str, *, preset: Mapping[str, str | list[str]] | None = None,
               local_user: str = "") -> dict[str, str | list[str]]:
        """Options for `host` as given on the command line; `preset` (command-line) wins."""
        options: dict[str, str | list[str]] = {k: (list(v) if isinstance(v, list) else v)
                                               for k, v in (preset or {}).items()}
        for key, other in _EXCLUSIVE.items():
            if key in options:
                options.setdefault(other, "none")
        name = host.lower()
        for block in self.blocks:
            if not _applies(block, name, options, local_user):
                continue
            for key, value, _ in block.options:
                if key in LIST_KEYWORDS:
                    values = options.setdefault(key, [])
                    assert isinstance(values, list)
                    values.extend(_words(value, "") if key != "identityfile" else [value])
                elif key not in options:
                    options[key] = value
                    if key in _EXCLUSIVE:
                        options.setdefault(_EXCLUSIVE[key], "none")
        return options


def _applies(block: Block, host: str, options: Mapping[str, object], local_user: str) -> bool:
    """The block's Host patterns or Match criteria hold, and so do its enclosing block's."""
    if block.parent is not None and not _applies(block.parent, host, options, local_user):
        return False
    if block.host is not None:
        return pattern_list_matches(block.host, host)
    return _match(block.match, host, options, local_user)


def _criteria(value: str, origin: str) -> tuple[Criterion, ...]:
    words = _words(value, origin)
    out = []
    i = 0
    while i < len(words):
        word = words[i].lower()
        negated = word.startswith("!")
        name = word.lstrip("!")
        if name in ("all", "canonical", "final"):
            out.append(Criterion(name, "", negated, origin))
            i += 1
            continue
        if i + 1 >= len(words):
            raise InputError(f"Match {name}: missing argument", *_where(origin))
        if name not in ("host", "originalhost", "user", "localuser", "exec", "localnetwork",
                        "tagged"):
            raise InputError(f"Match: unknown criterion {name!r}", *_where(origin))
        out.append(Criterion(name, words[i + 1], negated, origin))
        i += 2
    return tuple(out)


def _match(criteria: Sequence[Criterion], host: str, options: Mapping[str, object],
           local_user: str) -> bool:
    """All criteria hold (OpenSSH ANDs them); `exec` cannot be honoured and says so."""
    for c in criteria:
        if c.name == "all":
            result = True
        elif c.name == "final":
            result = True  # there is one pass, and it is the final one
        elif c.name == "canonical":
            result = False  # fleetcheck does not canonicalise host names
        elif c.name in ("host", "originalhost"):
            hostname = options.get("hostname") if c.name == "host" else None
            target = str(hostname).lower() if isinstance(hostname, str) else host
            result = pattern_list_matches(compile_patterns(c.arg.split(",")), target)
        elif c.name == "user":
            user = options.get("user")
            result = isinstance(user, str) and pattern_list_matches(
                compile_patterns(c.arg.split(",")), user.lower())
        elif c.name == "localuser":
            result = pattern_list_matches(compile_patterns(c.arg.split(",")), local_user.lower())
        else:
            raise HostFailure(ErrorKind.UNSUPPORTED,
                              f"{c.origin}: 'Match {c.name}' is not supported by fleetcheck "
                              "(use Host patterns)")
        if result == c.negated:
            return False
    return True
