"""Inventory scripts and JSON in the `ansible-inventory --list` shape.

A script is run as `SCRIPT --list` and prints `{group: {hosts: [...], children:
[...], vars: {...}}, "_meta": {"hostvars": {host: {...}}}}`; without `_meta`
it is asked `SCRIPT --host H` for each host. Host names here are literal (no
ranges, no ports). A saved `ansible-inventory --list` file is read the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fleetcheck.bounded import MAX_INVENTORY_BYTES, TooLarge, run_checked, too_large
from fleetcheck.errors import InputError
from fleetcheck.inventory.data import InventoryData
from fleetcheck.inventory.datafile import no_lone_surrogates, where
from fleetcheck.inventory.notes import Notes
from fleetcheck.inventory.values import Origin, UnsafeText, VaultValue
from fleetcheck.inventory.vault import Keyring
from fleetcheck.textfile import where_not_utf8

SCRIPT_TIMEOUT = 300.0
_GROUP_KEYS = ("hosts", "vars", "children")


class NotRunnable(Exception):
    """The file has the execute bit but cannot be executed (not a script)."""


def run(path: str, args: list[str]) -> str:
    """Run an inventory script; its stdout, or InputError when it fails or prints too much."""
    what = f"inventory script '{' '.join(args)}'"
    try:
        proc = run_checked([path, *args], what, path, timeout=SCRIPT_TIMEOUT,
                           max_stdout=MAX_INVENTORY_BYTES)
    except OSError as exc:
        raise NotRunnable(str(exc)) from None
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip().splitlines()
        tail = f": {stderr[-1]}" if stderr else ""
        raise InputError(f"{what} exited {proc.returncode}{tail}", path)
    try:
        return proc.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The place is in the output, not in the script: it goes in the message.
        line, column = where_not_utf8(proc.stdout, exc.start)
        raise InputError(f"{what} printed non-UTF-8 output (byte 0x{proc.stdout[exc.start]:02X} "
                         f"at line {line}, column {column} of its output)", path) from None


def decode(text: str, what: Origin, keyring: Keyring | None, notes: Notes) -> Any:
    """Parse script output; malformed JSON is an error, a duplicate key a warning (last wins)."""
    def pairs(items: list[tuple[str, Any]]) -> Any:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                notes.warn(f"found duplicate key {key!r} in JSON output, using last defined "
                           "value only", what)
            obj[key] = value
        if "__ansible_unsafe" in obj and isinstance(obj["__ansible_unsafe"], str):
            return UnsafeText(obj["__ansible_unsafe"])
        if "__ansible_vault" in obj and isinstance(obj["__ansible_vault"], str):
            return VaultValue(obj["__ansible_vault"], what, keyring)
        return obj

    try:
        return no_lone_surrogates(json.loads(text, object_pairs_hook=pairs), text, what,
                                  lines=False)
    except json.JSONDecodeError as exc:
        raise what.error(f"output is not JSON: {exc.msg} at line {exc.lineno} "
                         f"column {exc.colno}") from None
    except RecursionError:
        raise what.error("output is nested too deeply") from None
    except ValueError:  # json lets an integer too long to convert through as this
        raise what.error("output holds an integer too long to read") from None


def is_list_shape(data: Any) -> bool:
    """True for a saved `ansible-inventory --list` document (it always has `_meta`)."""
    return isinstance(data, Mapping) and "_meta" in data


def parse_list(inv: InventoryData, data: Any, at: Origin,
               host_vars: Callable[[str], Any] | None = None) -> None:
    """Add a --list document to `inv`; `host_vars(host)` is asked when `_meta` is missing."""
    if not isinstance(data, Mapping):
        raise at.error(f"inventory JSON must be an object, not {type(data).__name__}")
    meta = data.get("_meta")
    hostvars: Mapping[str, Any] | None = None
    if meta is not None:
        if not isinstance(meta, Mapping):
            raise where(data, "_meta", at).error("'_meta' must be an object")
        profile = meta.get("profile", "inventory_legacy")
        if not isinstance(profile, str) or not profile.startswith("inventory_"):
            raise where(meta, "profile", at).error(f"unsupported _meta.profile {profile!r}")
        hostvars = meta.get("hostvars")
        if not isinstance(hostvars, Mapping):
            raise where(meta, "hostvars", at).error("'_meta.hostvars' must be an object")
    else:
        inv.notes.warn("inventory scripts should always provide '_meta.hostvars' (Ansible "
                       "deprecates their absence); running the script with '--host' for "
                       "each host", at)
    hosts: dict[str, None] = {}
    for name, body in data.items():
        if name != "_meta":
            _group(inv, name, body, where(data, name, at), hosts)
    for name in hosts:
        if hostvars is not None:
            got = hostvars.get(name, {})
        elif host_vars is not None:
            got = host_vars(name)
        else:
            got = {}
        if not isinstance(got, Mapping):
            raise where(hostvars, name, at).error(f"variables of host {name!r} must be an object")
        host = inv.add_host(name, None, None, at)
        for key, value in got.items():
            inv.set_variable(host, key, value, where(got, key, at))


def _group(inv: InventoryData, name: str, body: Any, at: Origin, hosts: dict[str, None]) -> None:
    """Add one group of a --list document, read as ansible-core's script plugin reads it."""
    group = inv.add_group(name, at).name
    if isinstance(body, list):
        body = {"hosts": body}  # the old script form: a group is its list of hosts
        inv.notes.warn(f"group {group!r} was converted to 'dict' from 'list' (Ansible "
                       "deprecates a group written as a list of hosts)", at)
    elif not isinstance(body, Mapping):
        raise at.error(f"group {name!r} must be an object or a list of hosts")
    elif not any(k in body for k in _GROUP_KEYS):
        inv.notes.warn(f"treating malformed group {group!r} as the sole host of that group "
                       "(it has none of hosts, children, vars; Ansible deprecates this); "
                       "variables provided in this manner cannot be templated", at)
        body = {"hosts": [group], "vars": _untemplatable(body)}
    else:
        for key in body:
            if key not in _GROUP_KEYS:
                inv.notes.warn(f"skipping unexpected key ({key}) in group ({group}), only "
                               '"vars", "children" and "hosts" are valid', where(body, key, at))
    if "hosts" in body:
        members = body["hosts"]
        if not isinstance(members, list):
            raise where(body, "hosts", at).error(f"'hosts' of group {name!r} must be a list")
        for host in members:
            inv.add_host(host, group, None, at)
            if isinstance(host, str):
                hosts[host] = None
    if "vars" in body:
        variables = body["vars"]
        if not isinstance(variables, Mapping):
            raise where(body, "vars", at).error(f"'vars' of group {name!r} must be an object")
        for key, value in variables.items():
            inv.set_variable(inv.groups[group], key, value, where(variables, key, at))
    if "children" in body:
        children = body["children"]
        if not isinstance(children, list):
            raise where(body, "children", at).error(
                f"'children' of group {name!r} must be a list")
        for child in children:
            inv.add_group(child, at)
            inv.add_child(group, child, at)


