"""Planning: inventory hosts + policies -> flat, frozen hosts ready to check. Pure."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.inventory import Inventory, InventoryHost
from fleetcheck.policy import Policy

SUPPORTED_CONNECTIONS = ("ssh", "paramiko", "local")


@dataclass(frozen=True, slots=True)
class Become:
    """Privilege escalation for the collection command (Ansible's become)."""

    method: str = "sudo"
    user: str = "root"
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PlannedHost:
    """Everything needed to check one host; secrets are kept out of repr and reports."""

    name: str
    address: str
    groups: tuple[str, ...]
    policies: tuple[Policy, ...]
    connection: str = "ssh"
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    private_key_file: str | None = None
    ssh_args: tuple[str, ...] = ()  # from ansible_ssh_common_args / _extra_args
    become: Become | None = None
    shell_type: str | None = None
    os: str | None = None  # fleetcheck_os pins the OS family
    tool: str | None = None  # fleetcheck_tool pins the collector
    unsupported: str | None = None  # why this host cannot be checked, if it cannot

    @property
    def policy_names(self) -> tuple[str, ...]:
        """Names of the policies that apply, in load order."""
        return tuple(p.name for p in self.policies)


def _opt_str(hvars: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = hvars.get(key)
        if value is not None and value != "":
            return str(value)
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def plan_host(host: InventoryHost, policies: Sequence[Policy], *, become: bool = False,
              user: str | None = None, selected: Mapping[str, frozenset[str]] | None = None,
              ) -> PlannedHost:
    """Turn one inventory host into a PlannedHost (connection settings and its policies)."""
    hv = host.vars
    connection = (_opt_str(hv, "ansible_connection") or "ssh").lower()
    unsupported = None
    if connection not in SUPPORTED_CONNECTIONS:
        unsupported = f"ansible_connection={connection} is not supported (use ssh or local)"
    port_text = _opt_str(hv, "ansible_port", "ansible_ssh_port")
    try:
        port = int(port_text) if port_text is not None else None
    except ValueError:
        raise InputError(f"host {host.name!r}: ansible_port {port_text!r} is not a number") \
            from None
    wants_become = become or _truthy(hv.get("ansible_become", False))
    become_spec = None
    if wants_become:
        become_spec = Become(
            method=_opt_str(hv, "ansible_become_method") or "sudo",
            user=_opt_str(hv, "ansible_become_user") or "root",
            password=_opt_str(hv, "ansible_become_password", "ansible_become_pass"),
        )
    ssh_args: list[str] = []
    for key in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        text = _opt_str(hv, key)
        if text:
            ssh_args.extend(shlex.split(text))
    applicable = tuple(p for p in policies
                       if p.hosts is None or selected is None
                       or host.name in selected.get(p.name, frozenset()))
    return PlannedHost(
        name=host.name,
        address=_opt_str(hv, "ansible_host", "ansible_ssh_host") or host.name,
        groups=host.groups,
        policies=applicable,
        connection="local" if connection == "local" else connection,
        port=port,
        user=_opt_str(hv, "ansible_user", "ansible_ssh_user") or user,
        password=_opt_str(hv, "ansible_password", "ansible_ssh_pass", "ansible_ssh_password"),
        private_key_file=_opt_str(hv, "ansible_ssh_private_key_file", "ansible_private_key_file"),
        ssh_args=tuple(ssh_args),
        become=become_spec,
        shell_type=_opt_str(hv, "ansible_shell_type"),
        os=_opt_str(hv, "fleetcheck_os"),
        tool=_opt_str(hv, "fleetcheck_tool"),
        unsupported=unsupported,
    )


def plan(inventory: Inventory, policies: Sequence[Policy], *, limit: str | None = None,
         become: bool = False, user: str | None = None) -> list[PlannedHost]:
    """Hosts selected by `limit`, each with the policies whose `hosts` pattern selects it."""
    hosts = inventory.select(limit)
    selected = {
        p.name: frozenset(h.name for h in _select_or_empty(inventory, p.hosts))
        for p in policies if p.hosts is not None
    }
    return [plan_host(h, policies, become=become, user=user, selected=selected) for h in hosts]


def _select_or_empty(inventory: Inventory, pattern: str | None) -> list[InventoryHost]:
    try:
        return inventory.select(pattern)
    except InputError:
        return []  # a policy that selects no host is reported by `validate`, not fatal
