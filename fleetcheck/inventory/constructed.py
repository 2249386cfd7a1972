"""ansible-core's `constructed` inventory plugin: variables and groups from expressions.

A YAML source whose `plugin:` is `constructed` (or `ansible.builtin.constructed`) works
on the hosts the sources before it read, in ansible-core's order for each host: `compose`
sets variables (each expression's value, native: a number stays a number), then `groups`
adds the host to each group whose condition is true, then `keyed_groups` adds it to a
group named from a variable's value (a string, each item of a list, each `key_value` of a
mapping), names made safe as Ansible makes them (`[^A-Za-z0-9_]` to `_`). An expression
sees the host's inline variables (its groups' by depth and priority, then its own) and
`inventory_hostname`, `inventory_hostname_short` and `group_names`.

As in ansible-core, an expression that fails on a host (a variable that host lacks) is
skipped unless `strict: true`, and a condition must be a boolean. Unlike it, a filter or
test fleetcheck does not have is an error: skipping it would make other groups than
Ansible makes. With `use_vars_plugins`, the group_vars and host_vars beside the sources
read so far are seen too; with `use_extra_vars`, the `-e` variables over all the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from fleetcheck.inventory.combine import layer
from fleetcheck.inventory.data import Host, InventoryData
from fleetcheck.inventory.expressions import (
    UNTRUSTED,
    Failed,
    KeyLines,
    NativeRenderer,
    boolean,
    condition_of,
    value_of,
)
from fleetcheck.inventory.resolve import sort_groups
from fleetcheck.inventory.template import Renderer, TemplateProblem, is_template, magic_vars
from fleetcheck.inventory.values import Origin, VaultValue
from fleetcheck.inventory.varsfiles import VarsFiles, vars_base
from fleetcheck.inventory.vault import Keyring

NAMES = ("constructed", "ansible.builtin.constructed")
_OPTIONS = {"plugin", "strict", "compose", "groups", "keyed_groups", "leading_separator",
            "use_extra_vars", "use_vars_plugins"}
_UNSAFE_GROUP_CHARS = re.compile(r"^[\d\W]|[^\w]")


def safe_group_name(name: str) -> str:
    """`name` as constructed names a group: each character not valid in a variable name,
    and a leading digit, made `_`."""
    return _UNSAFE_GROUP_CHARS.sub("_", name)


def parse(inv: InventoryData, document: Mapping[str, Any], path: str, text: str = "",
          read: Sequence[str] = (), keyring: Keyring | None = None, *,
          extra_vars: Mapping[str, Any] | None = None, use_extra_vars: bool = False) -> None:
    """Apply the constructed source `document` (`text`, read from `path`) to the hosts read
    so far, from the sources in `read` (whose group_vars and host_vars `use_vars_plugins`
    adds, decrypted with `keyring`); `extra_vars` are seen when the source's
    use_extra_vars (by default `use_extra_vars`) is true."""
    lines = KeyLines(path, text)
    for key in document:
        if key not in _OPTIONS:  # ansible-core ignores it without a word; this says so
            inv.notes.warn(f"constructed: unknown option {key!r} is ignored (known: "
                           f"{', '.join(sorted(_OPTIONS - {'plugin'}))})", lines.at(str(key)))
    extra = dict(extra_vars or {}) if boolean(
        document.get("use_extra_vars", use_extra_vars), "use_extra_vars",
        lines.at("use_extra_vars")) else {}
    files = None
    if boolean(document.get("use_vars_plugins", False), "use_vars_plugins",
               lines.at("use_vars_plugins")):
        bases = [b for b in dict.fromkeys(vars_base(f) for f in read) if b is not None]
        files = (VarsFiles(keyring, inv.notes, merge=inv.merge), bases)
    strict = boolean(document.get("strict", False), "strict", lines.at("strict"))
    leading = boolean(document.get("leading_separator", True), "leading_separator",
                      lines.at("leading_separator"))
    compose = _mapping(document.get("compose"), "compose", lines.at("compose"))
    groups = _mapping(document.get("groups"), "groups", lines.at("groups"))
    keyed = document.get("keyed_groups") or []
    if not isinstance(keyed, list):
        raise lines.at("keyed_groups").error("constructed: keyed_groups must be a list of "
                                             "mappings")
    for n, entry in enumerate(keyed):
        if not isinstance(entry, dict) or not entry:
            raise lines.at("keyed_groups", n).error(
                f"constructed: invalid keyed group entry, it must be a mapping: {entry!r}")
        if entry.get("trailing_separator") is not None and \
                entry.get("default_value") is not None:
            raise lines.at("keyed_groups", n).error(
                "constructed: parameters are mutually exclusive for keyed groups: "
                "default_value|trailing_separator")
    inv.compute_depths()  # a host's groups' variables apply by depth, as ansible-core keeps it
    run = _Run(inv, lines, strict, leading, files, extra)
    for host in list(inv.hosts.values()):
        run.host(host, compose, groups, keyed)


class _Run:
    """One constructed source applied host by host."""

    def __init__(self, inv: InventoryData, lines: KeyLines, strict: bool, leading: bool,
                 files: tuple[VarsFiles, list[str]] | None, extra: Mapping[str, Any]) -> None:
        self.inv = inv
        self.lines = lines
        self.where = lines.at("plugin")
        self.strict = strict
        self.leading = leading
        self.files = files  # use_vars_plugins: the vars files, and the directories they are in
        self.extra = extra  # use_extra_vars: -e, over everything (magic variables included)
        self.distrusted = UNTRUSTED - frozenset(extra)  # -e text is trusted, whatever its name

    def host(self, host: Host, compose: Mapping[str, Any], groups: Mapping[str, Any],
             keyed: list[dict[str, Any]]) -> None:
        """compose, then groups, then keyed_groups for one host (ansible-core's order)."""
        values = self._variables(host)
        for name, text in compose.items():
            where = self.lines.at("compose", name)
            try:
                value = value_of(text, values, f"constructed: compose {name}", where,
                                 self.distrusted)
            except Failed as exc:
                self._skip(f"could not set {name} for host {host.name}: {exc}", where)
                continue
            self.inv.set_variable(host, name, value, where)
        merged = self._merged(host)  # composed variables are seen by what follows
        values = self._with_extra(host, merged)
        # ansible-core gives -e to compose and keyed_groups (its _compose), not to groups
        conditions = NativeRenderer(merged, _reveal(host)) if self.extra else values
        for raw_name, text in groups.items():
            name = safe_group_name(str(raw_name))
            where = self.lines.at("groups", raw_name)
            try:
                what = f"constructed: groups {raw_name}"
                result = condition_of(text, conditions, what, where,
                                      partial(self._warn, what, where))
                if not isinstance(result, bool):
                    raise Failed(f"the condition gave {result!r}, not a boolean")
            except Failed as exc:
                self._skip(f"could not add host {host.name} to group {name}: {exc}", where)
                continue
            if result:
                self.inv.add_group(name, self.where)
                self.inv.add_child(name, host.name, self.where)
        for n, entry in enumerate(keyed):
            self._keyed(host, entry, values, self.lines.at("keyed_groups", n))

    def _keyed(self, host: Host, entry: Mapping[str, Any], values: Renderer,
               where: Origin) -> None:
        """One keyed_groups entry for one host (ansible-core's rules for each kind of key)."""
        try:
            key = value_of(entry.get("key"), values, "constructed: keyed_groups key", where,
                           self.distrusted)
        except Failed as exc:
            self._skip(f"could not make a group for host {host.name} from "
                       f"{entry.get('key')!r}: {exc}", where)
            return
        default = entry.get("default_value")
        empty = key is None or key == ""
        if not key and not (empty and default is not None):
            if self.strict and key not in ([], {}):
                raise where.error(f"constructed: no key or key resulted empty for "
                                  f"{entry.get('key')!r} in host {host.name}")
            return
        prefix, sep = str(entry.get("prefix", "")), str(entry.get("separator", "_"))
        parent = entry.get("parent_group")
        if isinstance(parent, str) and is_template(parent):  # rendered per host, as Ansible does
            try:
                parent = values.render(parent)
            except TemplateProblem as exc:
                self._skip(f"could not make parent group {entry.get('parent_group')!r} for "
                           f"host {host.name}: {exc}", where)
                return
        if parent and not isinstance(parent, str):  # ansible-core's source fails on it
            raise where.error(f"constructed: parent_group for host {host.name} must be text, "
                              f"not {parent!r}")
        names: list[str] = []
        if empty:
            names.append(str(default))
        elif isinstance(key, str):
            names.append(key)
        elif isinstance(key, list):
            names += [str(default) if item in (None, "") and default is not None else str(item)
                      for item in key]
        elif isinstance(key, dict):
            for name, value in key.items():
                if value in (None, "") and default is not None:
                    names.append(f"{name}{sep}{default}")
                elif value in (None, "") and entry.get("trailing_separator") is False:
                    names.append(str(name))
                else:
                    names.append(f"{name}{sep}{value}")
        else:
            raise where.error(f"constructed: invalid group name format for host "
                              f"{host.name}, expected a string, a list of them or a "
                              f"mapping, got {type(key).__name__}")
        if prefix == "" and not self.leading:
            sep = ""
        for bare in names:
            group = self.inv.add_group(safe_group_name(f"{prefix}{sep}{bare}"), self.where)
            self.inv.add_child(group.name, host.name, self.where)
            if parent:
                above = self.inv.add_group(safe_group_name(parent), self.where)
                if group not in above.child_set:  # a new edge: depths below it may grow
                    self.inv.add_child(above.name, group.name, self.where)
                    self.inv.deepen(above)

    def _variables(self, host: Host) -> Renderer:
        """The host's variables as compose sees them, rendered as they are asked for."""
        return self._with_extra(host, self._merged(host))

    def _with_extra(self, host: Host, merged: dict[str, Any]) -> Renderer:
        """`merged` with -e over it (use_extra_vars), rendered as it is asked for."""
        if self.extra:
            merged = dict(merged)
            layer(merged, self.extra, self.inv.merge)
        return NativeRenderer(merged, _reveal(host))

    def _merged(self, host: Host) -> dict[str, Any]:
        """The host's variables as the plugin sees them, before -e."""
        merged: dict[str, Any] = {}
        merge = self.inv.merge  # hash_behaviour = merge: every layer merges mappings
        groups = sort_groups(host.groups())
        for group in groups:
            layer(merged, group.vars, merge)
        if self.files is not None:  # group_vars beside each source read so far, layered in
            files, bases = self.files  # the order ansible-core's Host lists its groups
            joined = host.groups_as_joined()
            for base in bases:
                for group in joined:
                    layer(merged, files.layer(base, "group_vars", group.name).vars, merge)
        layer(merged, host.vars, merge)
        merged.update(magic_vars(host.name, tuple(g.name for g in groups if g.name != "all"),
                                 None if host.implicit else host.source))
        if self.files is not None:  # then host_vars, as ansible-core layers them
            files, bases = self.files
            for base in bases:
                layer(merged, files.layer(base, "host_vars", host.name).vars, merge)
        return merged

    def _warn(self, what: str, where: Origin, message: str) -> None:
        """A warning about `what`, written at `where`."""
        self.inv.notes.warn(f"{what}: {message}", where)

    def _skip(self, message: str, where: Origin) -> None:
        """A failed expression: skipped (ansible-core's default), an error when strict."""
        if self.strict:
            raise where.error(f"constructed: {message}")


def _reveal(host: Host) -> Callable[[str, VaultValue], str]:
    """Decrypts a vaulted variable an expression reads (an error without its key)."""
    return lambda name, value: value.reveal(f"host {host.name!r}: variable {name}")


def _mapping(value: Any, option: str, where: Origin) -> dict[str, Any]:
    """`compose` or `groups`: a mapping (empty when not given)."""
    if not value:
        return {}
    if not isinstance(value, dict):
        raise where.error(f"constructed: {option} must be a mapping of names to expressions")
    return value

