"""A saved run checked against its published JSON Schema before anything reads it.

A run file is input like any other: edited, truncated, or written by another tool. The
readers trust its shape (a string where the schema says string), so a value of another
type would surface as an internal error deep in a renderer. This checks the subset of
JSON Schema the published schemas use, and names the first value that breaks it by its
path in the document.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from functools import cache, partial
from importlib import resources
from typing import Any

from fleetcheck.words import plural

# The schema each readable version is published with (fleetcheck.run/1 had none).
_SCHEMA_FILES = {"fleetcheck.run/2": "fleetcheck.run-2.schema.json",
                 "fleetcheck.run/3": "fleetcheck.run-3.schema.json"}
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),)}
# What json.loads makes that passes a type test as it is (bool is not int here: type() is
# exact; a float needs the finite and integer tests).
_EXACT: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int,), "null": (type(None),)}


Check = Callable[[Any], None]


class RunShapeError(ValueError):
    """The first value of a run that its schema does not allow: where, and why."""

    def __init__(self, why: str | Callable[[], str]) -> None:
        super().__init__()
        # A callable is told only when the complaint is shown: a oneOf tries shapes that
        # fail by design, and writing out each failing value would cost more than the check.
        self._why = why
        self.path: list[str] = []  # filled outwards as the error leaves each container

    @property
    def why(self) -> str:
        """What is wrong with the value."""
        return self._why if isinstance(self._why, str) else self._why()

    @property
    def where(self) -> str:
        """The value's path in the document: '$.hosts[0].port'."""
        return "$" + "".join(reversed(self.path))

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"



@cache
def _checker(version: str) -> Check | None:
    """The compiled check of the schema `version` is published with (None if none)."""
    name = _SCHEMA_FILES.get(version)
    if name is None:
        return None
    text = resources.files("fleetcheck.data").joinpath(name).read_text("utf-8")
    return _Compiler(json.loads(text)).compile({"$ref": "#"})


def check_run(data: dict[str, Any]) -> None:
    """Raise RunShapeError unless `data` matches the schema of its version (if published)."""
    check = _checker(str(data.get("schema")))
    if check is not None:
        check(data)


