"""YAML input that remembers where each value came from, so errors can name file:line:column.

Also the YAML rules every reader here shares: merge keys (`<<: *defaults`, then keys
that override them) resolved as YAML 1.1 and PyYAML resolve them, and the bounds on a
document (its size, and how far its aliases may expand it: no "billion laughs").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.constructor import ConstructorError

from fleetcheck.bounded import (
    ALIAS_FACTOR,
    MAX_YAML_BYTES,
    MIN_ALIAS_BUDGET,
    check_nesting,
    check_text_size,
)
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.jsontext import SURROGATE
from fleetcheck.textfile import read_text

L = TypeVar("L")
MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
Pair = tuple[yaml.Node, yaml.Node]


@frozen
class Mark:
    """A 1-based position in a source file."""

    path: str
    line: int
    column: int

    def error(self, message: str) -> InputError:
        """An InputError located here."""
        return InputError(message, self.path, self.line, self.column)


class LocatedDict(dict[str, Any]):
    """A mapping read from YAML; `mark_of(key)` and `value_mark(key)` say where each was."""

    mark: Mark
    key_marks: dict[str, Mark]
    value_marks: dict[str, Mark]

    def mark_of(self, key: str) -> Mark:
        """Where `key` was written (the mapping's own position if it was not)."""
        return self.key_marks.get(key, self.mark)

    def value_mark(self, key: str) -> Mark:
        """Where the value of `key` was written."""
        return self.value_marks.get(key, self.mark_of(key))


class LocatedList(list[Any]):
    """A sequence read from YAML; `marks[i]` is where item i was written."""

    mark: Mark
    marks: list[Mark]


def _mark(path: str, node: yaml.Node) -> Mark:
    return Mark(path, node.start_mark.line + 1, node.start_mark.column + 1)


def _make_loader(path: str) -> type[yaml.SafeLoader]:
    """A SafeLoader subclass (never the unsafe one) that builds Located containers."""

    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LocatedDict:
        pairs, merged = merged_pairs(node)
        out = LocatedDict()
        out.mark = _mark(path, node)
        out.key_marks = {}
        out.value_marks = {}
        written: set[str] = set()
        for n, (key_node, value_node) in enumerate(pairs):
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise _mark(path, key_node).error("mapping keys must be plain scalars")
            skey = key if isinstance(key, str) else str(key)
            if n >= merged:  # a key written here may override a merged one, not another
                if skey in written:
                    raise _mark(path, key_node).error(f"duplicate key {skey!r}")
                written.add(skey)
            out[skey] = loader.construct_object(value_node, deep=True)
            out.key_marks[skey] = _mark(path, key_node)
            out.value_marks[skey] = _mark(path, value_node)
        return out

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LocatedList:
        out = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
        out.mark = _mark(path, node)
        out.marks = [_mark(path, child) for child in node.value]
        return out

    def construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        return construct_int_located(loader, node, _mark(path, node))

    def construct_str(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
        # PyYAML's own reader takes a "\ud800" escape as half a UTF-16 pair, a str no
        # writer can write: a report would fail after every host was checked. libyaml
        # (and so ansible-core, for the inventory) refuses it: so do these files.
        text = loader.construct_scalar(node)
        assert isinstance(text, str)
        hit = SURROGATE.search(text)
        if hit:
            raise _mark(path, node).error(f"invalid YAML: found invalid Unicode character "
                                          f"escape code {_surrogate_words(text, hit.start())}")
        return text

    def construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        # YAML takes anything shaped like a date for one; a day that does not exist
        # (2030-02-30) would otherwise escape as a bare ValueError.
        try:
            return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
        except ValueError as exc:
            raise _mark(path, node).error(f"{node.value!r} is not a valid date: {exc}") from None

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:str", construct_str)
    Loader.add_constructor("tag:yaml.org,2002:timestamp", construct_timestamp)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def _surrogate_words(text: str, at: int) -> str:
    """What the surrogate escape at `at` is, and how to write the character it may mean."""
    pair = text[at:at + 2]
    if len(pair) == 2 and "\ud800" <= pair[0] <= "\udbff" and "\udc00" <= pair[1] <= "\udfff":
        char = pair.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        return (f"\\u{ord(pair[0]):04x}\\u{ord(pair[1]):04x} (a UTF-16 pair: write "
                f"\\U{ord(char):08x} or the character itself)")
    return f"\\u{ord(text[at]):04x} (half of a UTF-16 pair with no other half)"


def load_text(text: str, path: str) -> Any:
    """Parse YAML `text` safely; syntax errors become one located InputError."""
    check_text_size(text, MAX_YAML_BYTES, "YAML document", path)
    data = read_document(new_loader(_make_loader(path), text, path), path, text)
    check_nesting(data, path)  # policies, waivers, configuration: none nests deep
    return data


def read_document(loader: Any, path: str, text: str) -> Any:
    """The one document of `loader` (then disposed of); whatever is wrong with it, one
    located InputError."""
    try:
        data = single_document(loader, path, text)
    except InputError:
        raise
    except yaml.MarkedYAMLError as exc:
        raise located_yaml_error(exc, path) from None
    except yaml.reader.ReaderError as exc:
        raise reader_error(exc, text, path) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", path) from None
    except RecursionError:
        raise InputError("data nested too deeply", path) from None
    finally:
        loader.dispose()
    return data


def new_loader(factory: Callable[[str], L], text: str, path: str) -> L:
    """A loader of `text` from `factory`; PyYAML's own reader checks the whole text first,
    so a character YAML refuses is raised here, as reader_error's InputError."""
    try:
        return factory(text)
    except yaml.reader.ReaderError as exc:
        raise reader_error(exc, text, path) from None


def reader_error(exc: yaml.reader.ReaderError, text: str, path: str) -> InputError:
    """A character YAML refuses (a control character, NUL) as one InputError at its line
    and column; libyaml counts its position in UTF-8 bytes, PyYAML in characters."""
    if exc.encoding == "unicode":
        before = text[:exc.position]
    else:
        before = text.encode("utf-8", "surrogatepass")[:exc.position].decode("utf-8", "replace")
    column = len(before) - before.rfind("\n")
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return InputError(f"invalid YAML: character U+{code:04X} is not allowed ({exc.reason})",
                      path, before.count("\n") + 1, column)


def located_yaml_error(exc: yaml.MarkedYAMLError, path: str) -> InputError:
    """A PyYAML error as one InputError at its file:line:column."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is None:
        return InputError(f"invalid YAML: {problem}", path)
    return InputError(f"invalid YAML: {problem}", path, mark.line + 1, mark.column + 1)


def single_document(loader: Any, path: str, text: str) -> Any:
    """The one document of `loader`, its aliases checked before anything is built."""
    node = loader.get_single_node()
    if node is None:
        return None
    if "*" in text:  # no alias without a '*': skip the walk for the common case
        check_aliases(node, path)
    return loader.construct_document(node)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def check_aliases(root: yaml.Node, path: str) -> None:
    """Refuse a recursive alias, or aliases expanding the document past its budget.

    The budget is MIN_ALIAS_BUDGET nodes or ALIAS_FACTOR times the nodes written,
    whichever is more; the error names the first node whose expansion passes it.
    """
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    order: list[yaml.Node] = []
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        nid = id(node)
        if finished:
            visiting.discard(nid)
            sizes[nid] = 1 + sum(sizes[id(k)] for k in _children(node))
            order.append(node)
            continue
        if nid in sizes:
            continue
        visiting.add(nid)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in visiting:
                raise _mark(path, kid).error("recursive YAML alias (a node that contains itself)")
            if id(kid) not in sizes:
                stack.append((kid, False))
    budget = max(MIN_ALIAS_BUDGET, ALIAS_FACTOR * len(sizes))
    if sizes[id(root)] <= budget:
        return
    first = next(n for n in order if sizes[id(n)] > budget)
    raise _mark(path, first).error(
        f"YAML aliases expand this to more than {budget:,} nodes (the limit for a document "
        f"of {len(sizes):,} nodes written)")


def merged_pairs(node: yaml.MappingNode) -> tuple[list[Pair], int]:
    """A mapping's key/value nodes with `<<` merges resolved, and how many come from merges.

    The merged pairs come first, in the order in which assigning them leaves the right
    value (the first mapping of `<<: [*a, *b]` wins, as in YAML 1.1 and PyYAML); the
    pairs written in the mapping follow, so they override merged keys.
    """
    merged: list[Pair] = []
    written: list[Pair] = []
    for key_node, value_node in node.value:
        if key_node.tag == MERGE_TAG:
            if isinstance(value_node, yaml.MappingNode):
                sources = [value_node]
            elif isinstance(value_node, yaml.SequenceNode) and all(
                    isinstance(v, yaml.MappingNode) for v in value_node.value):
                sources = list(value_node.value)
            else:
                raise ConstructorError("while constructing a mapping", node.start_mark,
                                       "expected a mapping or list of mappings for merging, "
                                       f"but found {value_node.id}", value_node.start_mark)
            for source in reversed(sources):
                merged.extend(merged_pairs(source)[0])
            continue
        if key_node.tag == _VALUE_TAG:
            key_node.tag = "tag:yaml.org,2002:str"
        written.append((key_node, value_node))
    return merged + written, len(merged)


def construct_int_located(loader: Any, node: yaml.ScalarNode, mark: Any) -> Any:
    """A YAML integer; one too long for Python to convert is a located error, not a crash."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:
        raise mark.error(f"integer too long to read ({len(node.value)} characters)") from None


def load_file(path: str | Path) -> Any:
    """Read and parse a YAML file; unreadable files become an InputError naming the file."""
    spath = str(path)
    return load_text(read_text(spath, MAX_YAML_BYTES, "YAML file"), spath)



