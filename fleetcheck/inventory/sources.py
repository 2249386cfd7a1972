"""Inventory sources: files, directories of them, scripts and `host1,host2` lists.

A file is offered to the readers in ansible-core's order — script (executable),
plugin config (`.yml`/`.yaml` with a `plugin:` key: `constructed` and `generator` are
read, others are refused), YAML/JSON (no extension,
`.yml`, `.yaml`, `.json`), INI (anything but `.toml`), TOML — and the first that
reads it wins. A directory is read entry by entry in sorted order, skipping
hidden entries, `group_vars`, `host_vars`, `vars_plugins` and the names ansible-core's
settings ignore (`ignored.py`). Where Ansible would warn "unable to parse" and go on,
this stops: the source was rejected. Warnings of a reader that then failed are dropped
with it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.bounded import MAX_INVENTORY_BYTES, TooLarge, read_bounded
from fleetcheck.errors import InputError
from fleetcheck.inventory import script, yamlinv
from fleetcheck.inventory.data import InventoryData
from fleetcheck.inventory.datafile import load_data, load_fast, read_text
from fleetcheck.inventory.hostpattern import is_host_list, parse_address
from fleetcheck.inventory.ignored import ignored
from fleetcheck.inventory.values import Origin
from fleetcheck.inventory.vault import Keyring, is_vaulted
from fleetcheck.textfile import utf8_text

_YAML_EXTENSIONS = ("", ".yml", ".yaml", ".json")


@dataclass
class Reading:
    """What reading the sources produced besides the inventory: the files read, in order."""

    keyring: Keyring | None
    files: list[str] = field(default_factory=list)
    # -e, for constructed sources with use_extra_vars; `use_extra_vars` is the option's
    # default where a source does not set it (ansible.cfg, ANSIBLE_INVENTORY_USE_EXTRA_VARS)
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    use_extra_vars: bool = False
    skip: Callable[[str], bool] = ignored  # the directory entries ansible-core skips


def read_source(inv: InventoryData, source: str, reading: Reading) -> None:
    """Add one `-i` source (file, directory, script or host list) to `inv`."""
    if is_host_list(source):
        inv.current_source = source  # its hosts' inventory_file, as ansible-core sets it
        try:
            _host_list(inv, source)
        finally:
            inv.current_source = None
        return
    if not os.path.exists(source):
        raise InputError("inventory source not found", source)
    if os.path.isdir(source):
        try:
            entries = sorted(os.listdir(source))
        except OSError as exc:
            raise InputError(f"cannot list directory: {exc.strerror}", source) from None
        for entry in entries:
            if not reading.skip(entry):
                read_source(inv, os.path.join(source, entry), reading)
        return
    if not os.access(source, os.R_OK):
        raise InputError("inventory source is not readable", source)
    inv.current_source = source
    try:
        _read_file(inv, source, reading)
    finally:
        inv.current_source = None
    reading.files.append(source)
    inv.notes.check()


def _host_list(inv: InventoryData, text: str) -> None:
    """Add the hosts of a `host1,host2:22,` source to `ungrouped`."""
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        try:
            name, port = parse_address(item, allow_ranges=False)
        except ValueError:
            name, port = item, None
        if name not in inv.hosts:
            inv.add_host(name, "ungrouped", port)


def _read_file(inv: InventoryData, path: str, reading: Reading) -> None:
    """Offer a file to the readers in Ansible's order; the first that reads it wins."""
    ext = os.path.splitext(path)[1]
    script_error: InputError | None = None
    mark = inv.notes.mark()  # a reader that fails takes its warnings with it
    if os.access(path, os.X_OK):
        before = inv.changes
        try:
            script.parse_script(inv, path, reading.keyring)
            return
        except script.NotRunnable:
            pass  # executable bit on a data file: let the other readers have it
        except InputError as exc:
            _stop_if_changed(inv, before, exc)
            script_error = exc
    inv.notes.rollback(mark)
    raw = _raw(path, reading)
    document: object = None
    doc_error: InputError | None = None
    fast = False
    if ext in _YAML_EXTENSIONS:
        try:
            document, fast = load_fast(_utf8(raw, path), path, reading.keyring, inv.notes)
        except TooLarge:
            raise  # no other reader should try it either
        except InputError as exc:
            doc_error = exc
    if ext in (".yml", ".yaml") and isinstance(document, dict) and document.get("plugin"):
        # Each reader below is loaded when a file needs it: most inventories are YAML or
        # INI, and TOML's reader alone (with tomllib) is milliseconds of every start.
        from fleetcheck.inventory import constructed, generator

        if document["plugin"] in constructed.NAMES:
            constructed.parse(inv, document, path, _utf8(raw, path), reading.files,
                              reading.keyring, extra_vars=reading.extra_vars,
                              use_extra_vars=reading.use_extra_vars)
            return
        if document["plugin"] in generator.NAMES:
            generator.parse(inv, document, path, _utf8(raw, path))
            return
        raise Origin(path, 1).error(
            f"inventory plugin {document['plugin']!r} is not supported; export it with "
            f"'ansible-inventory -i {path} --list > inventory.json' and read that file")
    if ext in _YAML_EXTENSIONS and doc_error is None:
        before = inv.changes
        try:
            _structured(inv, document, path)
            return
        except yamlinv.Declined as exc:
            doc_error = exc.origin.error(str(exc))
        except InputError as exc:
            if fast:  # read without positions for speed: read again to say where
                exc = _located_error(raw, path, reading, exc)
            _stop_if_changed(inv, before, script_error or exc)
            doc_error = exc
    inv.notes.rollback(mark)
    if ext == ".toml":
        from fleetcheck.inventory import tomlinv

        tomlinv.parse(inv, tomlinv.load(_utf8(raw, path), path), path)
        return
    from fleetcheck.inventory import ini

    before = inv.changes
    try:
        ini.parse(inv, ini.split_lines(raw, path), path)
    except InputError as exc:
        # Nothing read the file: explain it in the terms of the format it looks like.
        if script_error is not None:
            raise script_error from None  # it ran, so it is a script
        looks_structured = isinstance(document, dict | list) or ext in (".yml", ".yaml", ".json")
        raise (doc_error if doc_error is not None and looks_structured else exc) from None


