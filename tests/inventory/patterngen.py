"""Random host patterns and `--limit` files over a known inventory (seeded, so reproducible).

The shapes are the ones Ansible's pattern language has: terms joined by ',' or ':'
(or both, or whitespace), '&' and '!' anywhere, globs, '~' regexes, subscripts of
every form (the removed '[x-y]' one, out of range, on globs), names with ports and
ranges as inventories write them, IPv6 and IPv4 addresses, the implicit localhost,
terms matching nothing, whitespace and empty terms, and `@file` limits.
"""

from __future__ import annotations

import fnmatch
import random
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.inventory.cases import descendants_in_fixed_order

# Hosts and groups an extra INI source adds to a generated fleet: addresses (IPv6 with
# the ':' that splitting must keep), names with dots and ports, letter ranges, and names
# shared by a host and a group (the base fleets always have hosts h0-h2 and groups g0-g1).
SPECIAL_HOSTS = ["2001:db8::1", "[2001:db8::2]:2222", "fe80::a:1", "10.0.0.5", "10.0.0.[1:3]",
                 "192.168.1.10:2200", "web1.example.com", "db.example.org:2022", "ab-[a:c]",
                 "H1", "h-x", "g0", "g1", "all", "ungrouped", "localhost"]
SPECIAL_GROUPS = ["v6", "ip", "h1", "h2", "web_1"]

# Terms built without the inventory: Ansible's special names, the implicit localhost,
# names matching nothing, and entries written as an inventory writes them.
FIXED_TERMS = ["all", "*", "ungrouped", "localhost", "127.0.0.1", "::1", "nosuch", "h99", "G0",
               "h1:2222", "2001:db8::1", "[2001:db8::2]:2222", "2001:db8::*", "10.0.0.*",
               "10.0.0.[1:3]", "*.example.*", "r3-[0:3]", "ab-[a:c]", "g*1", "*1", "?0",
               "[gh]1", "[!h]*", "h[0-3]", "web1.example.com"]
REGEXES = [r"~h\d", "~(g1|h2)", "~h1$", "~^g", "~.*0", "~g", "~H", "~[gh]1", r"~10\.0",
           "~2001:db8", "~h1[0]", "~(?i)h1", "~.*example"]
# Invalid regexes: `ansible PATTERN --list-hosts` lists no host, where fleetcheck stops with
# exit 2, as documented (docs/inventory.md, Patterns); as a limit both tools stop.
BAD_REGEXES = ["~(", "~[", "~a{1", "~*x", "~h1)"]
SUBSCRIPTS = ["[0]", "[1]", "[3]", "[-1]", "[-2]", "[0:1]", "[1:2]", "[1:]", "[0:0]", "[2:1]",
              "[:1]", "[-2:]", "[99]", "[-99]", "[0-1]", "[1-9]", "[5:9]"]
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")


@dataclass(frozen=True)
class Limit:
    """A `--limit @file` case: the file's lines, the limit around it, an earlier --limit."""

    lines: list[str]
    template: str  # the limit, with {file} for the file's path
    earlier: str | None  # a --limit given before it (the last one wins, in both tools)

    def written(self, path: str) -> str:
        """The limit naming the file at `path` (its terms may hold braces: no str.format)."""
        return self.template.replace("{file}", path)


def special_source(rng: random.Random, path: Path) -> None:
    """Write an INI source of SPECIAL_HOSTS in SPECIAL_GROUPS (some ungrouped)."""
    hosts = rng.sample(SPECIAL_HOSTS, k=rng.randint(3, 9))
    if "localhost" in hosts and rng.random() < 0.7:  # mostly left implicit
        hosts.remove("localhost")
    lines = [h for h in hosts if rng.random() < 0.3]
    for group in rng.sample(SPECIAL_GROUPS, k=rng.randint(1, 4)):
        lines.append(f"[{group}]")
        lines += rng.sample(hosts, k=rng.randint(1, min(3, len(hosts))))
    path.write_text("\n".join(lines) + "\n")


