"""Ansible host patterns (`--limit`), evaluated in ansible-core's order.

A pattern is split on commas (or, without commas, on colons outside brackets);
`@file` items stand for the patterns in that file, one a line. Plain terms are
applied first, then `&` intersections, then `!` exclusions; a term is a host
name, a group name (all its hosts), a glob (`web*`), a regex (`~web\\d+`), each
optionally followed by a subscript (`[0]`, `[-1]`, `[1:3]`, `[2:]`; the removed
`[1-3]` form still applies, with Ansible's warning). Hosts keep the order the terms
produce them in. A term that matches nothing is ignored with Ansible's warning
(recorded in the inventory's notes, so the run shows it; an error when strict).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from fleetcheck.bounded import MAX_LIST_BYTES
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.inventory.hostpattern import parse_address
from fleetcheck.numbers import MAX_DIGITS, is_number
from fleetcheck.textfile import read_text
from fleetcheck.words import plural

if TYPE_CHECKING:
    from fleetcheck.inventory import Inventory, InventoryHost

LOCALHOST_NAMES = ("127.0.0.1", "localhost", "::1")
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
_COLON_TERM = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
_GLOB_CHARS = (".", "?", "*", "[")


class SubscriptMissed(InputError):
    """A host pattern's [N] past the end of what it subscripts: an error for --limit, while
    `ansible PATTERN --list-hosts` shows no host (with a warning) instead."""


def split_pattern(pattern: str) -> list[str]:
    """The terms of a pattern: comma-separated, else colon-separated (IPv6 and ranges kept)."""
    if "," in pattern:
        parts = pattern.split(",")
    else:
        try:
            parse_address(pattern, allow_ranges=True)
            parts = [pattern]
        except ValueError:
            parts = _COLON_TERM.findall(pattern)
    return [p.strip() for p in parts if p.strip()]


def expand_files(terms: Sequence[str], cwd: str | None,
                 read: set[str] | None = None) -> list[str]:
    """Replace each `@file` term with the patterns written in that file, one a line (each
    line one term, never split; `read`, when given, gets the terms that came from files)."""
    out: list[str] = []
    for term in terms:
        if not term.startswith("@"):
            out.append(term)
            continue
        path = os.path.join(cwd or os.getcwd(), term[1:])
        if not os.path.exists(path):
            raise InputError("limit file not found", term[1:])
        if not os.path.isfile(path):
            raise InputError("a limit starting with '@' must name a file", term[1:])
        text = read_text(path, MAX_LIST_BYTES, "limit file", term[1:])
        lines = [line.strip() for line in text.split("\n")]
        out.extend(line for line in lines if line)
        if read is not None:
            read.update(line for line in lines if line)
    return out


@frozen(slots=False)
class Index:
    """What patterns look at: groups in inventory order with their hosts, hosts in order."""

    group_hosts: Mapping[str, Sequence[str]]
    host_order: Sequence[str]
    by_name: Mapping[str, InventoryHost]
    implicit: Callable[[str], InventoryHost] | None


def build_index(inv: Inventory) -> Index:
    """The pattern index of an inventory (derived from host groups when built by hand)."""
    by_name = {h.name: h for h in inv.hosts}
    groups: dict[str, Sequence[str]] = dict(inv.groups)
    if "all" not in groups:
        members: dict[str, list[str]] = {"all": list(by_name),
                                         "ungrouped": [h.name for h in inv.hosts if not h.groups]}
        for h in inv.hosts:
            for g in h.groups:
                members.setdefault(g, []).append(h.name)
        groups = {**members, **groups}
    return Index(groups, list(by_name), by_name, inv.implicit_host)


class _Evaluator:
    def __init__(self, index: Index, warn: Callable[[str], None] | None) -> None:
        self.index = index
        self.warn = warn  # None: terms matching nothing are ignored without a word
        self.cache: dict[str, list[str]] = {}
        self.implicit: dict[str, InventoryHost] = {}
        self.from_files: set[str] = set()  # terms read from @files (their lines are not split)

    def evaluate(self, terms: Sequence[str]) -> list[str]:
        """Host names for the terms: plain terms, then `&`, then `!`, first occurrence kept."""
        regular = [t for t in terms if t and t[0] not in "!&"]
        intersect = [t for t in terms if t and t[0] == "&"]
        exclude = [t for t in terms if t and t[0] == "!"]
        hosts: list[str] = []
        for term in (regular or ["all"]) + intersect + exclude:
            if term in self.index.by_name:
                hosts.append(term)
                continue
            found = self.match_term(term)
            if term[0] == "!":
                drop = set(found)
                hosts = [h for h in hosts if h not in drop]
            elif term[0] == "&":
                keep = set(found)
                hosts = [h for h in hosts if h in keep]
            else:
                present = set(hosts)
                hosts.extend(h for h in found if h not in present)
        return list(dict.fromkeys(hosts))

    def match_term(self, term: str) -> list[str]:
        """Host names one term (without its &/! prefix) stands for, subscript applied."""
        bare = term[1:] if term[0] in "!&" else term
        if not bare:  # ansible-core fails on it with an internal error (IndexError)
            raise InputError(f"host pattern term {term!r} names nothing ('{term}' goes right "
                             f"before a host, group or pattern, as in '{term}web'; a pattern "
                             "without ',' is split on ':')")
        if bare not in self.cache:
            expr, subscript = self._split_subscript(bare)
            found = self._enumerate(expr)
            self.cache[bare] = self._apply(found, subscript, bare)
        return self.cache[bare]

    def _enumerate(self, pattern: str) -> list[str]:
        """Hosts of matching groups, then matching hosts; implicit localhost; none: a warning."""
        match = _matcher(pattern)
        results: list[str] = []
        groups = [g for g in self.index.group_hosts if match(g)]
        for g in groups:
            results.extend(self.index.group_hosts[g])
        if not groups or pattern[0] == "~" or any(c in pattern for c in _GLOB_CHARS):
            results.extend(h for h in self.index.host_order if match(h))
        if not results and pattern in LOCALHOST_NAMES and self.index.implicit is not None:
            host = self.index.implicit(pattern)
            self.implicit[host.name] = host
            results.append(host.name)
        if not results and not groups and pattern != "all" and self.warn is not None:
            hint = ""
            # only where ':' would have split it (not an address, not a name with a port)
            if ":" in pattern and pattern[0] != "~" and len(split_pattern(pattern)) > 1:
                hint = (" (a limit file's lines are not split: write one term a line)"
                        if pattern in self.from_files else
                        " (a pattern holding ',' is split on ',' only: write 'a,b' or 'a:b', "
                        "not both)")
            self.warn(f"could not match supplied host pattern, ignoring: {pattern}{hint}")
        return results

    def _split_subscript(self, pattern: str) -> tuple[str, tuple[int, int | None] | None]:
        """(term, (start, end)) with the `[i]`/`[a:b]` subscript split off, if any."""
        if pattern[0] == "~":
            return pattern, None
        m = _SUBSCRIPT.match(pattern)
        if not m:
            return pattern, None
        expr, index, start, sep, end = m.groups()
        if any(n and not is_number(n.lstrip("-")) for n in (index, start, end)):
            shown = pattern if len(pattern) <= 60 else pattern[:60] + "…"
            raise InputError(f"host pattern {shown!r}: a subscript of more than {MAX_DIGITS} "
                             "digits")
        if index:
            return expr, (int(index), None)
        if sep == "-" and self.warn is not None:
            self.warn(f"use [x:y] inclusive subscripts instead of [x-y] which has been "
                      f"removed (in {pattern!r}; still applied as [{start}:{end}])")
        return expr, (int(start), int(end) if end else -1)

    def _apply(self, hosts: list[str], subscript: tuple[int, int | None] | None,
               pattern: str) -> list[str]:
        """The hosts a subscript picks; an index outside the hosts is an error (as in Ansible)."""
        if not hosts or subscript is None:
            return hosts
        start, end = subscript
        if end:  # Ansible reads an end of 0 as "just start"
            stop = len(hosts) - 1 if end == -1 else end
            picked = hosts[start:stop + 1]
        else:
            try:
                picked = [hosts[start]]
            except IndexError:
                raise SubscriptMissed(f"no hosts matched the subscripted pattern {pattern!r}: "
                                      f"index {start} is out of range "
                                      f"({plural(len(hosts), 'host')})") from None
        if not picked and self.warn is not None:
            self.warn(f"host pattern {pattern!r} selects no host (the range lies outside the "
                      f"{len(hosts)} it subscripts; Ansible ignores it silently)")
        return picked


def _matcher(pattern: str) -> Callable[[str], object]:
    """A match function for a glob or `~regex` term; InputError for a bad regex."""
    try:
        if pattern[0] == "~":
            return re.compile(pattern[1:]).match
        return re.compile(fnmatch.translate(pattern)).match
    except re.error as exc:
        raise InputError(f"invalid host pattern {pattern!r}: {exc}") from None


def select(inv: Inventory, pattern: str | None, *, cwd: str | None = None,
           quiet: bool = False) -> list[InventoryHost]:
    """Hosts matching an Ansible host pattern (None: all) in Ansible's order.

    Terms that match nothing are ignored with a warning in the inventory's notes
    (raised when the inventory is strict), or as its `mismatch` says; quiet (patterns
    written in policies and waivers, shared between inventories) ignores them without a
    word. The result may be empty: the caller decides whether that is an error.
    """
    index = inv.pattern_index()
    mode = inv.notes.mismatch
    warn = inv.notes.warn if mode == "warning" else _mismatch_error if mode == "error" else None
    evaluator = _Evaluator(index, None if quiet else warn)
    terms = expand_files(split_pattern(pattern if pattern is not None else "all"), cwd,
                         evaluator.from_files)
    names = evaluator.evaluate(terms)
    if not quiet:
        inv.notes.check()
    return [index.by_name.get(n) or evaluator.implicit[n] for n in names]


def _mismatch_error(message: str) -> None:
    """A term matching nothing under host_pattern_mismatch = error: bad input, at once."""
    raise InputError(f"{message.replace(', ignoring', '', 1)} (host_pattern_mismatch is "
                     "error)")


def restrict(inv: Inventory, limit: str | None, *, cwd: str | None = None) -> list[InventoryHost]:
    """All hosts in `all` order, kept only if `limit` selects them (ansible-inventory --limit)."""
    everything = select(inv, "all")
    if limit is None:
        return everything
    chosen = {h.name for h in select(inv, limit, cwd=cwd)}
    return [h for h in everything if h.name in chosen]
