"""What `fleetcheck inventory` prints: ansible-inventory's --list, --host and --graph output.

The JSON is ansible-inventory's: keys sorted, four-space indent, UTF-8 text,
vault values as `{"__ansible_vault": ciphertext}`, and, inside `_meta.hostvars`
and group `vars`, text Ansible must not template as `{"__ansible_unsafe": text}`.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator, Mapping
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.inventory import Inventory, InventoryHost
from fleetcheck.inventory.combine import layer
from fleetcheck.inventory.patterns import restrict
from fleetcheck.inventory.reserved import warn_reserved
from fleetcheck.inventory.resolve import INTERNAL_VARS
from fleetcheck.inventory.values import UnsafeText, VaultValue

PROFILE = "inventory_legacy"


def _key(key: Any) -> str:
    """A mapping key as ansible-inventory writes non-text keys (json spelling)."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, int | float):
        return json.dumps(key)
    return str(key)


def _marks_unsafe(path: tuple[Any, ...]) -> bool:
    """Where ansible-inventory spells untemplatable text as __ansible_unsafe (by JSON path)."""
    if len(path) >= 4 and path[0] == "_meta" and path[1] == "hostvars":
        return True
    return len(path) >= 3 and path[1] == "vars"


def to_json_value(value: Any, path: tuple[Any, ...] = ()) -> Any:
    """A JSON-ready copy of an inventory value, spelled as ansible-inventory spells it."""
    if isinstance(value, VaultValue):
        return {"__ansible_vault": value.ciphertext}
    if isinstance(value, UnsafeText):
        return {"__ansible_unsafe": str(value)} if _marks_unsafe(path) else str(value)
    if isinstance(value, Mapping):
        return {_key(k): to_json_value(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json_value(v, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def dumps(document: Any) -> str:
    """ansible-inventory's JSON formatting (a trailing newline, as it prints)."""
    return json.dumps(document, sort_keys=True, indent=4, ensure_ascii=False) + "\n"


def with_extra_vars(values: Mapping[str, Any], extra_vars: Mapping[str, Any] | None,
                    merge: bool = False) -> Mapping[str, Any]:
    """A host's variables as ansible-inventory shows them with -e: the extra variables over
    them (merged into mappings with hash_behaviour = merge), Ansible's own names
    (`inventory_hostname`, ...) left out as always."""
    if not extra_vars:
        return values
    out = dict(values)
    layer(out, {k: v for k, v in extra_vars.items() if k not in INTERNAL_VARS}, merge)
    return out


def list_document(inv: Inventory, *, limit: str | None = None, export: bool = False,
                  cwd: str | None = None, extra_vars: Mapping[str, Any] | None = None
                  ) -> dict[str, Any]:
    """The `ansible-inventory --list` document (hosts outside `limit` left out); -e
    `extra_vars` are in every host's variables, but not in the --export view."""
    hosts = restrict(inv, limit, cwd=cwd)
    available = {h.name for h in hosts}
    out: dict[str, Any] = {}

    def body_of(name: str) -> None:
        node = inv.tree[name]
        body: dict[str, Any] = {}
        if name != "all":
            members = [h for h in node.hosts if h in available]
            if members:
                body["hosts"] = members
        if node.children:
            body["children"] = list(node.children)
        if export and inv.exporter is not None:
            group_vars = inv.exporter.group_vars(name)
            if group_vars:
                body["vars"] = group_vars
        if body:
            out[name] = body

    for name, _depth, entering in _depth_first(inv, "all", once=True):
        if not entering:  # each group after its children
            body_of(name)
    hostvars: dict[str, Any] = {}
    for host in hosts:
        own = inv.exporter.host_vars(host.name) if export and inv.exporter \
            else with_extra_vars(host.vars, extra_vars, inv.hash_merge)
        if own:
            hostvars[host.name] = own
    out["_meta"] = {"hostvars": hostvars, "profile": PROFILE}
    if not export:
        warn_reserved(hosts, inv.notes)
    return to_json_value(out)  # type: ignore[no-any-return]


def host_document(inv: Inventory, pattern: str, *, cwd: str | None = None,
                  extra_vars: Mapping[str, Any] | None = None) -> Any:
    """The `ansible-inventory --host H` document: one host's variables (-e over them)."""
    hosts = inv.select(pattern, cwd=cwd)
    if len(hosts) != 1:
        raise InputError(f"--host needs a pattern matching exactly one host; {pattern!r} "
                         f"matches {len(hosts)}")
    warn_reserved(hosts, inv.notes)
    return to_json_value(with_extra_vars(hosts[0].vars, extra_vars, inv.hash_merge))


def graph(inv: Inventory, start: str = "all", *, show_vars: bool = False,
          extra_vars: Mapping[str, Any] | None = None) -> str:
    """The `ansible-inventory --graph` tree from group `start` (with --vars, a host's
    variables have -e over them; a group's are its own)."""
    if start not in inv.tree:
        raise InputError(f"--graph needs a group name; {start!r} is not a group")
    lines: list[str] = []

    def name_at(text: str, depth: int) -> str:
        return "  |" * depth + "--" + text if depth else text

    def var_lines(values: Mapping[str, Any], depth: int) -> None:
        try:
            items = sorted(values.items(), key=lambda kv: kv[0])
        except TypeError:  # keys of several types (`1:` beside `b:`): Ansible crashes here
            items = sorted(values.items(), key=lambda kv: str(kv[0]))
        for key, value in items:
            lines.append(name_at(f"{{{key} = {_shown(value)}}}", depth))

    def closing(name: str, depth: int) -> None:  # what follows a group's child groups
        if name != "all":
            for host in inv.tree[name].hosts:
                lines.append(name_at(host, depth + 1))
                if show_vars:
                    found = inv.host(host)
                    var_lines(with_extra_vars(found.vars if found else {}, extra_vars,
                                                    inv.hash_merge),
                              depth + 2)
        if show_vars and inv.exporter is not None:
            var_lines(inv.exporter.group_vars(name), depth + 1)

    for name, depth, entering in _depth_first(inv, start, once=False):
        if entering:
            lines.append(name_at(f"@{name}:", depth))
        else:
            closing(name, depth)
    return "\n".join(lines) + "\n"


def _depth_first(inv: Inventory, start: str, *, once: bool,
                 ) -> Iterator[tuple[str, int, bool]]:
    """Group `start` and the groups under it, depth first in children order, as (name,
    depth, True) on the way in and (name, depth, False) after its children; with `once`,
    a group met again under another parent is not walked again. A stack of our own: a
    chain of children a thousand groups deep is an inventory, not a RecursionError."""
    seen: set[str] = set()
    yield start, 0, True
    stack: list[tuple[str, int, Iterator[str]]] = [(start, 0, iter(inv.tree[start].children))]
    while stack:
        name, depth, children = stack[-1]
        child = next((c for c in children if not (once and c in seen)), None)
        if child is None:
            stack.pop()
            yield name, depth, False
        else:
            seen.add(child)
            yield child, depth + 1, True
            stack.append((child, depth + 1, iter(inv.tree[child].children)))


def _shown(value: Any) -> str:
    """A variable value as `--graph --vars` prints it (Python's str)."""
    if isinstance(value, VaultValue):
        return value.reveal() if value.keyring and value.keyring.secrets else str(value)
    return str(value)


def list_hosts(hosts: list[InventoryHost]) -> str:
    """Host names, one a line."""
    return "".join(f"{h.name}\n" for h in hosts)
