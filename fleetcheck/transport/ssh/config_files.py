"""OpenSSH client configuration files read: each line checked (a syntax error is an
InputError naming file:line), Host and Match lines compiled, Include lines followed.

`config` looks a host up in what this reads.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import field
from pathlib import Path

from fleetcheck.bounded import MAX_LIST_BYTES, read_bounded
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.textfile import utf8_lines
from fleetcheck.transport.ssh.config_blocks import EVERY, Blocks, index_blocks
from fleetcheck.transport.ssh.config_syntax import (
    ARRAY,
    RAW,
    SINGLE,
    check_value,
    fail,
    jump_value,
    split_keyword,
    split_words,
)
from fleetcheck.transport.ssh.patterns import Pattern, compile_patterns

# Keywords whose every occurrence adds to a list instead of the first one winning.
LIST_KEYWORDS = frozenset({"identityfile", "certificatefile", "localforward", "remoteforward",
                           "dynamicforward", "sendenv", "setenv"})
MAX_INCLUDE_DEPTH = 16
_CRITERIA_WITH_ARG = ("host", "originalhost", "user", "localuser", "exec", "localnetwork",
                      "tagged")


@frozen
class Criterion:
    """One `Match` criterion: its name, argument (and its patterns), `!`, where it was."""

    name: str
    arg: str
    negated: bool
    origin: str
    patterns: tuple[Pattern, ...] = ()


@frozen
class HostLine:
    """A `Host` line: its patterns, matched case-sensitively as ssh does; `names` the hosts
    it names when every pattern is a plain name (no `*`, `?` or `!`), else None."""

    patterns: tuple[Pattern, ...]
    origin: str
    names: frozenset[str] | None = None


@frozen
class MatchLine:
    """A `Match` line: its criteria, all of which must hold."""

    criteria: tuple[Criterion, ...]
    origin: str


@frozen
class Setting:
    """A keyword line: the value ssh keeps (one word, a list of words, or raw text)."""

    key: str
    value: str | tuple[str, ...]
    origin: str
    user: bool  # from a user's file (~/.ssh/config, -F): ssh dedupes key files per kind


@frozen
class IncludeLine:
    """An `Include` line: the files it read, in the order ssh reads them."""

    files: tuple[ConfigFile, ...]
    origin: str


Entry = HostLine | MatchLine | Setting | IncludeLine


@frozen
class ConfigFile:
    """One parsed file: its lines that matter, in order; its blocks indexed by Host name
    (config_blocks), and whether it (or a file it includes) has a `Match final`."""

    path: str
    entries: tuple[Entry, ...]
    blocks: Blocks[Entry] = field(init=False, repr=False, compare=False)
    final: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", index_blocks(self.entries, _header))
        object.__setattr__(self, "final", _names_final(self.entries))


def _header(e: Entry) -> frozenset[str] | None:
    """What `e` is to the block index: None (no header), its literal names, or EVERY."""
    if isinstance(e, HostLine):
        return EVERY if e.names is None else e.names
    return EVERY if isinstance(e, MatchLine) else None


def read_config(path: Path, include_base: Path, depth: int, user: bool,
          origin: str | None) -> ConfigFile:
    """The file at `path` (`depth` Includes deep, `origin` the Include line naming it), its
    Includes read in; `user`: a user's file, not the system-wide one. InputError where ssh
    refuses a line."""
    if depth > MAX_INCLUDE_DEPTH:
        raise InputError("Include nested too deeply", *(_at(origin) if origin else (str(path),)))
    # ssh reads bytes: any byte goes in a comment; elsewhere we need text (UTF-8).
    lines = utf8_lines(read_bounded(str(path), MAX_LIST_BYTES, "ssh config"), str(path),
                       lambda line: line.lstrip(b" \t").startswith(b"#"))
    entries: list[Entry] = []
    for no, whole in enumerate(lines, 1):
        line = whole.partition("\0")[0]  # ssh reads a line as a C string: a NUL ends it
        here = f"{path}:{no}"
        split = split_keyword(line, here)
        if split is None:
            continue
        key, rest = split
        words = split_words(rest, here)  # ssh refuses unbalanced quotes on any line
        check_value(key, words, rest, here)
        if key == "host":
            literal = all(not w.startswith("!") and "*" not in w and "?" not in w
                          for w in words)
            entries.append(HostLine(compile_patterns(words, fold_case=False), here,
                                    frozenset(w for w in words if w) if literal else None))
        elif key == "match":
            entries.append(MatchLine(_criteria(words, here), here))
        elif key == "include":
            entries.append(IncludeLine(_include(words, include_base, depth, user, here), here))
        else:
            entries.append(Setting(key, _value(key, words, rest), here, user))
    return ConfigFile(str(path), tuple(entries))


def _at(origin: str) -> tuple[str, int]:
    path, _, line = origin.rpartition(":")
    return path, int(line)


def _value(key: str, words: list[str], rest: str) -> str | tuple[str, ...]:
    if key in ARRAY or key in LIST_KEYWORDS:
        return tuple(words)
    if key in SINGLE:
        return words[0]
    if key == "proxyjump":
        return jump_value(rest)
    if key in RAW:
        return rest.lstrip(" \t\r\n=")
    return rest


def _include(words: list[str], include_base: Path, depth: int, user: bool,
             origin: str) -> tuple[ConfigFile, ...]:
    files = []
    for pattern in words:
        if pattern.startswith("~"):
            if not user:  # as ssh: the system-wide file has no home to name
                raise fail(f"bad include path {pattern}", origin)
            full = os.path.expanduser(pattern)
        else:
            full = pattern if os.path.isabs(pattern) else str(include_base / pattern)
        for found in sorted(glob.glob(full)):
            files.append(read_config(Path(found), include_base, depth + 1, user, origin))
    return tuple(files)


def _criteria(words: list[str], origin: str) -> tuple[Criterion, ...]:
    """The criteria of a Match line, refused where ssh refuses them."""
    out: list[Criterion] = []
    i = 0
    while i < len(words):
        negated = words[i].startswith("!")
        name = words[i][1:].lower() if negated else words[i].lower()
        if name == "all":  # ssh: alone, or after one other criterion, and last
            if len(out) > 1 or i + 1 < len(words):
                raise fail("Match: 'all' cannot be combined with other attributes", origin)
            return (*out, Criterion(name, "", negated, origin))
        if name in ("canonical", "final"):
            out.append(Criterion(name, "", negated, origin))
            i += 1
            continue
        if name not in _CRITERIA_WITH_ARG:
            raise fail(f"Match: unknown criterion {name!r}", origin)
        if i + 1 >= len(words) or not words[i + 1]:
            raise fail(f"Match {name}: missing argument", origin)
        arg = words[i + 1]
        # Host names compare without regard to case; user names with it (match.c).
        fold = name in ("host", "originalhost")
        patterns = compile_patterns(arg.split(","), fold_case=fold) \
            if name in ("host", "originalhost", "user", "localuser") else ()
        out.append(Criterion(name, arg, negated, origin, patterns))
        i += 2
    if not out:
        raise fail("Match: one or more attributes required", origin)
    return tuple(out)


def _names_final(entries: Sequence[Entry]) -> bool:
    for e in entries:
        if isinstance(e, MatchLine) and any(c.name == "final" for c in e.criteria):
            return True
        if isinstance(e, IncludeLine) and any(f.final for f in e.files):
            return True
    return False
