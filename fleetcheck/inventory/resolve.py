"""Variable precedence: one host's variables, merged in ansible-core's order.

Lowest to highest: `all`'s inline vars; each group's inline vars, groups sorted
by (depth, ansible_group_priority, name); `group_vars/all` beside each source;
`group_vars/<group>` (per source, groups in the same order); the host's inline
vars; `host_vars/<host>` beside each source. Later wins, whole values replace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from fleetcheck.inventory.combine import layer
from fleetcheck.inventory.data import Group, Host, InventoryData
from fleetcheck.inventory.values import Origin
from fleetcheck.inventory.varsfiles import VarsFiles, VarsLayer

# Names Ansible computes itself and leaves out of `ansible-inventory` output.
INTERNAL_VARS = frozenset({
    "ansible_async_path", "ansible_collection_name", "ansible_config_file",
    "ansible_dependent_role_names", "ansible_diff_mode", "ansible_facts", "ansible_forks",
    "ansible_inventory_sources", "ansible_limit", "ansible_play_batch", "ansible_play_hosts",
    "ansible_play_hosts_all", "ansible_play_role_names", "ansible_playbook_python",
    "ansible_role_name", "ansible_role_names", "ansible_run_tags", "ansible_skip_tags",
    "ansible_verbosity", "ansible_version", "group_names", "groups", "hostvars",
    "inventory_dir", "inventory_file", "inventory_hostname", "inventory_hostname_short",
    "play_hosts", "playbook_dir", "role_name", "role_names", "role_path", "role_uuid",
})


def sort_groups(groups: Iterator[Group] | list[Group] | set[Group]) -> list[Group]:
    """Groups from weakest to strongest: by depth, then priority, then name."""
    return sorted(groups, key=lambda g: (g.depth, g.priority, g.name))


def _strip(merged: dict[str, Any]) -> Mapping[str, Any]:
    """The merged variables without Ansible's own names, read-only."""
    for name in INTERNAL_VARS.intersection(merged):
        del merged[name]
    return MappingProxyType(merged)


class Resolver:
    """Merges variables for hosts (sharing the work between hosts in the same groups)."""

    def __init__(self, data: InventoryData, files: VarsFiles, bases: list[str]) -> None:
        self.data = data
        self.files = files
        self.bases = bases
        self._by_groups: dict[tuple[str, ...], dict[str, Any]] = {}

    def host_groups(self, host: Host) -> list[Group]:
        """The host's groups other than `all`, weakest first."""
        return sort_groups(g for g in host.groups() if g.name != "all")

    def _layers(self, kind: str, name: str) -> list[VarsLayer]:
        """One entity's vars-file layers, one per source directory, in source order."""
        return [self.files.layer(base, kind, name) for base in self.bases]

    def _group_level(self, groups: list[Group]) -> dict[str, Any]:
        """Variables up to the group level for hosts in exactly these groups (cached)."""
        key = tuple(g.name for g in groups)
        merged = self._by_groups.get(key)
        if merged is None:
            merge = self.data.merge
            merged = dict(self.data.groups["all"].vars)
            for group in groups:
                layer(merged, group.vars, merge)
            for lay in self._layers("group_vars", "all"):
                layer(merged, lay.vars, merge)
            for base in self.bases:
                for group in groups:
                    layer(merged, self.files.layer(base, "group_vars", group.name).vars, merge)
            self._by_groups[key] = merged
        return merged

    def host_vars(self, host: Host) -> Mapping[str, Any]:
        """The host's variables as `ansible-inventory --list` shows them."""
        merged = dict(self._group_level(self.host_groups(host)))
        layer(merged, host.vars, self.data.merge)
        for lay in self._layers("host_vars", host.name):
            layer(merged, lay.vars, self.data.merge)
        return _strip(merged)

    def origin(self, host: Host, name: str) -> Origin | None:
        """Where the value of `name` that wins for `host` was written."""
        candidates: list[tuple[dict[str, Any], dict[str, Origin]]] = []
        groups = self.host_groups(host)
        all_group = self.data.groups["all"]
        candidates.append((all_group.vars, all_group.origins))
        candidates += [(g.vars, g.origins) for g in groups]
        candidates += [(lay.vars, lay.origins) for lay in self._layers("group_vars", "all")]
        for base in self.bases:
            for group in groups:
                lay = self.files.layer(base, "group_vars", group.name)
                candidates.append((lay.vars, lay.origins))
        candidates.append((host.vars, host.origins))
        candidates += [(lay.vars, lay.origins) for lay in self._layers("host_vars", host.name)]
        for values, origins in reversed(candidates):
            if name in values:
                found: Origin | None = origins.get(name)
                return found
        return None

    def export_host_vars(self, host: Host) -> Mapping[str, Any]:
        """Only the host's own variables (inline and host_vars), as `--export` shows them."""
        merged = dict(host.vars)
        for lay in self._layers("host_vars", host.name):
            layer(merged, lay.vars, self.data.merge)
        return _strip(merged)

    def export_group_vars(self, group: Group) -> Mapping[str, Any]:
        """A group's own variables (inline and group_vars) as `--export` shows them."""
        merged = dict(group.vars)
        for lay in self._layers("group_vars", group.name):
            layer(merged, lay.vars, self.data.merge)
        if group.priority != 1:
            merged["ansible_group_priority"] = group.priority
        return _strip(merged)


class LazyOrigins(Mapping[str, str]):
    """`var -> "file:line"` for one host, worked out only when asked (errors are rare)."""

    __slots__ = ("_host", "_resolver", "_vars")

    def __init__(self, resolver: Resolver, host: Host, names: Mapping[str, Any]) -> None:
        self._resolver = resolver
        self._host = host
        self._vars = names

    def __getitem__(self, name: str) -> str:
        if name not in self._vars:
            raise KeyError(name)
        origin = self._resolver.origin(self._host, name)
        if origin is None:
            raise KeyError(name)
        return str(origin)

    def __iter__(self) -> Iterator[str]:
        # only names with a known origin (not a host list's port, not the implicit
        # localhost's own): a Mapping yields no key that it then refuses
        return (n for n in self._vars if self._resolver.origin(self._host, n) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"<origins of {self._host.name}>"


class Overlay(Mapping[str, str]):
    """`top` over `base`, read through: `base` (a LazyOrigins) is not worked out to build it."""

    __slots__ = ("_base", "_top")

    def __init__(self, top: Mapping[str, str], base: Mapping[str, str]) -> None:
        self._top = top
        self._base = base

    def __getitem__(self, name: str) -> str:
        return self._top[name] if name in self._top else self._base[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._top, *self._base]))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Exporter:
    """Per-entity variables for `--export` and `--graph --vars` (worked out on demand)."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver

    def host_vars(self, name: str) -> Mapping[str, Any]:
        """A host's own variables (inline and host_vars files)."""
        return self._resolver.export_host_vars(self._resolver.data.hosts[name])

    def group_vars(self, name: str) -> Mapping[str, Any]:
        """A group's own variables (inline and group_vars files, plus a non-default priority)."""
        return self._resolver.export_group_vars(self._resolver.data.groups[name])