class _Compiler:
    """The subset of JSON Schema the published schemas use, compiled once into closures
    (a large run has a million values: each is checked without re-reading the schema)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.root
        for part in ref.removeprefix("#").strip("/").split("/"):
            if part:
                node = node[part]
        resolved: dict[str, Any] = node
        return resolved

    def ref(self, ref: str) -> Check:
        if ref not in self.refs:
            late: list[Check] = []

            def late_bound(value: Any) -> None:  # a $ref met again while compiling itself
                late[0](value)
            self.refs[ref] = late_bound
            late.append(self.compile(self.resolve(ref)))
            self.refs[ref] = late[0]
        return self.refs[ref]

    def compile(self, schema: dict[str, Any]) -> Check:
        """One function checking everything `schema` says."""
        parts: list[Check] = []
        if "$ref" in schema:
            parts.append(self.ref(schema["$ref"]))
        parts += _scalar_checks(schema)
        parts += [self.compile(sub) for sub in schema.get("allOf", ())]
        if "oneOf" in schema:
            parts.append(self.one_of(schema["oneOf"]))
        if "if" in schema:
            parts.append(self.if_then(schema))
        if {"properties", "required", "additionalProperties", "propertyNames"} & set(schema):
            parts.append(self.object(schema))
        if {"items", "minItems", "maxItems"} & set(schema):
            parts.append(self.array(schema))

        def check(value: Any) -> None:
            for part in parts:
                part(value)
        return parts[0] if len(parts) == 1 else check

    def one_of(self, shapes: list[dict[str, Any]]) -> Check:
        """Exactly one of `shapes`; when none fits, the complaint of the shape that fit
        furthest (the deepest path, then the one naming most of the value's keys)."""
        checks = [(self.compile(shape), self.names(shape), self.kinds(shape))
                  for shape in shapes]

        def check(value: Any) -> None:
            misses: list[tuple[int, int, RunShapeError]] = []
            for each, names, kinds in checks:
                if kinds is not None and not isinstance(value, kinds):
                    # Its type test fails: no need to run it (raising is what costs here);
                    # its complaint is worked out only if it is the one shown.
                    misses.append((0, 0, RunShapeError(partial(_complaint, each, value))))
                    continue
                try:
                    each(value)
                except RunShapeError as exc:
                    known = len(names & set(value)) if isinstance(value, dict) else 0
                    misses.append((len(exc.path), known, exc))
            if len(misses) == len(checks):
                raise max(misses, key=lambda miss: miss[:2])[2]
            if len(misses) < len(checks) - 1:
                raise RunShapeError(lambda: f"{show(value)} fits more than one allowed shape")
        return check

    def kinds(self, shape: dict[str, Any]) -> tuple[type, ...] | None:
        """Types a value must be an instance of to pass `shape`'s type test (None: any)."""
        while "$ref" in shape and "type" not in shape:
            shape = self.resolve(shape["$ref"])
        kinds = shape.get("type")
        if kinds is None:
            return None
        names = [kinds] if isinstance(kinds, str) else kinds
        # "integer" also takes a float with no fraction (1.0), as JSON Schema does
        return (*{kind for name in names for kind in _TYPES[name]},
                *((float,) if "integer" in names else ()))

    def names(self, shape: dict[str, Any]) -> set[str]:
        while "$ref" in shape:
            shape = self.resolve(shape["$ref"])
        return set(shape.get("properties", {})) | set(shape.get("required", ()))

    def if_then(self, schema: dict[str, Any]) -> Check:
        test = self.compile(schema["if"])
        then = self.compile(schema.get("then", {}))
        other = self.compile(schema.get("else", {}))

        def check(value: Any) -> None:
            try:
                test(value)
            except RunShapeError:
                other(value)
            else:
                then(value)
        return check

    def object(self, schema: dict[str, Any]) -> Check:
        required = tuple(schema.get("required", ()))
        properties = {k: self.compile(v) for k, v in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        extra_check = self.compile(extra) if isinstance(extra, dict) else None
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None

        def check(value: Any) -> None:
            if not isinstance(value, dict):
                return
            for key in required:
                if key not in value:
                    raise RunShapeError(f"missing key {key!r}")
            for key, item in value.items():
                try:
                    if names is not None:
                        names(key)
                    each = properties.get(key, extra_check)
                    if each is not None:
                        each(item)
                    elif extra is False and key not in properties:
                        raise RunShapeError(f"unknown key {key!r}")
                except RunShapeError as exc:
                    exc.path.append(f".{key}")
                    raise
        return check

    def array(self, schema: dict[str, Any]) -> Check:
        least, most = schema.get("minItems", 0), schema.get("maxItems")
        items = self.compile(schema["items"]) if isinstance(schema.get("items"), dict) \
            else None

        def check(value: Any) -> None:
            if not isinstance(value, list):
                return
            if len(value) < least:
                raise RunShapeError(f"fewer than {plural(least, 'item')}")
            if most is not None and len(value) > most:
                raise RunShapeError(f"more than {plural(most, 'item')}")
            if items is not None:
                for index, item in enumerate(value):
                    try:
                        items(item)
                    except RunShapeError as exc:
                        exc.path.append(f"[{index}]")
                        raise
        return check


def _scalar_checks(schema: dict[str, Any]) -> list[Check]:
    """The checks of `schema` on the value itself: type, enum, const, bounds, text."""
    checks: list[Check] = []
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        # Exact Python types that settle the test at once (a large run has a million values);
        # floats and anything else take the full test.
        exact = {kind for name in names for kind in _EXACT.get(name, ())}

        def typed(value: Any) -> None:
            if type(value) in exact:
                return
            if not any(_is(value, name) for name in names):
                raise RunShapeError(lambda: f"{show(value)} is not {' or '.join(names)}")
            if isinstance(value, float) and not math.isfinite(value):
                raise RunShapeError(lambda: f"{show(value)} is not a finite number")
        checks.append(typed)
    if "enum" in schema:
        allowed = schema["enum"]

        def listed(value: Any) -> None:
            # True == 1 in Python, not in JSON: a boolean is listed only as itself.
            if isinstance(value, bool):
                if not any(v is value for v in allowed):
                    raise RunShapeError(lambda: f"{show(value)} is not one of "
                                        f"{', '.join(map(show, allowed))}")
            elif value not in allowed:
                raise RunShapeError(lambda: f"{show(value)} is not one of "
                                    f"{', '.join(map(show, allowed))}")
        checks.append(listed)
    if "const" in schema:
        const = schema["const"]

        def same(value: Any) -> None:
            if value != const or isinstance(value, bool) != isinstance(const, bool):
                raise RunShapeError(lambda: f"{show(value)} is not {show(const)}")
        checks.append(same)
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        def bounded(value: Any) -> None:
            if isinstance(value, int | float) and not isinstance(value, bool):
                if low is not None and value < low:
                    raise RunShapeError(f"{value} is below {low}")
                if high is not None and value > high:
                    raise RunShapeError(f"{value} is above {high}")
        checks.append(bounded)
    shortest, pattern = schema.get("minLength", 0), schema.get("pattern")
    if shortest or pattern:
        regex = re.compile(pattern) if pattern else None

        def text(value: Any) -> None:
            if isinstance(value, str):
                if len(value) < shortest:
                    raise RunShapeError(lambda: f"{show(value)} is too short")
                if regex is not None and not regex.search(value):
                    raise RunShapeError(lambda: f"{show(value)} is not of the form {pattern}")
        checks.append(text)
    return checks


def _complaint(check: Check, value: Any) -> str:
    """What `check` says of `value` (run only when its complaint is shown)."""
    try:
        check(value)
    except RunShapeError as exc:
        return exc.why
    return f"{show(value)} does not fit"  # not reached: the type test fails


def _is(value: Any, name: str) -> bool:
    """JSON Schema's type test: a boolean is no number, 1.0 is an integer."""
    if isinstance(value, bool) and name != "boolean":
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def show(value: Any) -> str:
    """A value as JSON, cut short."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."