def names(listing: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(groups, hosts) of an `ansible-inventory --list` document, groups without all."""
    groups = [g for g in listing if g not in ("_meta", "all")]
    hosts = list(dict.fromkeys([*(h for g in listing.values() for h in g.get("hosts", [])),
                                *listing.get("_meta", {}).get("hostvars", {})]))
    return groups, hosts


class Drawer:
    """Draws patterns over one inventory's names."""

    def __init__(self, rng: random.Random, listing: dict[str, Any]) -> None:
        self.rng = rng
        self.listing = listing
        self.groups, self.hosts = names(listing)

    def atom(self) -> str:
        """One term without prefix or subscript."""
        rng, kind = self.rng, self.rng.random()
        if kind < 0.25 and self.hosts:
            return rng.choice(self.hosts)
        if kind < 0.45 and self.groups:
            return rng.choice(self.groups)
        if kind < 0.55:
            return self.glob()
        if kind < 0.6:
            return self.as_written()
        if kind < 0.75:
            return rng.choice(BAD_REGEXES if rng.random() < 0.08 else REGEXES)
        return rng.choice(FIXED_TERMS)

    def glob(self) -> str:
        """A glob made from a name: a prefix and '*', a '?' for a character, a class."""
        name = self.rng.choice(self.hosts + self.groups or ["h1"])
        cut = self.rng.randint(0, len(name))
        return self.rng.choice([name[:cut] + "*", name[:cut] + "?" + name[cut + 1:],
                                f"{name[:1]}[{name[1:2] or 'x'}0-2]*", "*" + name[cut:]])

    def as_written(self) -> str:
        """A host range as an inventory writes it (`r4-[0:5]`), from a host it made."""
        ranged = [h for h in self.hosts if re.fullmatch(r"r[0-9]+-[0-9]", h)]
        if not ranged:
            return self.rng.choice(["10.0.0.[1:3]", "ab-[a:c]", "h[0:2]"])
        head = self.rng.choice(ranged)[:-1]
        return f"{head}[{self.rng.randint(0, 3)}:{self.rng.randint(3, 6)}]"

    def term(self) -> str:
        """A term: maybe '&' or '!', maybe a subscript (only where the order is defined)."""
        rng = self.rng
        text = self.atom()
        if rng.random() < 0.3:
            subscripted = text + rng.choice(SUBSCRIPTS)
            base = _SUBSCRIPT.match(subscripted)
            # which hosts a subscript picks is Ansible's own (varying) order's business
            if base is None or order_is_defined(self.listing, [base.group(1)]):
                text = subscripted
        text = rng.choice(["", "", "", "", "", "!", "!", "&"]) + text
        if rng.random() < 0.15:
            text = rng.choice([" ", "  ", "\t"]) + text + rng.choice(["", " "])
        return text

    def pattern(self) -> str:
        """Terms joined by ',' or ':' (or both, or whitespace), empty terms now and then."""
        rng = self.rng
        if rng.random() < 0.06:
            return rng.choice(["", ",", ":", " ", "all", "*", "!all", "&all", "2001:db8::1",
                               "2001:db8::1:g0", "h1,", ",h1", "h1:", ":h1", "h1,,g0"])
        terms = [self.term() for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.15:
            terms.insert(rng.randint(0, len(terms)), "")
        joiners = rng.choice([[","], [":"], [",", ":"], [" "], [", ", ","]])
        text = terms[0]
        for term in terms[1:]:
            text += rng.choice(joiners) + term
        if rng.random() < 0.08:
            text += rng.choice([",", ":"])
        return text.lstrip("-")  # a leading '-' is an option to both command lines

    def limit(self) -> Limit:
        """A `@file` limit: a file of terms, one a line (kept whole: a line 'g0:h1' is one
        term), blank lines and spaces among them, alone or beside other terms. No line holds
        ',' (so that the file's terms can also be written as one pattern, joined by ',')."""
        rng = self.rng
        lines = [self.term() for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.3:
            lines.insert(rng.randint(0, len(lines)), rng.choice(["", "  ", "g0:h1", "h1:2222"]))
        template = rng.choice(["@{file}", "@{file}", f"{self.term().strip()},@{{file}}",
                               "@{file}:" + self.atom()])
        earlier = self.pattern() if rng.random() < 0.3 else None
        return Limit(lines, template, earlier)


def order_is_defined(listing: dict[str, Any], terms: Sequence[str]) -> bool:
    """False when Ansible's own host order for these (already split) terms varies from run to
    run: a group they match has, on one level of its descendants, two or more groups with
    children (ansible-core walks each level as a set; see cases.descendants_in_fixed_order)."""
    children = {g: list(body.get("children", [])) for g, body in listing.items() if g != "_meta"}
    known = set(children) | {c for kids in children.values() for c in kids}
    regular = [t for t in terms if t and t[0] not in "&!"]
    for term in [*(t.lstrip("&!") for t in terms if t), *([] if regular else ["all"])]:
        match = _SUBSCRIPT.match(term) if term[:1] != "~" else None
        expr = match.group(1) if match else term
        try:
            with warnings.catch_warnings():  # Python's FutureWarnings about odd sets
                warnings.simplefilter("ignore", FutureWarning)
                test = re.compile(expr[1:] if expr[:1] == "~" else fnmatch.translate(expr)).match
        except re.error:
            continue  # matches nothing: an error (limit) or no host
        if not all(descendants_in_fixed_order(g, children) for g in known if test(g)):
            return False
    return True
