"""YAML and JSON data files read as Ansible reads them, remembering where every key was.

Ansible tries JSON first, then YAML 1.1 (safe loading, plus its `!unsafe` and
`!vault` tags, merge keys); JSON objects holding `__ansible_vault` /
`__ansible_unsafe` are those values. A whole file may be vault-encrypted. Where
Ansible warns and keeps the last of duplicate keys, so does this loader (the
warning names the duplicate's file:line); a key overriding one merged in with
`<<:` is no duplicate.
"""

from __future__ import annotations

import bisect
import copy
import json
import json.decoder
import json.scanner
import re
from collections.abc import Callable
from typing import Any

import yaml

from fleetcheck.bounded import MAX_INVENTORY_BYTES, MAX_YAML_BYTES, check_text_size, read_bounded
from fleetcheck.errors import InputError
from fleetcheck.inventory.notes import Notes
from fleetcheck.inventory.values import Origin, UnsafeText, VaultValue
from fleetcheck.inventory.vault import Keyring, is_vaulted
from fleetcheck.jsontext import LoneSurrogate, checked
from fleetcheck.textfile import utf8_text
from fleetcheck.yamlsrc import (
    construct_int_located,
    merged_pairs,
    new_loader,
    read_document,
)

_scanstring: Callable[..., tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
# The pure-Python scanner calls back into our object/array parsers (the C one does not).
_make_scanner: Callable[[Any], Any] = json.scanner.py_make_scanner  # type: ignore[attr-defined]
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LocDict(dict[Any, Any]):
    """A mapping read from a file: `mark` is where it starts, `key_marks` where each key is."""

    mark: Origin
    key_marks: dict[Any, Origin]

    def where(self, key: Any) -> Origin:
        """Where `key` was written (the mapping's own position if unknown)."""
        return self.key_marks.get(key, self.mark)


class LocList(list[Any]):
    """A sequence read from a file; `marks[i]` is where item i starts."""

    mark: Origin
    marks: list[Origin]


def where(container: Any, key: Any, default: Origin) -> Origin:
    """Where `key` sits in `container` when it was read with positions, else `default`."""
    if isinstance(container, LocDict):
        return container.where(key)
    return default


def mark_of(value: Any, default: Origin) -> Origin:
    """Where a container read from a file starts, else `default`."""
    return getattr(value, "mark", default)


def kind_name(value: Any) -> str:
    """What a parsed value is, in the words of the file formats ("mapping", "list", ...)."""
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _new_dict(mark: Origin) -> LocDict:
    """An empty located mapping starting at `mark`."""
    d = LocDict()
    d.mark = mark
    d.key_marks = {}
    return d


def _special(obj: LocDict, keyring: Keyring | None) -> Any:
    """Ansible's JSON spellings of an unsafe string and a vault value."""
    if "__ansible_unsafe" in obj:
        value = obj["__ansible_unsafe"]
        if not isinstance(value, str):
            raise obj.mark.error("__ansible_unsafe must be a string")
        return UnsafeText(value)
    if "__ansible_vault" in obj:
        value = obj["__ansible_vault"]
        if not isinstance(value, str):
            raise obj.mark.error("__ansible_vault must be a string")
        return VaultValue(value, obj.mark, keyring)
    if "__ansible_type" in obj:
        raise obj.mark.error("__ansible_type values are not supported")
    return obj


class _JsonContext:
    """What json.scanner.py_make_scanner needs, with object/array parsers that record lines."""

    def __init__(self, text: str, path: str, keyring: Keyring | None, notes: Notes) -> None:
        self.path = path
        self.keyring = keyring
        self.notes = notes
        self._starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.strict = True
        self.object_hook = None
        self.object_pairs_hook = None
        self.memo: dict[str, str] = {}
        self.parse_float = float
        self.parse_int = int
        self.parse_constant = json.decoder._CONSTANTS.__getitem__  # type: ignore[attr-defined]
        self.parse_string = _scanstring
        self.parse_object = self._object
        self.parse_array = self._array
        self.scan_once = _make_scanner(self)

    def origin(self, index: int) -> Origin:
        """The file position of `index` (or of a node)."""
        line = bisect.bisect_right(self._starts, index)
        return Origin(self.path, line, index - self._starts[line - 1] + 1)

    def _ws(self, s: str, i: int) -> int:
        """The index of the first non-whitespace character at or after `i`."""
        while i < len(s) and s[i] in " \t\n\r":
            i += 1
        return i

    def _object(self, s_and_end: tuple[str, int], strict: bool, scan_once: Callable[..., Any],
                *_: Any) -> tuple[Any, int]:
        """A JSON object as a LocDict with key positions; duplicates are warnings (last wins)."""
        s, i = s_and_end
        obj = _new_dict(self.origin(i - 1))
        i = self._ws(s, i)
        if i < len(s) and s[i] == "}":
            return _special(obj, self.keyring), i + 1
        while True:
            if i >= len(s) or s[i] != '"':
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes",
                                           s, i)
            key_at = i
            key, i = _scanstring(s, i + 1, strict)
            i = self._ws(s, i)
            if i >= len(s) or s[i] != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", s, i)
            i = self._ws(s, i + 1)
            try:
                value, i = scan_once(s, i)
            except StopIteration as exc:
                raise json.JSONDecodeError("Expecting value", s, exc.value) from None
            if key in obj:
                self.notes.warn(duplicate_message(key), self.origin(key_at))
            obj[key] = value
            obj.key_marks[key] = self.origin(key_at)
            i = self._ws(s, i)
            if i < len(s) and s[i] == "}":
                return _special(obj, self.keyring), i + 1
            if i >= len(s) or s[i] != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", s, i)
            i = self._ws(s, i + 1)

    def _array(self, s_and_end: tuple[str, int], scan_once: Callable[..., Any]) -> tuple[Any, int]:
        """A JSON array as a LocList."""
        out = LocList()
        out.mark = self.origin(s_and_end[1] - 1)
        out.marks = []
        values, end = json.decoder.JSONArray(s_and_end, scan_once)  # type: ignore[attr-defined]
        out.extend(values)
        return out, end


