"""YAML (and JSON) inventories: top-level groups with `hosts`, `children` and `vars`.

Walks the document the way ansible-core's yaml plugin does (document order,
host entries with ranges and ports, a string standing for a one-key mapping),
and where that plugin warns and skips a key or a group, so does this one
(recording the warning at the key's file:line).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetcheck.inventory.data import InventoryData
from fleetcheck.inventory.datafile import kind_name, mark_of, where
from fleetcheck.inventory.values import Origin
from fleetcheck.words import did_you_mean

_SECTIONS = ("vars", "children", "hosts")


class Declined(Exception):
    """The file is not a YAML inventory at all (another reader may take it)."""

    def __init__(self, message: str, origin: Origin) -> None:
        super().__init__(message)
        self.origin = origin


def check_document(data: Any, path: str) -> Mapping[Any, Any]:
    """The document as a mapping of groups; Declined when it is no YAML inventory."""
    top = Origin(path, 1)
    if not data:
        raise Declined("empty YAML document", top)
    if not isinstance(data, Mapping):
        raise Declined(f"a YAML inventory is a mapping of groups, not a {kind_name(data)}",
                       mark_of(data, top))
    if data.get("plugin"):
        raise Declined(f"inventory plugin configuration (plugin: {data['plugin']}), "
                       "not a YAML inventory", where(data, "plugin", top))
    return data


def parse(inv: InventoryData, data: Mapping[Any, Any], path: str) -> None:
    """Add the groups, hosts and variables of a checked YAML inventory document to `inv`."""
    top = mark_of(data, Origin(path, 1))
    try:
        for name, body in data.items():
            _group(inv, name, body, where(data, name, top), child=False)
    except RecursionError:  # children within children ~1,000 deep (ansible-core stops sooner)
        raise top.error("groups nested too deeply (children within children)") from None


def _group(inv: InventoryData, name: Any, body: Any, at: Origin, *, child: bool) -> str:
    """Add one group (and, recursively, its children); returns its name.

    As ansible-core's yaml plugin: a group that is not a mapping is skipped with a
    warning (an error when it is a child never defined elsewhere: Ansible fails on it
    too), and so are unknown keys and keys whose value is not a mapping.
    """
    if body is not None and not isinstance(body, Mapping):
        if child and name not in inv.groups:
            raise at.error(f"group {name!r} must be a mapping of hosts/children/vars, "
                           f"not a {kind_name(body)}")
        # quoted as ansible-core quotes it: `1: []` is '1', a name of digits as any other
        inv.notes.warn(f"skipping '{name}' as this is not a valid group definition (a "
                       f"{kind_name(body)}, not a mapping of hosts/children/vars)", at)
        return str(name)
    group = inv.add_group(name, at).name
    if body is None:
        return group
    sections: dict[str, Mapping[Any, Any] | None] = {}
    for key in _SECTIONS:
        if key in body:
            raw = body[key]
            value = {raw: None} if isinstance(raw, str) else raw  # `hosts: web1`: `{web1: }`
            if value is not None and not isinstance(value, Mapping):
                raise where(body, key, at).error(f"{key!r} of group {group!r} must be a "
                                                 f"mapping, not a {kind_name(value)}")
            sections[key] = value
    for key, raw in body.items():
        key_at = where(body, key, at)
        value = sections.get(key, raw)
        if value is not None and not isinstance(value, Mapping):
            inv.notes.warn(f"skipping key ({key}) in group ({group}) as it is not a mapping, "
                           f"it is a {kind_name(value)}", key_at)
        elif key not in _SECTIONS:
            if value is not None:
                hint = did_you_mean(str(key), _SECTIONS)
                inv.notes.warn(f"skipping unexpected key ({key}) in group ({group}){hint}, "
                               'only "vars", "children" and "hosts" are valid', key_at)
        elif value is None:
            continue
        elif key == "vars":
            for var, val in value.items():
                inv.set_variable(inv.groups[group], var, val, where(value, var, key_at))
        elif key == "children":
            for kid, kid_body in value.items():
                kid_at = where(value, kid, key_at)
                inv.add_child(group, _group(inv, kid, kid_body, kid_at, child=True), kid_at)
        else:
            for entry, host_vars in value.items():
                _hosts(inv, group, entry, host_vars, where(value, entry, key_at))
    return group


def _hosts(inv: InventoryData, group: str, entry: Any, host_vars: Any, at: Origin) -> None:
    """Add the hosts of one host entry (ranges, port) with their variables."""
    if not isinstance(entry, str):
        raise at.error(f"host entry {entry!r} must be a string (quote numbers)")
    names, port = inv.expand_entry(entry, at)
    host_vars = host_vars or {}
    if not isinstance(host_vars, Mapping):
        raise at.error(f"variables of host {entry!r} must be a mapping, "
                       f"not a {kind_name(host_vars)}")
    for name in names:
        host = inv.add_host(name, group, port, at)
        for var, val in host_vars.items():
            inv.set_variable(host, var, val, where(host_vars, var, at))
