"""Inventory: which hosts exist, their groups and variables. The boundary other stages use.

`load(sources)` reads Ansible inventories (INI, YAML, JSON, TOML, scripts,
directories, host lists, group_vars/host_vars) into an `Inventory` that agrees
with `ansible-inventory --list`; `Inventory.select(pattern)` evaluates Ansible
host patterns. See docs/inventory.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any, cast

from fleetcheck.frozen import frozen
from fleetcheck.inventory.notes import InventoryWarning, Notes

if TYPE_CHECKING:
    from fleetcheck.inventory.patterns import Index
    from fleetcheck.inventory.resolve import Exporter
    from fleetcheck.inventory.vault import Keyring


@frozen
class InventoryHost:
    """A host as the inventory defines it: merged variables and every group it belongs to."""

    name: str
    vars: Mapping[str, Any] = field(repr=False)
    groups: tuple[str, ...]  # sorted group names, `all` and `ungrouped` excluded
    origins: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    implicit: bool = False  # Ansible's implicit localhost, not written in the inventory
    ungrouped: bool = False  # in `ungrouped` (Ansible's group_names names it)
    source: str | None = None  # the -i source that first named it (inventory_file)

    @property
    def group_names(self) -> list[str]:
        """Ansible's `group_names`: every group but `all`, `ungrouped` included, sorted."""
        return sorted((*self.groups, "ungrouped") if self.ungrouped else self.groups)


@frozen
class InventoryGroup:
    """A group as written: its direct hosts and child groups in order, inline vars, rank."""

    name: str
    hosts: tuple[str, ...]
    children: tuple[str, ...]
    vars: Mapping[str, Any] = field(default_factory=dict, repr=False)
    priority: int = 1
    depth: int = 0


@frozen
class Inventory:
    """Hosts in inventory order, group membership, and the files read (for the audit trail)."""

    hosts: tuple[InventoryHost, ...]
    sources: tuple[str, ...] = ()
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # group -> host names
    tree: Mapping[str, InventoryGroup] = field(default_factory=dict)  # groups as written
    implicit_host: Callable[[str], InventoryHost] | None = field(
        default=None, repr=False, compare=False)
    exporter: Exporter | None = field(default=None, repr=False, compare=False)
    # Where ansible-core warns and goes on: reading it, and evaluating --limit patterns.
    notes: Notes = field(default_factory=Notes, repr=False, compare=False)
    hash_merge: bool = False  # hash_behaviour = merge: -e merges into mappings too
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def warnings(self) -> tuple[InventoryWarning, ...]:
        """Every warning so far, in the order met (reading first, then patterns)."""
        return tuple(self.notes.items)

    def select(self, pattern: str | None, *, cwd: str | None = None,
               quiet: bool = False) -> list[InventoryHost]:
        """Hosts matching an Ansible host pattern (all for None), in Ansible's order.

        A term matching nothing is ignored with Ansible's warning (an error when the
        inventory was loaded strict); quiet (for policy and waiver patterns, shared
        between inventories) ignores it without a word, as an Ansible play does.
        """
        from fleetcheck.inventory.patterns import select

        return select(self, pattern, cwd=cwd, quiet=quiet)

    def pattern_index(self) -> Index:
        """The lookup structures patterns use (built once)."""
        if "index" not in self._cache:
            from fleetcheck.inventory.patterns import build_index

            self._cache["index"] = build_index(self)
        return cast("Index", self._cache["index"])

    def host(self, name: str) -> InventoryHost | None:
        """The host called `name`, if the inventory defines it."""
        return self.pattern_index().by_name.get(name)


def localhost_inventory() -> Inventory:
    """The embedded default: this machine, reached through the local connection."""
    from fleetcheck.inventory.loader import embedded_localhost

    return embedded_localhost()


def load(sources: Sequence[str], *, vault_password_file: str | Sequence[str] | None = None,
         strict: bool = False, extra_vars: Mapping[str, Any] | None = None,
         use_extra_vars: bool = False, skip: Callable[[str], bool] | None = None,
         keyring: Keyring | None = None, play_dirs: Sequence[str] = (),
         merge: bool = False) -> Inventory:
    """Load one or more inventory sources; InputError (exit 2) for anything malformed.

    `keyring`, when given, holds the vault passwords already read (and the password files
    are not read again). `play_dirs`: where play-adjacent group_vars/host_vars are read too,
    over the inventory's (see `load_sources`). `merge`: ansible.cfg's `hash_behaviour = merge`.

    What ansible-core accepts with a warning is read as it reads it, the warning kept in
    `Inventory.warnings`; strict (--strict-inventory), such a warning is an InputError.
    """
    from fleetcheck.inventory.loader import load_sources
    from fleetcheck.inventory.vault import Keyring

    files = [vault_password_file] if isinstance(vault_password_file, str) \
        else list(vault_password_file or ())
    if keyring is None:
        keyring = Keyring.from_files(files)
    return load_sources(sources, keyring=keyring, strict=strict,
                        extra_vars=extra_vars, use_extra_vars=use_extra_vars, skip=skip,
                        play_dirs=play_dirs, merge=merge)