def _untemplatable(value: Any) -> Any:
    """A value whose text Ansible must not template (every string made UnsafeText)."""
    if isinstance(value, str):
        return UnsafeText(value)
    if isinstance(value, Mapping):
        return {k: _untemplatable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untemplatable(v) for v in value]
    return value


def parse_script(inv: InventoryData, path: str, keyring: Keyring | None) -> None:
    """Run `path --list` (and `--host H` when needed) and add what it prints to `inv`;
    what it prints in all is bounded as one inventory file is (MAX_INVENTORY_BYTES)."""
    out = Origin(f"{path} --list")
    listed = run(path, ["--list"])
    printed = [len(listed.encode())]
    data = decode(listed, out, keyring, inv.notes)

    def host_vars(host: str) -> Any:
        text = run(path, ["--host", host])
        # A script printing its whole inventory for each --host made every host's
        # variables a copy of it: memory grew with the square of the hosts.
        printed[0] += len(text.encode())
        if printed[0] > MAX_INVENTORY_BYTES:
            raise TooLarge(too_large("what inventory script '--list' and its '--host' runs "
                                     f"printed together (at host {host!r})",
                                     MAX_INVENTORY_BYTES), path)
        return decode(text, Origin(f"{path} --host {host}"), keyring, inv.notes) \
            if text.strip() else {}

    parse_list(inv, data, out, host_vars)
