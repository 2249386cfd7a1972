"""Shards: a deterministic, stable share of a plan's hosts, and the record a shard run carries.

`--shard K/N` deals each host to one of N shards by a jump consistent hash of its name
alone: adding or removing a host moves only that host, and going from N to N+1 shards
moves about 1/(N+1) of them. `--shard-by VAR` makes one shard per value of an inventory
variable (or per child group of a group), e.g. one per datacenter. A plan's id hashes
which host is in which shard, so shard runs of one plan recognise each other when merged.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.inventory import Inventory
from fleetcheck.numbers import is_number
from fleetcheck.plan import PlannedHost
from fleetcheck.words import plural

_JUMP_MULTIPLIER = 2862933555777941757
_MASK64 = (1 << 64) - 1
# A shard or queue name: safe in a Redis key, a file name and a log line.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def jump_hash(key: int, buckets: int) -> int:
    """Lamping and Veach's jump consistent hash: the bucket (0..buckets-1) of a 64-bit key."""
    bucket, jump = -1, 0
    while jump < buckets:
        bucket = jump
        key = (key * _JUMP_MULTIPLIER + 1) & _MASK64
        jump = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) host `name` belongs to; a function of the name and count only."""
    key = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return jump_hash(key, count) + 1


@frozen
class ShardPlan:
    """Which shard each planned host is in (by position), the shards' names, the plan's id."""

    assignment: tuple[int, ...]  # the shard index (1-based) of each host, in plan order
    names: tuple[str, ...]  # shard i is names[i-1]: "K/N", or the value of `by`
    by: str | None  # the variable or group of --shard-by; None for hashed shards
    id: str

    @property
    def count(self) -> int:
        """How many shards the plan has."""
        return len(self.names)

    def members(self, index: int) -> list[int]:
        """Positions of the hosts in shard `index`."""
        return [i for i, s in enumerate(self.assignment) if s == index]

    def select(self, spec: str) -> int:
        """The index of the shard `spec` names: 'K/N' for hashed shards, a value for `by`."""
        if self.by is not None:
            if spec not in self.names:
                raise InputError(f"--shard {spec!r}: no host has {self.by} = {spec!r} "
                                 f"(shards: {', '.join(self.names)})")
            return self.names.index(spec) + 1
        k, n = parse_fraction(spec)
        if n != self.count:
            raise InputError(f"--shard {spec}: the plan has {plural(self.count, 'shard')}")
        return k


def parse_fraction(spec: str) -> tuple[int, int]:
    """'K/N' -> (K, N) with 1 <= K <= N; InputError otherwise."""
    m = re.fullmatch(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*", spec)
    if not m or not (is_number(m.group(1)) and is_number(m.group(2))) \
            or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise InputError(f"--shard {spec!r}: expected K/N with 1 <= K <= N (e.g. 2/4)")
    return int(m.group(1)), int(m.group(2))


def hashed_plan(hosts: Sequence[PlannedHost], count: int) -> ShardPlan:
    """`count` shards, each host in the one its name hashes to."""
    assignment = tuple(shard_of(h.name, count) for h in hosts)
    names = tuple(f"{k}/{count}" for k in range(1, count + 1))
    return ShardPlan(assignment, names, None, plan_id(hosts, assignment, names, None))


def keyed_plan(hosts: Sequence[PlannedHost], keys: Mapping[str, str], by: str) -> ShardPlan:
    """One shard per distinct key (sorted), each host in its key's shard."""
    names = tuple(sorted({keys[h.name] for h in hosts}))
    index = {name: i + 1 for i, name in enumerate(names)}
    assignment = tuple(index[keys[h.name]] for h in hosts)
    return ShardPlan(assignment, names, by, plan_id(hosts, assignment, names, by))


def plan_id(hosts: Sequence[PlannedHost], assignment: Sequence[int], names: Sequence[str],
            by: str | None) -> str:
    """A short digest of which host is in which named shard: equal plans, equal ids."""
    members = sorted([h.name, names[s - 1]] for h, s in zip(hosts, assignment, strict=True))
    text = json.dumps({"by": by, "shards": list(names), "hosts": members}, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def keys_by(inventory: Inventory, hosts: Sequence[PlannedHost], by: str, *,
            option: str = "--shard-by") -> dict[str, str]:
    """Each host's value of `by`: the child group of group `by` holding it, else its
    variable `by`. InputError naming the hosts without one (or with several)."""
    group = inventory.tree.get(by)
    if group is not None and group.children:
        return _child_group_keys(inventory, hosts, by, group.children, option)
    keys: dict[str, str] = {}
    missing: list[str] = []
    for h in hosts:
        record = inventory.host(h.name)
        value = record.vars.get(by) if record is not None else None
        if value is None or value == "":
            missing.append(h.name)
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InputError(f"{option} {by}: host {h.name!r} has {by} = {value!r}, "
                             "not a plain name")
        keys[h.name] = _checked_name(str(value), h.name, by, option)
    if missing:
        raise InputError(f"{option} {by}: {_some(missing)} {'has' if len(missing) == 1 else 'have'}"
                         f" no variable {by} (and no group {by} has child groups)")
    return keys


def _child_group_keys(inventory: Inventory, hosts: Sequence[PlannedHost], by: str,
                      children: Sequence[str], option: str) -> dict[str, str]:
    member: dict[str, list[str]] = {}
    for child in children:
        for name in inventory.groups.get(child, ()):
            member.setdefault(name, []).append(child)
    keys: dict[str, str] = {}
    for h in hosts:
        found = member.get(h.name, [])
        if len(found) != 1:
            where = "in none" if not found else f"in {', '.join(found)}"
            raise InputError(f"{option} {by}: host {h.name!r} is {where} of the child groups "
                             f"of {by} ({', '.join(children)}): each host needs exactly one")
        keys[h.name] = _checked_name(found[0], h.name, by, option)
    return keys


def _checked_name(value: str, host: str, by: str, option: str) -> str:
    if not NAME_RE.match(value):
        raise InputError(f"{option} {by}: host {host!r} has {by} = {value!r}: a shard or queue "
                         "name is letters, digits, '.', '_' and '-'")
    return value


def _some(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return f"host {shown}" if len(names) == 1 else \
        f"hosts {shown}" + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def shard_record(plan: ShardPlan, index: int, hosts: Sequence[PlannedHost]) -> dict[str, Any]:
    """The `shard` field of shard `index`'s run: which shard of which plan, and the plan's
    hosts (name, address, groups, policies, shard) so a merge can account for every one."""
    return {
        "index": index, "count": plan.count, "plan": plan.id, "by": plan.by,
        "name": plan.names[index - 1], "names": list(plan.names),
        "plan_hosts": [{"name": h.name, "address": h.address, "groups": list(h.groups),
                        "policies": list(h.policy_names), "shard": s}
                       for h, s in zip(hosts, plan.assignment, strict=True)],
    }
