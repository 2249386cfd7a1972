"""Inventory: which hosts exist, their groups and variables. The boundary other stages use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class InventoryHost:
    """A host as the inventory defines it: merged variables and every group it belongs to."""

    name: str
    vars: Mapping[str, Any]
    groups: tuple[str, ...]  # sorted group names, `all` and `ungrouped` excluded


@dataclass(frozen=True, slots=True)
class Inventory:
    """Hosts in inventory order, plus the files read (for the audit trail)."""

    hosts: tuple[InventoryHost, ...]
    sources: tuple[str, ...] = ()
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # group -> host names

    def select(self, pattern: str | None) -> list[InventoryHost]:
        """Hosts matching an Ansible host pattern (all hosts for None), in inventory order."""
        from fleetcheck.inventory.patterns import select

        return select(self, pattern)


def localhost_inventory() -> Inventory:
    """The embedded default: this machine, reached through the local connection."""
    host = InventoryHost("localhost", {"ansible_connection": "local"}, ())
    return Inventory((host,), (), {})


def load(sources: Sequence[str], *, vault_password_file: str | None = None) -> Inventory:
    """Load one or more inventory sources; InputError (exit 2) for anything malformed."""
    from fleetcheck.inventory.loader import load_sources

    return load_sources(sources, vault_password_file=vault_password_file)
