"""Reading at fleet scale: hosts in natural order, host lists compacted, findings grouped.

One problem on 5,000 hosts is one row: findings that share kind, rule, protocol, port,
bind scope and process form a `FindingGroup` with its hosts. Grouping only arranges:
every finding lands in exactly one group (tests check that none is lost or doubled).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fleetcheck.model import FindingKind, Severity
from fleetcheck.policy.match import address_scope
from fleetcheck.render.view import FindingRow

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[object, ...]:
    """Sort key: IP addresses numerically (v4 before v6), other names with digit runs as
    numbers ('web2' before 'web10'); ties broken by the text itself, so the order is total."""
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        parts = tuple((0, int(p), p) if p.isdigit() else (1, 0, p.lower())
                      for p in _DIGITS.split(name) if p)
        return (1, parts, name)
    return (0, (ip.version, int(ip)), name)


def natural_sorted(names: Iterable[str]) -> list[str]:
    """`names` in natural order."""
    return sorted(names, key=natural_key)


def compact_hosts(names: Sequence[str]) -> list[str]:
    """Host names with runs of consecutive numbers written as Ansible ranges.

    ['web01', 'web02', 'web03', 'db1'] -> ['db1', 'web[01:03]']: names that differ only
    in one number (same prefix, suffix and digit width) and follow each other become one
    range; everything else stays as it is. The result is in natural order.
    """
    buckets: dict[tuple[str, str, int], list[tuple[int, str]]] = {}
    singles: list[str] = []
    for name in dict.fromkeys(names):
        m = re.fullmatch(r"(.*?)(\d+)(\D*)", name)
        if m is None:
            singles.append(name)
            continue
        prefix, digits, suffix = m.groups()
        width = len(digits) if digits.startswith("0") else 0
        buckets.setdefault((prefix, suffix, width), []).append((int(digits), name))
    items: list[tuple[tuple[object, ...], str]] = [(natural_key(n), n) for n in singles]
    for (prefix, suffix, width), numbered in buckets.items():
        numbered.sort()
        run: list[tuple[int, str]] = []
        for entry in [*numbered, (None, "")]:
            if run and (entry[0] is None or entry[0] != run[-1][0] + 1):
                if len(run) >= 3:
                    lo, hi = run[0][0], run[-1][0]
                    text = f"{prefix}[{lo:0{width}d}:{hi:0{width}d}]{suffix}"
                    items.append((natural_key(run[0][1]), text))
                else:
                    items += [(natural_key(n), n) for _, n in run]
                run = []
            if entry[0] is not None:
                run.append((entry[0], entry[1]))
    return [text for _, text in sorted(items, key=lambda kv: kv[0])]


def hosts_line(names: Sequence[str], limit: int = 8) -> str:
    """'web[01:40], db1' or '..., and 4,960 more': compacted, then cut after `limit` items."""
    parts = compact_hosts(names)
    if len(parts) <= limit:
        return ", ".join(parts)
    shown = parts[:limit]
    rest = len(names) - _count(shown)
    return ", ".join(shown) + f", and {rest:,} more"


def _count(parts: Sequence[str]) -> int:
    """How many hosts compacted parts stand for."""
    total = 0
    for part in parts:
        m = re.search(r"\[(\d+):(\d+)\]", part)
        total += int(m.group(2)) - int(m.group(1)) + 1 if m else 1
    return total


def bind_scope(address: str | None) -> str:
    """How widely a listener binds, the way a group names it: any, loopback, or the address."""
    if address is None:
        return "-"
    scope = address_scope(address)
    if scope == "wildcard":
        return "any address"
    if scope == "loopback":
        return "loopback"
    return address


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """One problem on many hosts: the findings sharing kind, rule, port, scope and process."""

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


def group_findings(rows: Iterable[FindingRow]) -> list[FindingGroup]:
    """`rows` grouped; worst severity first, then most hosts, then kind and port."""
    acc: dict[tuple[object, ...], list[FindingRow]] = {}
    for r in rows:
        f = r.finding
        key = (f.kind, f.rule, f.proto, f.port, bind_scope(f.address), f.process)
        acc.setdefault(key, []).append(r)
    groups = [FindingGroup(kind, rule, proto, port, scope, process,  # type: ignore[arg-type]
                           tuple(sorted(members, key=lambda r: natural_key(r.host.name))))
              for (kind, rule, proto, port, scope, process), members in acc.items()]
    groups.sort(key=lambda g: (-g.severity, -len(g.hosts), g.kind.value, g.proto,
                               -1 if g.port is None else g.port, g.scope, g.process or ""))
    return groups
