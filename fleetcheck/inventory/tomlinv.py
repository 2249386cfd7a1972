"""TOML inventories (`.toml`): tables of groups with `hosts`, `children` (a list) and `vars`."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from fleetcheck.inventory import hostpattern
from fleetcheck.inventory.data import InventoryData
from fleetcheck.inventory.values import Origin

_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def load(text: str, path: str) -> dict[str, Any]:
    """The TOML document; InputError (with line and column when known) when invalid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _AT.search(str(exc))
        message = _AT.sub("", str(exc)).strip()
        if m:
            raise Origin(path, int(m.group(1)), int(m.group(2))).error(
                f"invalid TOML: {message}") from None
        raise Origin(path).error(f"invalid TOML: {message}") from None
    at = Origin(path, 1)
    if not data:
        raise at.error("empty TOML inventory")
    if data.get("plugin"):
        raise at.error("inventory plugin configuration, not a TOML inventory")
    return data


def parse(inv: InventoryData, data: Mapping[str, Any], path: str) -> None:
    """Add a TOML inventory's groups, hosts and variables to `inv`."""
    for name, body in data.items():
        _group(inv, name, body, Origin(path))


def _group(inv: InventoryData, name: str, body: Any, at: Origin) -> None:
    """Add one TOML group table (hosts, children, vars) to the inventory."""
    if body is not None and not isinstance(body, Mapping):
        raise at.error(f"group {name!r} must be a table")
    inv.add_group(name, at)
    for key, value in (body or {}).items():
        if key == "vars":
            if not isinstance(value, Mapping):
                raise at.error(f"'vars' of group {name!r} must be a table")
            for var, val in value.items():
                inv.set_variable(inv.groups[name], var, val, at)
        elif key == "children":
            if not isinstance(value, list):
                raise at.error(f"'children' of group {name!r} must be a list")
            for child in value:
                _group(inv, child, {}, at)
                inv.add_child(name, child, at)
        elif key == "hosts":
            if not isinstance(value, Mapping):
                raise at.error(f"'hosts' of group {name!r} must be a table")
            for entry, host_vars in value.items():
                _hosts(inv, name, entry, host_vars, at)
        else:
            raise at.error(f"unknown key {key!r} in group {name!r} (use hosts, children, vars)")


def _hosts(inv: InventoryData, group: str, entry: str, host_vars: Any, at: Origin) -> None:
    """Add the hosts of one TOML host entry with their variables."""
    pattern, port = hostpattern.split_entry(entry)
    try:
        names = hostpattern.expand(pattern)
    except hostpattern.RangeError as exc:
        raise at.error(str(exc)) from None
    if not isinstance(host_vars, Mapping):
        raise at.error(f"variables of host {entry!r} must be a table")
    for host_name in names:
        host = inv.add_host(host_name, group, port, at)
        for var, val in host_vars.items():
            inv.set_variable(host, var, val, at)
