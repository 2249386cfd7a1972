"""The inventory variables planning reads, and Ansible's names for connections and
become methods folded to the ones fleetcheck serves."""

from __future__ import annotations

from fleetcheck.transport.base import TRANSPORTS

SUPPORTED_CONNECTIONS = tuple(TRANSPORTS)
_CONNECTION_ALIASES = {
    "smart": "ssh", "ansible.builtin.ssh": "ssh", "paramiko_ssh": "paramiko",
    "ansible.builtin.paramiko_ssh": "paramiko", "ansible.builtin.local": "local",
}
# The become methods collect/become.py serves (a test keeps them equal to its METHODS).
BECOME_METHODS = ("sudo", "su", "doas")
_METHOD_ALIASES = {"ansible.builtin.sudo": "sudo", "ansible.builtin.su": "su",
                   "community.general.doas": "doas"}
# A become setting's variables in ansible-core's order (the last one set wins): the generic
# name, then the method's own (ansible_sudo_user, ansible_su_pass, ansible_doas_exe, ...).
BECOME_VARS = {"user": ("ansible_become_user",), "exe": ("ansible_become_exe",),
               "flags": ("ansible_become_flags",),
               "password": ("ansible_become_password", "ansible_become_pass")}
METHOD_VAR = {"user": "user", "exe": "exe", "flags": "flags", "password": "pass"}

# Every inventory variable plan_host reads (docs/inventory.md documents each one): what the
# transports read, and what collection reads whatever the transport.
HONOURED_VARIABLES = tuple(dict.fromkeys((
    "ansible_connection", *(v for kind in TRANSPORTS.values() for v in kind.host_vars),
    "ansible_shell_type", "ansible_become", "ansible_become_method",
    *(v for names in BECOME_VARS.values() for v in names),
    *(f"ansible_{m}_{METHOD_VAR[k]}" for m in BECOME_METHODS for k in BECOME_VARS),
    "fleetcheck_os", "fleetcheck_tool",
)))
SECRET_VARIABLES = frozenset((
    *(v for kind in TRANSPORTS.values() for v in kind.variables.get("password", ())),
    *BECOME_VARS["password"], *(f"ansible_{m}_pass" for m in BECOME_METHODS)))


def connection_type(value: str | None) -> str:
    """The connection plugin a host asks for, with Ansible's aliases folded (default ssh)."""
    name = (value or "ssh").strip().lower()
    return _CONNECTION_ALIASES.get(name, name)


def become_method(value: str) -> str:
    """A become method's name with Ansible's fully qualified names folded."""
    name = value.strip()
    return _METHOD_ALIASES.get(name, name)
