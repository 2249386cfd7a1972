"""`group_vars/` and `host_vars/` beside each inventory source, found as Ansible finds them.

For an entity `name` the first of `name`, `name.yml`, `name.yaml`, `name.json`
that exists is used; a directory is read whole (sorted, recursively, skipping
hidden and `~` backup files and files with other extensions). Empty files add
nothing; anything but a mapping is an error. A `group_vars` that is no directory
is skipped with Ansible's warning; keys that are not text are kept, as Ansible keeps
them (no variable fleetcheck reads can have such a name).
"""

from __future__ import annotations

import os
from dataclasses import field
from typing import Any

from fleetcheck.frozen import frozen
from fleetcheck.inventory.combine import layer
from fleetcheck.inventory.datafile import LocDict, kind_name, load_file, mark_of
from fleetcheck.inventory.hostpattern import is_host_list
from fleetcheck.inventory.notes import Notes
from fleetcheck.inventory.values import Origin, check_depth
from fleetcheck.inventory.vault import Keyring

EXTENSIONS = (".yml", ".yaml", ".json")


@frozen
class VarsLayer:
    """The merged variables of one entity from one `*_vars/` directory, with their origins."""

    vars: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    files: tuple[str, ...] = ()


EMPTY = VarsLayer()


class VarsFiles:
    """Finds and reads vars files once each, however many hosts share them."""

    def __init__(self, keyring: Keyring | None, notes: Notes | None = None, *,
                 merge: bool = False) -> None:
        self.keyring = keyring
        self.notes = notes if notes is not None else Notes()
        self.merge = merge  # hash_behaviour = merge: a directory's files merge mappings
        self._listing: dict[str, frozenset[str] | None] = {}
        self._layers: dict[tuple[str, str, str], VarsLayer] = {}
        self.read: list[str] = []  # every file read, in order, for the audit trail

    def layer(self, base: str, kind: str, name: str) -> VarsLayer:
        """Variables of group or host `name` from `base/kind/` (kind: group_vars or host_vars)."""
        key = (base, kind, name)
        found = self._layers.get(key)
        if found is None:
            found = self._layers[key] = self._load(base, kind, name)
        return found

    def _entries(self, folder: str) -> frozenset[str] | None:
        """The names in a vars directory (None when it does not exist)."""
        if folder not in self._listing:
            if os.path.isdir(folder):
                self._listing[folder] = frozenset(os.listdir(folder))
            elif os.path.exists(folder):
                self.notes.warn(f"found {os.path.basename(folder)} that is not a directory, "
                                "skipping it", Origin(folder))
                self._listing[folder] = None
            else:
                self._listing[folder] = None
        return self._listing[folder]

    def _load(self, base: str, kind: str, name: str) -> VarsLayer:
        """The merged layer of the first file or directory found for `name`."""
        if name.startswith(os.sep):
            return EMPTY  # Ansible skips entity names that look like absolute paths
        folder = os.path.join(base, kind)
        entries = self._entries(folder)
        if entries is None:
            return EMPTY
        candidates = [name + ext for ext in ("", *EXTENSIONS)]
        simple = os.sep not in name
        for candidate in candidates:
            path = os.path.join(folder, candidate)
            if (candidate in entries) if simple else os.path.exists(path):
                files = _walk(path) if os.path.isdir(path) else [path]
                return self._merge(files)
        return EMPTY

    def _merge(self, files: list[str]) -> VarsLayer:
        """Variables of `files` merged in order, each remembering where it was set."""
        merged: dict[str, Any] = {}
        origins: dict[str, Origin] = {}
        for path in files:
            self.read.append(path)
            data = load_file(path, self.keyring, self.notes)
            if not data:
                continue
            if not isinstance(data, dict):
                raise mark_of(data, Origin(path, 1)).error(
                    f"a vars file holds a mapping of variables, not a {kind_name(data)}")
            for key, value in data.items():
                origins[key] = data.where(key) if isinstance(data, LocDict) else Origin(path)
                check_depth(key, value, origins[key])
            layer(merged, data, self.merge)
        return VarsLayer(merged, origins, tuple(files))


def _walk(folder: str) -> list[str]:
    """Vars files in a directory, sorted, recursively (Ansible's selection rules)."""
    out: list[str] = []
    for entry in sorted(os.listdir(folder)):
        if entry.startswith(".") or entry.endswith("~"):
            continue
        path = os.path.join(folder, entry)
        ext = os.path.splitext(entry)[1]
        if os.path.isdir(path):
            if not ext:
                out.extend(_walk(path))
        elif os.path.isfile(path) and (not ext or ext in EXTENSIONS):
            out.append(path)
    return out


def vars_base(source: str) -> str | None:
    """The directory whose group_vars/host_vars belong to an inventory source (None: none)."""
    if is_host_list(source):
        return None  # a host list, not a path
    folder = source if os.path.isdir(source) else os.path.dirname(source)
    return os.path.realpath(folder)
