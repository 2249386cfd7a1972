"""Ansible host patterns (`--limit`): names, groups, wildcards, `:`/`,` unions, `&`, `!`."""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

from fleetcheck.errors import InputError

if TYPE_CHECKING:
    from fleetcheck.inventory import Inventory, InventoryHost


def select(inventory: Inventory, pattern: str | None) -> list[InventoryHost]:
    """Hosts matching `pattern` in inventory order; InputError when nothing matches."""
    if pattern is None or pattern in ("all", "*"):
        return list(inventory.hosts)
    names: list[str] = []
    terms = [t for t in re.split(r"[:,]", pattern) if t]
    for term in sorted(terms, key=lambda t: (t[0] in "&!")):  # unions, then & and !
        if term.startswith("&"):
            keep = set(_match(inventory, term[1:]))
            names = [n for n in names if n in keep]
        elif term.startswith("!"):
            drop = set(_match(inventory, term[1:]))
            names = [n for n in names if n not in drop]
        else:
            names.extend(n for n in _match(inventory, term) if n not in names)
    if not names:
        raise InputError(f"no hosts match the limit {pattern!r}")
    by_name = {h.name: h for h in inventory.hosts}
    return [by_name[n] for n in names]


def _match(inventory: Inventory, term: str) -> list[str]:
    if term in inventory.groups:
        return list(inventory.groups[term])
    return [h.name for h in inventory.hosts
            if fnmatch.fnmatchcase(h.name, term)
            or any(fnmatch.fnmatchcase(g, term) for g in h.groups)]
