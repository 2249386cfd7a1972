"""Reading at fleet scale: hosts in natural order, host lists compacted, findings grouped.

One problem on 5,000 hosts is one row: findings that share kind, rule, protocol, port,
bind scope, process, severity and waiver form a `FindingGroup` with its hosts. Grouping only
arranges: every finding lands in exactly one group (tests check that none is lost or doubled).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from fleetcheck import addresses
from fleetcheck.frozen import frozen
from fleetcheck.model import FindingKind, Severity
from fleetcheck.numbers import is_number
from fleetcheck.render.changes_view import age_words, day
from fleetcheck.render.natural import natural_key, natural_sorted
from fleetcheck.render.view import FindingRow

__all__ = ["FindingGroup", "bind_scope", "compact_hosts", "count_hosts", "group_findings",
           "hosts_line",
           "natural_key", "natural_sorted"]


def _formats(digits: str) -> set[tuple[str, int]]:
    """How a number is written: zero-padded to its width, and plainly when it has no
    leading zero ('10' fits both web[01:12] and web[1:10]; '01' only the first)."""
    out = {("pad", len(digits))}
    if len(digits) == 1 or not digits.startswith("0"):
        out.add(("plain", 0))
    return out


def _runs(numbered: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Runs of three or more consecutive numbers in sorted (number, name) pairs."""
    out: list[list[tuple[int, str]]] = []
    run: list[tuple[int, str]] = []
    for entry in numbered:
        if run and entry[0] != run[-1][0] + 1:
            if len(run) >= 3:
                out.append(run)
            run = []
        if not run or entry[0] == run[-1][0] + 1:
            run.append(entry)
    if len(run) >= 3:
        out.append(run)
    return out


def compact_hosts(names: Sequence[str]) -> list[str]:
    """Host names with runs of consecutive numbers written as Ansible ranges (`_compact`)."""
    return list(_compact(tuple(names)))


# Every format of a scan compacts the same host lists (a finding group's, a cause's), each
# of a thousand names and more: the last few are kept.
@lru_cache(maxsize=64)
def _compact(names: tuple[str, ...]) -> tuple[str, ...]:
    """Host names with runs of consecutive numbers written as Ansible ranges.

    ['web01', 'web02', 'web03', 'db1'] -> ['db1', 'web[01:03]']: names that differ only
    in their last number (same prefix and suffix), follow each other and write the
    number the same way (zero-padded to one width, or plainly) become one range, exactly
    as Ansible would expand it back; everything else stays as it is. Natural order.
    """
    buckets: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    singles: list[str] = []
    for name in dict.fromkeys(names):
        # ASCII digits only: Ansible expands a range into ASCII digits, and another script's
        # digits written back as ASCII would name other hosts
        m = re.fullmatch(r"(.*?)([0-9]+)([^0-9]*)", name)
        if m is None or not is_number(m.group(2)):
            singles.append(name)
            continue
        prefix, digits, suffix = m.groups()
        buckets.setdefault((prefix, suffix), []).append((int(digits), digits, name))
    items: list[tuple[tuple[object, ...], str]] = [(natural_key(n), n) for n in singles]
    for (prefix, suffix), numbered in buckets.items():
        used: set[str] = set()
        styles = {f for _, digits, _ in numbered for f in _formats(digits)}
        for _ in range(2):  # longest runs first; a second pass takes what overlaps left
            found = [(style, run) for style in styles for run in _runs(sorted(
                (n, name) for n, digits, name in numbered
                if name not in used and style in _formats(digits)))]
            found.sort(key=lambda sr: (-len(sr[1]), sr[0][0] != "pad", sr[1][0][0]))
            for (how, width), run in found:
                if any(name in used for _, name in run):
                    continue
                lo, hi = run[0][0], run[-1][0]
                text = (f"{prefix}[{lo:0{width}d}:{hi:0{width}d}]{suffix}" if how == "pad"
                        else f"{prefix}[{lo}:{hi}]{suffix}")
                items.append((natural_key(run[0][1]), text))
                used.update(name for _, name in run)
        items += [(natural_key(name), name) for _, _, name in numbered if name not in used]
    return tuple(text for _, text in sorted(items, key=lambda kv: kv[0]))


def hosts_line(names: Sequence[str], limit: int = 8) -> str:
    """'web[01:40], db1' or '..., and 4,960 more': compacted, then cut after `limit` items."""
    parts = compact_hosts(names)
    if len(parts) <= limit:
        return ", ".join(parts)
    shown = parts[:limit]
    rest = len(names) - count_hosts(shown)
    return ", ".join(shown) + f", and {rest:,} more"


