"""TOML inventories (`.toml`): tables of groups with `hosts`, `children` (a list) and `vars`."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from fleetcheck.bounded import MAX_YAML_BYTES, check_text_size
from fleetcheck.inventory.data import InventoryData
from fleetcheck.inventory.values import Origin

_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def load(text: str, path: str) -> dict[str, Any]:
    """The TOML document; InputError (with line and column when known) when invalid."""
    check_text_size(text, MAX_YAML_BYTES, "TOML document", path)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise Origin(path).error("invalid TOML: nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        m = _AT.search(str(exc))
        message = _AT.sub("", str(exc)).strip()
        if m:
            raise Origin(path, int(m.group(1)), int(m.group(2))).error(
                f"invalid TOML: {message}") from None
        raise Origin(path).error(f"invalid TOML: {message}") from None
    except ValueError:  # what tomllib lets through: an integer too long to convert
        raise Origin(path).error("invalid TOML: an integer too long to read") from None
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
    """Add one TOML group table (hosts, children, vars); as ansible-core's toml plugin, a
    group that is no table and unknown keys are skipped with a warning."""
    if body is not None and not isinstance(body, Mapping):
        inv.notes.warn(f"skipping '{name}' as this is not a valid group definition "
                       "(not a table)", at)
        return
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
            inv.notes.warn(f"skipping unexpected key {key!r} in group {name!r}, only \"vars\", "
                           '"children" and "hosts" are valid', at)


def _hosts(inv: InventoryData, group: str, entry: str, host_vars: Any, at: Origin) -> None:
    """Add the hosts of one TOML host entry with their variables."""
    names, port = inv.expand_entry(entry, at)
    if not isinstance(host_vars, Mapping):
        raise at.error(f"variables of host {entry!r} must be a table")
    for host_name in names:
        host = inv.add_host(host_name, group, port, at)
        for var, val in host_vars.items():
            inv.set_variable(host, var, val, at)