def _structured(inv: InventoryData, document: object, path: str) -> None:
    """Add a YAML/JSON document: a saved --list (script shape) or a YAML inventory."""
    if script.is_list_shape(document):
        script.parse_list(inv, document, Origin(path, 1))
    else:
        yamlinv.parse(inv, yamlinv.check_document(document, path), path)


def _located_error(raw: bytes, path: str, reading: Reading, error: InputError) -> InputError:
    """The same failure found again on a positioned reading (into a scratch inventory)."""
    try:
        scratch = InventoryData()  # its warnings are the first reading's: not kept twice
        _structured(scratch, load_data(_utf8(raw, path), path, reading.keyring, scratch.notes),
                    path)
    except (InputError, yamlinv.Declined) as located:
        return located if isinstance(located, InputError) else error
    return error


def _stop_if_changed(inv: InventoryData, before: int, error: InputError) -> None:
    """A reader that failed after changing the inventory ends the run (Ansible keeps the half)."""
    if inv.changes != before:
        raise error


def _raw(path: str, reading: Reading) -> bytes:
    """A file's bytes, decrypted when it is vault-encrypted."""
    raw = read_bounded(path, MAX_INVENTORY_BYTES, "inventory file")
    if is_vaulted(raw):
        return read_text(path, reading.keyring).encode("utf-8")
    return raw


def _utf8(raw: bytes, path: str) -> str:
    """Bytes as UTF-8 text; a located error when they are not."""
    return utf8_text(raw, path)