def _load_json(text: str, path: str, keyring: Keyring | None, notes: Notes) -> Any:
    """Parse JSON into located containers; JSONDecodeError when it is not JSON."""
    ctx = _JsonContext(text, path, keyring, notes)
    i = ctx._ws(text, 0)
    try:
        value, end = ctx.scan_once(text, i)
    except StopIteration:
        raise json.JSONDecodeError("Expecting value", text, i) from None
    finally:
        ctx.memo.clear()
    end = ctx._ws(text, end)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe YAML loading with positions, merge keys, Ansible's own tags; duplicates warned."""

    path = "<yaml>"
    keyring: Keyring | None = None
    notes: Notes
    unsafe_depth = 0

    def origin(self, node: yaml.Node) -> Origin:
        """The file position of `index` (or of a node)."""
        return Origin(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def construct_located_map(self, node: yaml.MappingNode) -> Any:
        """A mapping with key positions; a key written twice is a warning (the last wins)."""
        data = _new_dict(self.origin(node))
        yield data
        pairs, merged = merged_pairs(node)
        written: set[Any] = set()
        for n, (key_node, value_node) in enumerate(pairs):
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise self.origin(key_node).error("mapping keys must be scalars") from None
            if isinstance(key, VaultValue):  # ansible-core fails on one, at load or output
                raise self.origin(key_node).error("a mapping key cannot be vault-encrypted")
            if n >= merged:  # keys written here override merged ones without a word
                if key in written:
                    self.notes.warn(duplicate_message(key), self.origin(key_node))
                written.add(key)
            data[key] = self.construct_object(value_node, deep=self.unsafe_depth > 0)
            data.key_marks[key] = self.origin(key_node)

    def construct_int(self, node: yaml.ScalarNode) -> Any:
        """A YAML integer; one too long to convert is a located error."""
        return construct_int_located(self, node, self.origin(node))

    def construct_deprecated(self, node: yaml.Node) -> Any:
        """`!!omap` and `!!pairs`: read as PyYAML reads them, with Ansible's deprecation."""
        tag = node.tag.rsplit(":", 1)[-1]
        self.notes.warn(f"use of the YAML `!!{tag}` tag is deprecated (Ansible); use a "
                        "standard mapping instead", self.origin(node))
        constructor = (yaml.constructor.SafeConstructor.construct_yaml_omap if tag == "omap"
                       else yaml.constructor.SafeConstructor.construct_yaml_pairs)
        return constructor(self, node)

    def construct_located_seq(self, node: yaml.SequenceNode) -> Any:
        """A sequence with item positions."""
        data = LocList()
        data.mark = self.origin(node)
        data.marks = [self.origin(child) for child in node.value]
        yield data
        data.extend(self.construct_object(child, deep=self.unsafe_depth > 0)
                    for child in node.value)

    def construct_text(self, node: yaml.ScalarNode) -> str:
        """A string (UnsafeText inside `!unsafe`)."""
        text = self.construct_scalar(node)
        return UnsafeText(text) if self.unsafe_depth else text

    def _as_implicit(self, node: yaml.Node) -> Any:
        """A tagged node's value as if untagged (YAML's implicit typing)."""
        plain = copy.copy(node)
        plain.tag = self.resolve(type(node), node.value, (True, False))
        return self.construct_object(plain, deep=True)

    def construct_unsafe(self, node: yaml.Node) -> Any:
        """An `!unsafe` value: every string in it is UnsafeText."""
        self.unsafe_depth += 1
        try:
            return self._as_implicit(node)
        finally:
            self.unsafe_depth -= 1

    def construct_vault(self, node: yaml.Node) -> VaultValue:
        """A `!vault` value (its ciphertext and position); it must be a string."""
        text = self._as_implicit(node)
        if not isinstance(text, str):
            raise self.origin(node).error(f"the {node.tag} tag needs a string value")
        return VaultValue(str(text), self.origin(node), self.keyring)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_located_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_located_seq)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_int)
