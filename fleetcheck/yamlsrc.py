"""YAML input that remembers where each value came from, so errors can name file:line:column."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fleetcheck.errors import InputError


@dataclass(frozen=True, slots=True)
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
        loader.flatten_mapping(node)
        out = LocatedDict()
        out.mark = _mark(path, node)
        out.key_marks = {}
        out.value_marks = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise _mark(path, key_node).error("mapping keys must be plain scalars")
            skey = key if isinstance(key, str) else str(key)
            if skey in out:
                raise _mark(path, key_node).error(f"duplicate key {skey!r}")
            out[skey] = loader.construct_object(value_node, deep=True)
            out.key_marks[skey] = _mark(path, key_node)
            out.value_marks[skey] = _mark(path, value_node)
        return out

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LocatedList:
        out = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
        out.mark = _mark(path, node)
        out.marks = [_mark(path, child) for child in node.value]
        return out

    def construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        # YAML takes anything shaped like a date for one; a day that does not exist
        # (2030-02-30) would otherwise escape as a bare ValueError.
        try:
            return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
        except ValueError as exc:
            raise _mark(path, node).error(f"{node.value!r} is not a valid date: {exc}") from None

    Loader.add_constructor("tag:yaml.org,2002:timestamp", construct_timestamp)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def load_text(text: str, path: str) -> Any:
    """Parse YAML `text` safely; syntax errors become one located InputError."""
    try:
        return yaml.load(text, Loader=_make_loader(path))  # noqa: S506 - SafeLoader subclass
    except InputError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise InputError(f"invalid YAML: {problem}", path) from None
        raise InputError(f"invalid YAML: {problem}", path, mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", path) from None


def load_file(path: str | Path) -> Any:
    """Read and parse a YAML file; unreadable files become an InputError naming the file."""
    spath = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {exc.__class__.__name__}: {exc}", spath) from None
    return load_text(text, spath)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' when a close choice exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(data: LocatedDict, allowed: Iterable[str], what: str) -> None:
    """Raise a located InputError for the first key of `data` not in `allowed`."""
    allowed = list(allowed)
    for key in data:
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            raise data.mark_of(key).error(f"unknown key {key!r} in {what}{hint}")
