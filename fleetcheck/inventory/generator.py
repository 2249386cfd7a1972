"""ansible-core's `generator` inventory plugin: a host for every combination of layers.

`layers` maps each layer's name to its values; for every combination (the first layer
varying slowest, as `itertools.product` goes) the host named by the `hosts.name` template
is added, then each of `hosts.parents`: a group named by its template, given its `vars`
(each value templated: later combinations overwrite earlier ones, as in ansible-core),
with the host or group below it as a child, and its own `parents` in turn. A template
sees the combination's layer values; text it makes is untrusted, as ansible-core marks it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import product
from typing import Any

from fleetcheck.inventory.data import InventoryData
from fleetcheck.inventory.expressions import KeyLines, NativeRenderer, trusted, untrusted
from fleetcheck.inventory.template import TemplateProblem, is_template
from fleetcheck.inventory.values import Origin

NAMES = ("generator", "ansible.builtin.generator")
_OPTIONS = {"plugin", "hosts", "layers"}
_MAX_HOSTS = 100_000  # combinations of layers one source may make


def parse(inv: InventoryData, document: Mapping[str, Any], path: str, text: str = "") -> None:
    """Add the hosts and groups the generator source `document` (`text`, from `path`) makes."""
    lines = KeyLines(path, text)
    for key in document:
        if key not in _OPTIONS:  # ansible-core ignores it without a word; this says so
            inv.notes.warn(f"generator: unknown option {key!r} is ignored (known: hosts, "
                           "layers)", lines.at(str(key)))
    layers, hosts = document.get("layers"), document.get("hosts")
    if not isinstance(layers, dict) or not all(isinstance(v, list) for v in layers.values()):
        raise lines.at("layers").error("generator: layers must map each layer's name to a "
                                       "list of its values")
    if not isinstance(hosts, dict) or not hosts.get("name"):
        raise lines.at("hosts").error("generator: hosts must be a mapping with a name template")
    count = math.prod(len(values) for values in layers.values())
    if count > _MAX_HOSTS:
        raise lines.at("layers").error(f"generator: the layers make {count:,} hosts (more than "
                                       f"{_MAX_HOSTS:,}, the limit)")
    where = lines.at("hosts")
    for combination in product(*layers.values()):
        values = NativeRenderer(dict(zip(layers, combination, strict=True)),
                                lambda name, value: value.reveal(f"layer {name}"))
        name = _template(hosts["name"], values, where)
        if not isinstance(name, str) or not name:
            raise where.error(f"generator: the host name template made {name!r}, not a name")
        inv.add_host(name, origin=where)
        _parents(inv, name, hosts.get("parents") or [], values, lines.at("hosts", "parents"))


def _parents(inv: InventoryData, child: str, parents: Any, values: NativeRenderer,
             where: Origin) -> None:
    """Put `child` into each parent group (made, given its vars), and those into theirs."""
    if not isinstance(parents, list):
        raise where.error(f"generator: the parents of {child!r} must be a list")
    for parent in parents:
        if not isinstance(parent, dict):
            raise where.error(f"generator: a parent of {child!r} must be a mapping with a name")
        name = _template(parent.get("name"), values, where)
        if not name:
            raise where.error(f"generator: element {child} has a parent with no name")
        group = inv.add_group(str(name), where)
        variables = parent.get("vars") or {}
        if not isinstance(variables, dict):
            raise where.error(f"generator: the vars of group {group.name!r} must be a mapping")
        for key, value in variables.items():
            inv.set_variable(group, key, _template(value, values, where), where)
        inv.add_child(group.name, child, where)
        _parents(inv, group.name, parent.get("parents") or [], values, where)


def _template(pattern: Any, values: NativeRenderer, where: Origin) -> Any:
    """`pattern` rendered with the layer values (anything but text passes through as it is)."""
    if not isinstance(pattern, str) or not is_template(pattern):
        return pattern
    try:
        result = values.render(pattern)
    except TemplateProblem as exc:
        raise where.error(f"generator: {exc}") from None
    kept, _ = trusted({k: values.raw(k) for k in values.names()})
    return untrusted(result, kept, False)
