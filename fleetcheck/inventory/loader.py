"""Loading: every source into one inventory, reconciled, with each host's variables resolved."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.inventory import Inventory, InventoryGroup, InventoryHost
from fleetcheck.inventory.data import Host, InventoryData
from fleetcheck.inventory.hostpattern import is_host_list
from fleetcheck.inventory.ignored import ignored
from fleetcheck.inventory.notes import Notes
from fleetcheck.inventory.resolve import Exporter, LazyOrigins, Resolver
from fleetcheck.inventory.sources import Reading, read_source
from fleetcheck.inventory.values import Origin
from fleetcheck.inventory.varsfiles import VarsFiles, vars_base
from fleetcheck.inventory.vault import Keyring

_HIDDEN_GROUPS = ("all", "ungrouped")


def load_sources(sources: Sequence[str], *, keyring: Keyring | None = None,
                 strict: bool = False, extra_vars: Mapping[str, Any] | None = None,
                 use_extra_vars: bool = False, skip: Callable[[str], bool] | None = None,
                 play_dirs: Sequence[str] = (), merge: bool = False) -> Inventory:
    """Read `sources` in order (later ones add hosts and override variables) into an Inventory.

    `extra_vars` (-e) reach the expressions of constructed sources with use_extra_vars
    (`use_extra_vars` is that option's default); no host's variables hold them. `skip`
    says which entries of an inventory directory are not read (ansible-core's default
    settings' rule without it). `play_dirs` hold play-adjacent group_vars/host_vars (the
    working directory of an ad-hoc `ansible` run): each a layer over those of the sources.
    `merge` is ansible.cfg's `hash_behaviour = merge`: mappings are merged where a later
    layer sets one again (replaced whole without it).

    Where ansible-core warns and goes on, the warning is recorded in `Inventory.notes`;
    strict, it is an InputError instead.
    """
    if not sources:
        raise InputError("no inventory source given")
    keyring = keyring if keyring is not None else Keyring()
    notes = Notes(strict)
    data = InventoryData(notes)
    data.merge = merge
    reading = Reading(keyring, extra_vars=dict(extra_vars or {}), use_extra_vars=use_extra_vars,
                      skip=skip or ignored)
    absolute = [s if is_host_list(s) else os.path.abspath(s) for s in sources]
    for source in absolute:
        read_source(data, source, reading)
    data.reconcile()
    if not data.hosts:
        notes.warn("provided hosts list is empty, only localhost is available (the implicit "
                   "localhost does not match 'all')", Origin(sources[0]))
    files = VarsFiles(keyring, notes, merge=merge)
    bases = [b for b in (vars_base(s) for s in absolute) if b is not None]
    # ansible-core's precedence puts play-adjacent vars right after the inventory's at each
    # level (all, groups, host): the same as more sources after the last one
    bases += [os.path.realpath(d) for d in play_dirs]
    inventory = _build(data, files, bases, reading.files)
    notes.check()
    return inventory


def embedded_localhost() -> Inventory:
    """This machine alone, through the local connection (what runs without -i)."""
    data = InventoryData()
    host = data.add_host("localhost", "ungrouped")
    data.set_variable(host, "ansible_connection", "local", Origin("<built-in inventory>"))
    data.reconcile()
    return _build(data, VarsFiles(None), [], [])


def _build(data: InventoryData, files: VarsFiles, bases: list[str],
           read: list[str]) -> Inventory:
    """The Inventory of reconciled data: every host's variables resolved."""
    resolver = Resolver(data, files, bases)
    hosts = tuple(_host(resolver, h) for h in data.hosts.values())
    for base in bases:  # read every group's vars files, used or not: a broken one is an error
        for name in data.groups:
            files.layer(base, "group_vars", name)
    groups = {name: tuple(h.name for h in g.all_hosts()) for name, g in data.groups.items()}
    tree = {name: InventoryGroup(name, tuple(h.name for h in g.hosts),
                                 tuple(c.name for c in g.children), dict(g.vars), g.priority,
                                 g.depth)
            for name, g in data.groups.items()}

    def implicit(name: str) -> InventoryHost:
        return _host(resolver, data.implicit_localhost(name))

    return Inventory(hosts, tuple(dict.fromkeys(read + files.read)), groups, tree,
                     implicit, Exporter(resolver), data.notes, hash_merge=data.merge)


def _host(resolver: Resolver, host: Host) -> InventoryHost:
    """The public InventoryHost of a reconciled host, variables resolved."""
    resolved = resolver.host_vars(host)
    groups = host.groups()
    names = tuple(sorted(g.name for g in groups if g.name not in _HIDDEN_GROUPS))
    return InventoryHost(host.name, resolved, names, LazyOrigins(resolver, host, resolved),
                         host.implicit, any(g.name == "ungrouped" for g in groups),
                         host.source)
