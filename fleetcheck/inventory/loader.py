"""Inventory sources: a YAML inventory in Ansible's `all/children/hosts/vars` shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.inventory import Inventory, InventoryHost
from fleetcheck.yamlsrc import LocatedDict, check_keys, load_file

_GROUP_KEYS = ("hosts", "children", "vars")


def load_sources(sources: Sequence[str], *, vault_password_file: str | None = None) -> Inventory:
    """Load YAML inventory files in order; later files add hosts and override variables."""
    del vault_password_file  # no vault support in the YAML-only loader
    host_vars: dict[str, dict[str, Any]] = {}
    host_groups: dict[str, set[str]] = {}
    members: dict[str, list[str]] = {}
    for path in sources:
        data = load_file(path)
        if not isinstance(data, LocatedDict) or "all" not in data:
            raise InputError("expected a YAML inventory with a top-level 'all' group", path, 1)
        _walk(data["all"], "all", [], {}, host_vars, host_groups, members, path)
    if not host_vars:
        raise InputError("inventory defines no hosts", sources[0] if sources else None)
    hosts = tuple(
        InventoryHost(name, host_vars[name], tuple(sorted(host_groups[name] - {"all"})))
        for name in host_vars
    )
    groups = {g: tuple(m) for g, m in members.items()}
    return Inventory(hosts, tuple(sources), groups)


def _walk(node: Any, group: str, ancestors: list[str], inherited: dict[str, Any],
          host_vars: dict[str, dict[str, Any]], host_groups: dict[str, set[str]],
          members: dict[str, list[str]], path: str) -> None:
    if node is None:
        node = LocatedDict()
    if not isinstance(node, LocatedDict):
        raise InputError(f"group {group!r} must be a mapping", path)
    check_keys(node, _GROUP_KEYS, f"group {group!r}")
    gvars = dict(inherited)
    gvars.update(node.get("vars") or {})
    chain = [*ancestors, group]
    for name, hvars in (node.get("hosts") or {}).items():
        merged = {**gvars, **(hvars or {})}
        host_vars.setdefault(name, {}).update(merged)
        host_groups.setdefault(name, set()).update(chain)
        for g in chain:
            if name not in members.setdefault(g, []):
                members[g].append(name)
    for child, sub in (node.get("children") or {}).items():
        _walk(sub, child, chain, gvars, host_vars, host_groups, members, path)
