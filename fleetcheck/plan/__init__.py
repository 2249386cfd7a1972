"""Planning: inventory hosts + policies -> flat, frozen hosts ready to check. Pure."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from fleetcheck.errors import ErrorKind, InputError
from fleetcheck.frozen import frozen, replace
from fleetcheck.hostindex import HostIndex
from fleetcheck.inventory import Inventory, InventoryHost
from fleetcheck.inventory.combine import layer
from fleetcheck.inventory.extravars import ExtraVars
from fleetcheck.inventory.reserved import warn_reserved
from fleetcheck.inventory.resolve import Overlay
from fleetcheck.plan.hostvars import HostVars
from fleetcheck.plan.variables import (
    BECOME_METHODS,
    BECOME_VARS,
    METHOD_VAR,
    SUPPORTED_CONNECTIONS,
    become_method,
    connection_type,
)
from fleetcheck.policy import Policy
from fleetcheck.transport.base import TRANSPORTS


@frozen
class Become:
    """Privilege escalation for the collection command (Ansible's become)."""

    method: str = "sudo"
    user: str = "root"
    password: str | None = field(default=None, repr=False)
    exe: tuple[str, ...] = ()  # ansible_become_exe, shell-split (default: the method's name)
    flags: tuple[str, ...] = ()  # ansible_become_flags, shell-split


@frozen
class HostDefaults:
    """What a host whose inventory says nothing gets (command line, ANSIBLE_*, ansible.cfg)."""

    become_user: str = "root"
    become_method: str = "sudo"
    become_exe: tuple[str, ...] = ()
    become_flags: tuple[str, ...] = ()
    become_password: str | None = field(default=None, repr=False)  # ANSIBLE_BECOME_PASS
    connection: str = "ssh"  # -c, ANSIBLE_TRANSPORT, [defaults] transport
    port: int | None = None  # ANSIBLE_REMOTE_PORT, [defaults] remote_port
    ssh_args: tuple[str, ...] = ()  # Ansible's ssh_args: first, so they win (OpenSSH's rule)
    ssh_common_args: tuple[str, ...] = ()  # unless the host has ansible_ssh_common_args
    ssh_extra_args: tuple[str, ...] = ()  # unless the host has ansible_ssh_extra_args


NO_DEFAULTS = HostDefaults()  # frozen, so one instance serves every call as a default

@frozen
class Refusal:
    """Why a planned host will not be contacted: an error kind and a message naming why."""

    kind: ErrorKind
    message: str


@frozen
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
    # How many of ssh_args are Ansible's ssh_args: ansible-core puts those before its own
    # `-o Port=`/`-o User=`, and the common and extra args after them (ssh's first wins).
    ssh_args_lead: int = 0
    become: Become | None = None
    shell_type: str | None = None
    os: str | None = None  # fleetcheck_os pins the OS family
    tool: str | None = None  # fleetcheck_tool pins the collector
    refused: Refusal | None = None  # why this host will not be contacted, if it will not
    connect_timeout: float | None = None  # ansible_ssh_timeout (None: the run's)
    # Connection values decrypted from vault: masked wherever a host prints them back.
    vault_values: tuple[str, ...] = field(default=(), repr=False)

    @property
    def policy_names(self) -> tuple[str, ...]:
        """Names of the policies that apply, in load order."""
        return tuple(p.name for p in self.policies)


def plan_host(host: InventoryHost, policies: Sequence[Policy], *, become: bool = False,
              user: str | None = None, selected: Mapping[str, frozenset[str]] | None = None,
              defaults: HostDefaults = NO_DEFAULTS,
              extra_vars: ExtraVars | None = None, merge: bool = False,
              applies: Applies | None = None) -> PlannedHost:
    """Turn one inventory host into a PlannedHost (connection settings and its policies:
    those `applies` finds for it when given, else those `selected` says select it).

    Precedence, as in ansible-core: extra vars > the host's variables > `defaults` (the
    command line, then ANSIBLE_*, then ansible.cfg). `become` (-b) and `user` (-u) are
    command-line values too: a host's ansible_become / ansible_user win over them. `merge`
    (hash_behaviour = merge): extra vars merge into the host's mappings.
    """
    if extra_vars:
        merged = dict(host.vars)
        layer(merged, extra_vars.values, merge)
        host = replace(host, vars=merged,
                       origins=Overlay(extra_vars.origins, host.origins))
    hv = HostVars(host)
    applicable = applies.to(host.name, policies) if applies is not None else tuple(
        p for p in policies
        if p.hosts is None or selected is None or host.name in selected.get(p.name, frozenset()))
    own = hv.text("ansible_connection")
    written = own or defaults.connection
    connection = connection_type(written)
    kind = TRANSPORTS.get(connection)
    # '' is set, unlike null: ansible-core then connects to no name at all and fails
    address_vars = _last_first(TRANSPORTS["ssh"].variables["host"])
    given = hv.text(*address_vars, empty=True)
    address = given or host.name
    if kind is None:  # named by the host's variable, or by configuration's `transport`
        return PlannedHost(host.name, address, host.groups, applicable, connection,
                           refused=Refusal(ErrorKind.UNSUPPORTED_CONNECTION, (
                               f"{'ansible_connection' if own else 'transport'}="
                               f"{written.strip()} is not supported (fleetcheck connects "
                               f"with {', '.join(SUPPORTED_CONNECTIONS)})")))
    if given == "" and connection != "local":  # the local connection needs no address
        named = hv.get(*address_vars, empty=True)
        return PlannedHost(host.name, address, host.groups, applicable, connection,
                           refused=Refusal(ErrorKind.INVENTORY, (
                               f"its address ({named[0] if named else 'ansible_host'}) is "
                               "empty: there is nothing to connect to (ansible-core fails "
                               "such a host too)")))
    becoming = hv.flag("ansible_become")
    become_spec = _become(hv, defaults) if (becoming if becoming is not None else become) \
        else None
    opts = kind.variables
    key_file = _option(hv, opts, "private_key_file")
    # a host's ansible_ssh_args replaces ssh_args (ansible.cfg, ANSIBLE_SSH_ARGS) for it,
    # as ansible-core's ssh plugin reads that option's variable over its ini and env
    lead = hv.args(*opts.get("ssh_args", ())) or defaults.ssh_args
    planned = PlannedHost(
        host.name, address, host.groups, applicable, connection,
        port=hv.port(*_last_first(opts.get("port", ()))) or defaults.port,
        user=_option(hv, opts, "user") or user,
        password=_option(hv, opts, "password"),
        private_key_file=os.path.expanduser(key_file) if key_file else None,
        ssh_args=(*lead,
                  *(hv.args(*opts.get("ssh_common_args", ())) or defaults.ssh_common_args),
                  *(hv.args(*opts.get("ssh_extra_args", ())) or defaults.ssh_extra_args)),
        ssh_args_lead=len(lead),
        become=become_spec,
        shell_type=hv.text("ansible_shell_type"),
        os=hv.text("fleetcheck_os"),
        tool=hv.text("fleetcheck_tool"),
        connect_timeout=hv.seconds(*_last_first(opts.get("timeout", ()))),
    )
    if become_spec is not None and become_spec.method not in BECOME_METHODS:
        planned = replace(planned, refused=Refusal(ErrorKind.UNSUPPORTED, (
            f"become method {become_spec.method!r} is not supported (fleetcheck becomes "
            f"with {', '.join(BECOME_METHODS)})")))
    if hv.revealed:
        planned = replace(planned, vault_values=tuple(dict.fromkeys(hv.revealed)))
    return planned


def _last_first(names: Sequence[str]) -> tuple[str, ...]:
    """Variable names in the order to look them up: ansible-core keeps the last one set."""
    return tuple(reversed(names))


def _option(hv: HostVars, options: Mapping[str, tuple[str, ...]], name: str) -> str | None:
    """A transport setting's value from the host's variables (the last set in Ansible's list)."""
    return hv.text(*_last_first(options.get(name, ())))


def _become(hv: HostVars, defaults: HostDefaults) -> Become:
    """The host's become settings: its variables (generic, then the method's own), else the
    defaults."""
    method = become_method(hv.text("ansible_become_method") or defaults.become_method)

    def names(setting: str) -> tuple[str, ...]:
        generic = BECOME_VARS[setting]
        own = (f"ansible_{method}_{METHOD_VAR[setting]}",) if method in BECOME_METHODS else ()
        return _last_first((*generic, *own))

    return Become(
        method=method,
        user=hv.text(*names("user")) or defaults.become_user,
        password=hv.text(*names("password")) or defaults.become_password,
        exe=_or(hv.words(*names("exe")), defaults.become_exe),
        flags=_or(hv.words(*names("flags")), defaults.become_flags),
    )


def _or(words: list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(words) if words is not None else default


def defaults_record(defaults: HostDefaults) -> dict[str, Any]:
    """`defaults` as JSON-able data, without the become password (secrets never travel)."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name in HostDefaults.__dataclass_fields__ if name != "become_password"
            for value in (getattr(defaults, name),)}


def defaults_from_record(record: Mapping[str, Any]) -> HostDefaults:
    """HostDefaults back from `defaults_record`'s data."""
    known = HostDefaults.__dataclass_fields__
    given: dict[str, Any] = {name: tuple(value) if isinstance(value, list) else value
                             for name, value in record.items() if name in known}
    return HostDefaults(**given)


def plan(inventory: Inventory, policies: Sequence[Policy], *, limit: str | None = None,
         become: bool = False, user: str | None = None,
         defaults: HostDefaults = NO_DEFAULTS,
         extra_vars: ExtraVars | None = None) -> list[PlannedHost]:
    """Hosts selected by `limit`, each with the policies whose `hosts` pattern selects it.

    Selecting no host at all is an InputError: a run that checks nothing has no verdict
    (ansible-playbook stops the same way).
    """
    hosts = inventory.select(limit)
    warn_reserved(hosts, inventory.notes)  # as a play works out each host's variables
    if not hosts:
        raise InputError(f"no hosts match the limit {limit!r}" if limit is not None
                         else "inventory defines no hosts")
    selected = {
        p.name: frozenset(h.name for h in _select_or_empty(inventory, p.hosts))
        for p in policies if p.hosts is not None
    }
    applies = Applies(policies, selected)
    return [plan_host(h, policies, become=become, user=user, selected=selected,
                      defaults=defaults, extra_vars=extra_vars, merge=inventory.hash_merge,
                      applies=applies)
            for h in hosts]


class Applies:
    """Which policies apply to each host, found by its name (`HostIndex`). Positions in
    load order, so one index serves every copy of the policies (a worker's, reviewed on
    each run's day)."""

    def __init__(self, policies: Sequence[Policy], selected: Mapping[str, frozenset[str]],
                 ) -> None:
        self._index = HostIndex(
            (i for i, p in enumerate(policies) if p.hosts is None),
            ((i, selected.get(p.name, frozenset())) for i, p in enumerate(policies)
             if p.hosts is not None))

    def to(self, host: str, policies: Sequence[Policy]) -> tuple[Policy, ...]:
        """The policies (of `policies`, in the order indexed) that apply to `host`."""
        return tuple(policies[i] for i in self._index.of(host))


def _select_or_empty(inventory: Inventory, pattern: str | None) -> list[InventoryHost]:
    """Hosts a policy's pattern selects (none when it selects nothing)."""
    try:
        return inventory.select(pattern, quiet=True)
    except InputError:
        return []  # a policy that selects no host is reported by `validate`, not fatal