def count_hosts(parts: Sequence[str]) -> int:
    """How many hosts compacted parts stand for."""
    total = 0
    for part in parts:
        m = re.search(r"\[([0-9]+):([0-9]+)\]", part)
        total += int(m.group(2)) - int(m.group(1)) + 1 \
            if m and is_number(m.group(1)) and is_number(m.group(2)) else 1
    return total


def bind_scope(address: str | None, iface: str | None = None) -> str:
    """How widely a listener binds, the way a group names it: any (on one device), loopback
    (a socket bound to the loopback device too), or the address (and device)."""
    if address is None:  # a requirement nothing met: no listener, no bind
        return ""
    scope = addresses.bind_scope(address, iface)
    if scope == "wildcard":
        return "any address" + (f" on {iface}" if iface else "")
    if scope == "loopback":
        return "loopback"
    return addresses.bind_text(address, iface)


@frozen
class FindingGroup:
    """One problem on many hosts: the findings sharing kind, rule, port, scope, process,
    severity and waiver (what a group row says of its hosts is true of each of them)."""

    kind: FindingKind
    rule: str | None
    proto: str
    port: int | None
    scope: str
    process: str | None
    rows: tuple[FindingRow, ...]  # in natural host order

    @property
    def severity(self) -> Severity:
        """The worst severity among the group's findings."""
        return max(r.finding.severity for r in self.rows)

    @property
    def hosts(self) -> list[str]:
        """The distinct hosts, in natural order."""
        return list(dict.fromkeys(r.host.name for r in self.rows))

    @property
    def violation(self) -> bool:
        """True when any finding of the group is a violation."""
        return any(r.violation for r in self.rows)

    @property
    def red(self) -> bool:
        """Forbidden or stray, and a violation: the groups nobody may miss."""
        return any(r.red for r in self.rows)

    @property
    def message(self) -> str:
        """The sentence of the group's first finding (they differ only in host and pid)."""
        return self.rows[0].finding.message

    @property
    def service(self) -> str:
        """The port's service name."""
        return self.rows[0].service

    @property
    def where(self) -> str:
        """'tcp/1923', or 'tcp/any' for a requirement on no single port."""
        return f"{self.proto}/{'any' if self.port is None else self.port}"

    # History (first_seen, change) comes from the history stage when it has run; until
    # then findings carry neither and these say nothing.
    @property
    def first_seen(self) -> str | None:
        """The earliest first_seen among the group's findings (ISO time), when recorded."""
        seen = [r.finding.first_seen for r in self.rows if r.finding.first_seen]
        return min(seen) if seen else None

    def age(self) -> str:
        """What history says of the group: one finding's age ('reopened, first seen
        2026-11-01 (3 days ago)'), or of many '3 new, 40 persisting; first seen
        2026-11-01'; '' when the run has no history."""
        if len(self.rows) == 1:
            return age_words(self.rows[0].finding)
        counts = self.change_words()
        first = f"first seen {day(self.first_seen)}" if self.first_seen else ""
        return "; ".join(x for x in (counts, first) if x)

    def age_class(self) -> str:
        """The change of every finding of the group ('new', 'reopened', 'persisting'), or
        'mixed'; the page colours the age by it."""
        changes = self.changes
        return next(iter(changes)) if len(changes) == 1 else "mixed"

    @property
    def changes(self) -> dict[str, int]:
        """How many of the group's findings are new, persisting or reopened, when recorded."""
        out: dict[str, int] = {}
        for r in self.rows:
            if r.finding.change:
                out[r.finding.change.value] = out.get(r.finding.change.value, 0) + 1
        return out

    def change_words(self) -> str:
        """'3 new, 40 persisting' or '' when no history was recorded."""
        return ", ".join(f"{n} {word}" for word, n in sorted(self.changes.items()))


def group_findings(rows: Iterable[FindingRow]) -> list[FindingGroup]:
    """`rows` grouped; worst severity first, then most hosts, then kind and port."""
    acc: dict[tuple[object, ...], list[FindingRow]] = {}
    for r in rows:
        f = r.finding
        # Severity and waiver are part of the problem: one row saying "critical, a
        # violation" (or "waived by W-1") must not name a host where it is low and below
        # --fail-on (or waived by another waiver); policies may give one rule's listeners
        # different severities (stray_severity per policy).
        key = (f.kind, f.rule, f.proto, f.port, bind_scope(f.address, f.iface), f.process,
               f.severity, f.waiver if f.waived else None)
        acc.setdefault(key, []).append(r)
    groups = [FindingGroup(kind, rule, proto, port, scope, process,  # type: ignore[arg-type]
                           tuple(sorted(members, key=lambda r: natural_key(r.host.name))))
              for (kind, rule, proto, port, scope, process, _, _), members in acc.items()]
    groups.sort(key=lambda g: (-g.severity, -len(g.hosts), g.kind.value, g.proto,
                               -1 if g.port is None else g.port, g.scope, g.process or ""))
    return groups
