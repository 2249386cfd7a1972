"""INI inventories, read line by line with ansible-core's rules.

Sections are `[group]`, `[group:children]` and `[group:vars]`; lines before the
first section are ungrouped hosts. A host line is shell-split: a host entry
(ranges and `:port` allowed) then `key=value` pairs. Values are Python literals
where they read as one (`8080`, `True`, `[1, 2]`, `'quoted'`), else text.
A `[g:vars]` or `[p:children]` naming a group never declared in the file is an error.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.inventory import hostpattern
from fleetcheck.inventory.data import InventoryData
from fleetcheck.inventory.values import Origin, UnsafeText
from fleetcheck.jsontext import replaced
from fleetcheck.textfile import utf8_lines

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
_KINDS = ("hosts", "children", "vars")


def split_lines(raw: bytes, path: str) -> list[str]:
    """The file's lines as text; non-UTF-8 bytes are tolerated in comment lines only."""
    return utf8_lines(raw, path, lambda line: line.lstrip()[:1] in (b"#", b";"))


def typed_value(text: str) -> Any:
    """An INI value as Ansible types it: a Python literal when it is one, else the text."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    except (TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"cannot read value {text!r}: {exc}") from None
    return _coerce(value)


def _coerce(value: Any) -> Any:
    """A literal_eval result as an inventory value (tuples/sets as lists, odd types as text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | set):
        return [_coerce(v) for v in value]
    if isinstance(value, dict):
        return {k: _coerce(v) for k, v in value.items()}
    if value is ...:
        return "..."
    if isinstance(value, complex):
        return str(value)
    if isinstance(value, bytes):  # ansible-core keeps a bytes literal as untrusted text
        return UnsafeText(value.decode("utf-8", "surrogateescape"))
    return value


class _IniReader:
    def __init__(self, inv: InventoryData, path: str) -> None:
        self.inv = inv
        self.path = path
        self.pending: dict[str, dict[str, Any]] = {}

    def read(self, lines: list[str]) -> None:
        """Read every line into the inventory; undeclared groups are reported at the end."""
        group, kind = "ungrouped", "hosts"
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            at = Origin(self.path, number)
            m = _SECTION.match(line)
            if m:
                group, kind = m.group(1), m.group(2) or "hosts"
                self._section(group, kind, at, line)
                continue
            if line.startswith("[") and line.endswith("]"):
                raise at.error(f"invalid section header {line!r} (no spaces allowed; "
                               "use [group], [group:children] or [group:vars])")
            if kind == "hosts":
                self._hosts(line, group, at)
            elif kind == "vars":
                key, sep, value = line.partition("=")
                if not sep:
                    raise at.error(f"expected key=value in [{group}:vars], got {line!r}")
                self._set(self.inv.groups[group], key.strip(), value.strip(), at)
            else:
                m = _GROUP_NAME.match(line)
                if not m:
                    raise at.error(f"expected a group name in [{group}:children], got {line!r}")
                child = m.group(1)
                if child in self.inv.groups:
                    self.inv.add_child(group, child, at)
                elif child in self.pending:
                    self.pending[child]["parents"].append(group)
                else:
                    self.pending[child] = {"at": at, "kind": "children", "parents": [group]}
        for name, decl in self.pending.items():
            if decl["kind"] == "vars":
                raise decl["at"].error(f"section [{name}:vars] is for group {name!r}, "
                                       "which is not defined")
            raise decl["at"].error(f"section [{decl['parents'][-1]}:children] names group "
                                   f"{name!r}, which is not defined")

    def _section(self, group: str, kind: str, at: Origin, line: str) -> None:
        """Switch to a section; declare its group (a lone [g:vars] waits for a declaration)."""
        if kind not in _KINDS:
            raise at.error(f"section {line!r} has unknown type {kind!r} "
                           "(use hosts, children or vars)")
        if group not in self.inv.groups:
            # [g:vars] alone does not declare g; [g] or [g:children] must, somewhere in the file.
            if kind == "vars" and group not in self.pending:
                self.pending[group] = {"at": at, "kind": "vars", "parents": []}
            self.inv.add_group(group, at)
        decl = self.pending.get(group)
        if decl is not None and kind != "vars":
            if decl["kind"] == "children":
                self._adopt(group)
            else:
                del self.pending[group]

    def _adopt(self, group: str) -> None:
        """Attach a newly declared group to the parents that named it before it existed."""
        for parent in self.pending[group]["parents"]:
            self.inv.add_child(parent, group, self.pending[group]["at"])
            if parent in self.pending and self.pending[parent]["kind"] == "children":
                self._adopt(parent)
        del self.pending[group]

    def _hosts(self, line: str, group: str, at: Origin) -> None:
        """Add the hosts of one host line, with its port and variables."""
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:
            raise at.error(f"cannot split host line {line!r}: {exc}") from None
        if not tokens:
            raise at.error(f"no host on line {line!r}")
        entry = tokens[0]
        if entry.strip().endswith(":") and hostpattern.split_entry(entry)[1] is None:
            raise at.error(f"host {entry!r} ends in ':' (a port number must follow it)")
        names, port = self.inv.expand_entry(entry, at)
        if any(n.strip() == "---" for n in names):
            raise at.error("host '---' looks like the start of a YAML document, not INI")
        assignments: dict[str, Any] = {}
        for token in tokens[1:]:
            key, sep, value = token.partition("=")
            if not sep:
                raise at.error(f"expected key=value after host {entry!r}, got {token!r}")
            assignments[key] = self._typed(key, value, at)
        for name in names:
            host = self.inv.add_host(name, group, port, at)
            for key, value in assignments.items():
                self.inv.set_variable(host, key, value, at)

    def _set(self, entity: Any, key: str, text: str, at: Origin) -> None:
        """Set an inline variable from its INI text."""
        self.inv.set_variable(entity, key, self._typed(key, text, at), at)

    def _typed(self, key: str, text: str, at: Origin) -> Any:
        """The typed value of `key=text`; located error for bad literals (an empty name is
        accepted with the invalid-name warning, as ansible-core accepts it)."""
        try:
            value = typed_value(text)
        except ValueError as exc:
            raise at.error(str(exc)) from None
        shown = replaced(value, "?")  # a lone surrogate can be written out or sent nowhere
        if shown != value:
            self.inv.notes.warn(f'variable {key!r}: non UTF-8 encoded data replaced with "?", '
                                "as Ansible displays it", at)
        return shown


def parse(inv: InventoryData, lines: list[str], path: str) -> None:
    """Add an INI inventory's groups, hosts and variables to `inv`."""
    try:
        _IniReader(inv, path).read(lines)
    except InputError as exc:
        if exc.line == 1 and lines and lines[0].startswith("\ufeff"):  # ansible-core: text
            exc.message += (" (the file starts with a UTF-8 byte order mark, which Ansible "
                            "reads as part of the first line: save it without one)")
        raise