_Loader.add_constructor("tag:yaml.org,2002:omap", _Loader.construct_deprecated)
_Loader.add_constructor("tag:yaml.org,2002:pairs", _Loader.construct_deprecated)
_Loader.add_constructor("tag:yaml.org,2002:str", _Loader.construct_text)
_Loader.add_constructor("!unsafe", _Loader.construct_unsafe)
_Loader.add_constructor("!vault", _Loader.construct_vault)
_Loader.add_constructor("!vault-encrypted", _Loader.construct_vault)


def duplicate_message(key: Any) -> str:
    """The warning for a key written twice in one mapping (Ansible's words)."""
    return f"found duplicate mapping key {key!r}, using last defined value only"


def _load_yaml(text: str, path: str, keyring: Keyring | None, notes: Notes) -> Any:
    """Parse YAML into located containers; syntax errors as located InputErrors."""
    check_text_size(text, MAX_YAML_BYTES, "YAML document", path)
    loader = new_loader(_Loader, text, path)
    loader.path = path
    loader.keyring = keyring
    loader.notes = notes
    return read_document(loader, path, text)


def load_data(text: str, path: str, keyring: Keyring | None = None,
              notes: Notes | None = None) -> Any:
    """Parse `text` as JSON, else as YAML; located containers; InputError when neither."""
    notes = notes if notes is not None else Notes()
    try:
        return no_lone_surrogates(_load_json(text, path, keyring, notes), text, Origin(path))
    except json.JSONDecodeError as exc:
        json_error = InputError(f"invalid JSON: {exc.msg}", path, exc.lineno, exc.colno)
    except RecursionError:
        raise InputError("data nested too deeply", path) from None
    except ValueError:
        raise InputError("invalid JSON: an integer too long to read", path) from None
    try:
        return _load_yaml(text, path, keyring, notes)
    except InputError as exc:
        # Both readers failed: for a .json file the JSON reader's complaint is the useful one.
        if path.endswith(".json") and exc.message.startswith("invalid YAML"):
            raise json_error from None
        raise


class _NeedsPositions(Exception):
    """A duplicate key or a vault value: read again with positions to locate it."""


def load_fast(text: str, path: str, keyring: Keyring | None = None,
              notes: Notes | None = None) -> tuple[Any, bool]:
    """Like load_data, but JSON is read by the C parser without positions: (data, fast).

    Large saved inventories are JSON; when reading one fails, the caller reads it
    again with load_data to say where.
    """
    origin = Origin(path)

    def pairs(items: list[tuple[str, Any]]) -> Any:
        obj = dict(items)
        if len(obj) != len(items) or "__ansible_vault" in obj:
            raise _NeedsPositions
        if "__ansible_unsafe" in obj or "__ansible_type" in obj:
            located = _new_dict(origin)
            located.update(obj)
            return _special(located, keyring)
        return obj

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except (ValueError, _NeedsPositions, RecursionError):  # JSONDecodeError is a ValueError
        return load_data(text, path, keyring, notes), False
    return no_lone_surrogates(data, text, origin), True


def no_lone_surrogates(data: Any, text: str, origin: Origin, *, lines: bool = True) -> Any:
    """`data` (read from JSON `text`) when none of its text holds a lone surrogate; else an
    InputError at `origin` (and the escape's line of `text` when `lines`)."""
    try:
        return checked(data, text)
    except LoneSurrogate as exc:
        where = Origin(origin.path, exc.line) if lines and exc.line else origin
        raise where.error(f"{exc}: text that is no UTF-8, which Ansible refuses too") from None


def read_text(path: str, keyring: Keyring | None) -> str:
    """A file's text, decrypted when it is vault-encrypted; InputError when unreadable."""
    raw = read_bounded(path, MAX_INVENTORY_BYTES, "file")
    if is_vaulted(raw):
        raw = (keyring or Keyring()).decrypt(raw, Origin(path, 1))
    return utf8_text(raw, path)


def load_file(path: str, keyring: Keyring | None = None, notes: Notes | None = None) -> Any:
    """Read and parse one YAML/JSON data file (vault-encrypted or not)."""
    return load_data(read_text(path, keyring), path, keyring, notes)
