"""ansible-core's `constructed` inventory plugin: variables and groups from expressions.

A YAML source whose `plugin:` is `constructed` (or `ansible.builtin.constructed`) works
on the hosts the sources before it read, in ansible-core's order for each host: `compose`
sets variables (each expression's value, native: a number stays a number), then `groups`
adds the host to each group whose condition is true, then `keyed_groups` adds it to a
group named from a variable's value (a string, each item of a list, each `key_value` of a
mapping), names made safe as Ansible makes them (`[^A-Za-z0-9_]` to `_`). An expression
sees the host's inline variables (its groups' by depth and priority, then its own) and
`inventory_hostname`, `inventory_hostname_short` and `group_names`.

As in ansible-core, an expression that fails on a host (a variable that host lacks) is
skipped unless `strict: true`, and a condition must be a boolean. Unlike it, a filter or
test fleetcheck does not have is an error: skipping it would make other groups than
Ansible makes. `use_vars_plugins` and `use_extra_vars` are not supported (an error).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.inventory.data import Host, InventoryData
from fleetcheck.inventory.resolve import sort_groups
from fleetcheck.inventory.template import Renderer, TemplateProblem, is_template, magic_vars
from fleetcheck.inventory.values import Origin, UnsafeText, VaultValue

NAMES = ("constructed", "ansible.builtin.constructed")
_OPTIONS = {"plugin", "strict", "compose", "groups", "keyed_groups", "leading_separator",
            "use_extra_vars", "use_vars_plugins"}
_UNSAFE_GROUP_CHARS = re.compile(r"^[\d\W]|[^\w]")
# Ansible's per-host names are untrusted text (never passed through as trusted).
_UNTRUSTED = frozenset({"inventory_hostname", "inventory_hostname_short", "group_names"})
_TRUE = {"yes", "on", "true", "1", "y", "t"}
_FALSE = {"no", "off", "false", "0", "n", "f", ""}


class _Lines:
    """Where a key of the source is written (line 1 when it cannot be told): the document
    was read without positions, for speed, so its text is searched for the key."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def at(self, option: str, key: Any = None) -> Origin:
        """The line of top-level `option`, or of `key` within it (an index: a list item)."""
        top = self._find(0, len(self.lines), option, top=True)
        if top is None:
            return Origin(self.path, 1)
        if key is None:
            return Origin(self.path, top + 1)
        end = next((n for n in range(top + 1, len(self.lines))
                    if self.lines[n][:1] not in ("", " ", "-", "#", "\t")), len(self.lines))
        if isinstance(key, int):
            items = [n for n in range(top + 1, end)
                     if self.lines[n].lstrip().startswith("- ")
                     or self.lines[n].strip() == "-"]
            indent = min((len(self.lines[n]) - len(self.lines[n].lstrip()) for n in items),
                         default=0)
            items = [n for n in items if len(self.lines[n]) - len(self.lines[n].lstrip())
                     == indent]
            found = items[key] if key < len(items) else None
        else:
            found = self._find(top + 1, end, str(key), top=False)
        return Origin(self.path, (found if found is not None else top) + 1)

    def _find(self, start: int, end: int, key: str, *, top: bool) -> int | None:
        quoted = "|".join(re.escape(q) for q in (key, f'"{key}"', f"'{key}'"))
        indent = "" if top else "[ \t]*"
        pattern = re.compile(f"^{indent}(?:{quoted})[ \t]*:(?:\\s|$)")
        return next((n for n in range(start, end) if pattern.match(self.lines[n])), None)


class _Failed(Exception):
    """An expression that failed on one host: skipped, or an error when strict."""


def safe_group_name(name: str) -> str:
    """`name` as constructed names a group: each character not valid in a variable name,
    and a leading digit, made `_`."""
    return _UNSAFE_GROUP_CHARS.sub("_", name)


def parse(inv: InventoryData, document: Mapping[str, Any], path: str, text: str = "") -> None:
    """Apply the constructed source `document` (`text`, read from `path`) to the hosts read
    so far."""
    lines = _Lines(path, text)
    unknown = sorted(str(k) for k in document if k not in _OPTIONS)
    if unknown:
        raise lines.at(unknown[0]).error(f"constructed: unknown option(s) {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(_OPTIONS - {'plugin'}))})")
    for option in ("use_vars_plugins", "use_extra_vars"):
        if _boolean(document.get(option, False), option, lines.at(option)):
            raise lines.at(option).error(
                f"constructed: {option} is not supported; export the inventory with "
                f"'ansible-inventory -i {path} --list > inventory.json' and read that file")
    strict = _boolean(document.get("strict", False), "strict", lines.at("strict"))
    leading = _boolean(document.get("leading_separator", True), "leading_separator",
                       lines.at("leading_separator"))
    compose = _mapping(document.get("compose"), "compose", lines.at("compose"))
    groups = _mapping(document.get("groups"), "groups", lines.at("groups"))
    keyed = document.get("keyed_groups") or []
    if not isinstance(keyed, list):
        raise lines.at("keyed_groups").error("constructed: keyed_groups must be a list of "
                                             "mappings")
    for n, entry in enumerate(keyed):
        if not isinstance(entry, dict) or not entry:
            raise lines.at("keyed_groups", n).error(
                f"constructed: invalid keyed group entry, it must be a mapping: {entry!r}")
        if entry.get("trailing_separator") is not None and \
                entry.get("default_value") is not None:
            raise lines.at("keyed_groups", n).error(
                "constructed: parameters are mutually exclusive for keyed groups: "
                "default_value|trailing_separator")
    inv.compute_depths()  # a host's groups' variables apply by depth, as ansible-core keeps it
    run = _Run(inv, lines, strict, leading)
    for host in list(inv.hosts.values()):
        run.host(host, compose, groups, keyed)


class _Run:
    """One constructed source applied host by host."""

    def __init__(self, inv: InventoryData, lines: _Lines, strict: bool, leading: bool) -> None:
        self.inv = inv
        self.lines = lines
        self.where = lines.at("plugin")
        self.strict = strict
        self.leading = leading

    def host(self, host: Host, compose: Mapping[str, Any], groups: Mapping[str, Any],
             keyed: list[dict[str, Any]]) -> None:
        """compose, then groups, then keyed_groups for one host (ansible-core's order)."""
        values = self._variables(host)
        for name, text in compose.items():
            where = self.lines.at("compose", name)
            try:
                value = self._evaluate(text, values, f"compose {name}", where)
            except _Failed as exc:
                self._skip(f"could not set {name} for host {host.name}: {exc}", where)
                continue
            self.inv.set_variable(host, name, value, self.where)
        values = self._variables(host)  # composed variables are seen by what follows
        for raw_name, text in groups.items():
            name = safe_group_name(str(raw_name))
            where = self.lines.at("groups", raw_name)
            try:
                result = self._evaluate(text, values, f"groups {raw_name}", where)
                if not isinstance(result, bool):
                    raise _Failed(f"the condition gave {result!r}, not a boolean")
            except _Failed as exc:
                self._skip(f"could not add host {host.name} to group {name}: {exc}", where)
                continue
            if result:
                self.inv.add_group(name, self.where)
                self.inv.add_child(name, host.name, self.where)
        for n, entry in enumerate(keyed):
            self._keyed(host, entry, values, self.lines.at("keyed_groups", n))

    def _keyed(self, host: Host, entry: Mapping[str, Any], values: Renderer,
               where: Origin) -> None:
        """One keyed_groups entry for one host (ansible-core's rules for each kind of key)."""
        try:
            key = self._evaluate(entry.get("key"), values, "keyed_groups key", where)
        except _Failed as exc:
            self._skip(f"could not make a group for host {host.name} from "
                       f"{entry.get('key')!r}: {exc}", where)
            return
        default = entry.get("default_value")
        empty = key is None or key == ""
        if not key and not (empty and default is not None):
            if self.strict and key not in ([], {}):
                raise where.error(f"constructed: no key or key resulted empty for "
                                       f"{entry.get('key')!r} in host {host.name}")
            return
        prefix, sep = str(entry.get("prefix", "")), str(entry.get("separator", "_"))
        parent = entry.get("parent_group")
        names: list[str] = []
        if empty:
            names.append(str(default))
        elif isinstance(key, str):
            names.append(key)
        elif isinstance(key, list):
            names += [str(default) if item in (None, "") and default is not None else str(item)
                      for item in key]
        elif isinstance(key, dict):
            for name, value in key.items():
                if value in (None, "") and default is not None:
                    names.append(f"{name}{sep}{default}")
                elif value in (None, "") and entry.get("trailing_separator") is False:
                    names.append(str(name))
                else:
                    names.append(f"{name}{sep}{value}")
        else:
            raise where.error(f"constructed: invalid group name format for host "
                                   f"{host.name}, expected a string, a list of them or a "
                                   f"mapping, got {type(key).__name__}")
        if prefix == "" and not self.leading:
            sep = ""
        for bare in names:
            group = self.inv.add_group(safe_group_name(f"{prefix}{sep}{bare}"), self.where)
            self.inv.add_child(group.name, host.name, self.where)
            if parent:
                above = self.inv.add_group(safe_group_name(str(parent)), self.where)
                self.inv.add_child(above.name, group.name, self.where)
                self.inv.compute_depths()

    def _variables(self, host: Host) -> Renderer:
        """The host's variables as the plugin sees them, rendered as they are asked for."""
        merged: dict[str, Any] = {}
        for group in sort_groups(host.groups()):
            merged.update(group.vars)
        merged.update(host.vars)
        names = tuple(g.name for g in host.groups() if g.name != "all")
        merged.update(magic_vars(host.name, names))
        return _NativeRenderer(merged, _reveal(host))

    def _evaluate(self, text: Any, values: Renderer, what: str, where: Origin) -> Any:
        """The expression's native value for the host; _Failed when it fails on that host."""
        if not isinstance(text, str) or not text.strip():
            raise _Failed(f"{what}: the expression must be a non-empty string")
        expression, names = _compiled(text, where, what)
        try:
            context = {n: values.value(n) for n in names if values.has(n)}
        except (TemplateProblem, KeyError) as exc:
            raise _Failed(str(exc)) from None
        result = _run(expression, context)
        name = text.strip()
        if name in context and name not in _UNTRUSTED and not is_template(values.raw(name)):
            return result  # a variable passed through as it was written keeps its trust
        written = {n: values.raw(n) for n in context if not is_template(values.raw(n))}
        trusted, empty = _trusted(written)
        if isinstance(result, list | tuple | dict):  # an item may be a variable passed through
            return _untrusted(result, trusted, empty)
        return _untrusted(result, trusted, False)  # text the expression made itself

    def _skip(self, message: str, where: Origin) -> None:
        """A failed expression: skipped (ansible-core's default), an error when strict."""
        if self.strict:
            raise where.error(f"constructed: {message}")


class _NativeRenderer(Renderer):
    """A variable whose value is one `{{ expression }}` gives that expression's value, as
    ansible-core's templating does (`port: "{{ n }}"` is a number); other text renders."""

    def render(self, text: str, depth: int = 0) -> Any:
        """The expression's native value, or the rendered text."""
        whole = _ONE_EXPRESSION.fullmatch(text)
        if whole is None:
            return super().render(text, depth)
        if depth > 20:
            raise TemplateProblem("templates refer to each other in a loop")
        try:
            expression, names = _compiled(whole.group(1), Origin("<variable>"), "a variable")
        except InputError as exc:
            raise TemplateProblem(exc.message) from None
        context = {n: self.value(n, depth + 1) for n in names if self.has(n)}
        try:
            return _run(expression, context)
        except _Failed as exc:
            raise TemplateProblem(str(exc)) from None


_ONE_EXPRESSION = re.compile(r"\{\{((?:(?!\{\{|\}\}|\{%|\{#).)*)\}\}", re.S)


def _run(expression: Callable[..., Any], context: dict[str, Any]) -> Any:
    """The expression's value for `context`, evaluated within the template bounds."""
    from jinja2 import TemplateError, Undefined

    from fleetcheck.inventory.jinjabound import step_budget

    try:
        with step_budget():
            result = expression(**context)
    except TemplateError as exc:
        raise _Failed(exc.message or str(exc)) from None
    except (ArithmeticError, ValueError, TypeError, LookupError, AttributeError,
            MemoryError, RecursionError) as exc:
        raise _Failed(f"{type(exc).__name__}: {exc}") from None
    stack = [result]  # an undefined value anywhere in it (`[x, nosuch]`) fails it
    while stack:
        value = stack.pop()
        if isinstance(value, Undefined):
            raise _Failed(value._undefined_message)
        if isinstance(value, list | tuple):
            stack += value
        elif isinstance(value, dict):
            stack += value.values()
    return result


def _trusted(context: Mapping[str, Any]) -> tuple[set[int], bool]:
    """The identities of the trusted strings an expression was given (text read from the
    inventory's files as written, not Ansible's per-host names and not `!unsafe` text), and
    whether one was empty (Python shares the empty string: identity cannot tell it)."""
    found: set[int] = set()
    empty = False
    stack = [v for k, v in context.items() if k not in _UNTRUSTED]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not isinstance(value, UnsafeText):
                found.add(id(value))
                empty = empty or not value
        elif isinstance(value, list | tuple):
            stack += value
        elif isinstance(value, dict):
            stack += value.values()
    found.discard(id(""))
    return found, empty


def _untrusted(value: Any, trusted: set[int], empty: bool) -> Any:
    """`value` with each string the expression made marked unsafe, as ansible-core marks
    what templating makes (only a trusted string passed through as it was stays trusted)."""
    if isinstance(value, str):
        kept = id(value) in trusted or (empty and not value) or isinstance(value, UnsafeText)
        return value if kept else UnsafeText(value)
    if isinstance(value, list | tuple):
        return [_untrusted(v, trusted, empty) for v in value]
    if isinstance(value, dict):
        return {k: _untrusted(v, trusted, empty) for k, v in value.items()}
    return value


@cache
def _compiled(text: str, where: Origin, what: str) -> tuple[Callable[..., Any], frozenset[str]]:
    """The compiled expression and the variable names it reads. An expression that is not
    one fails on every host (ansible-core skips it, or stops when strict); one that needs
    an Ansible filter or test fleetcheck lacks is a located InputError."""
    from jinja2 import TemplateError, meta

    from fleetcheck.inventory.template import environment

    env = environment()
    try:
        expression = env.compile_expression(text, undefined_to_none=False)
        names = frozenset(meta.find_undeclared_variables(env.parse("{{ (" + text + ") }}")))
    except TemplateError as exc:
        message = exc.message or str(exc)
        if message.startswith(("No filter named", "No test named")):
            raise where.error(f"constructed: {what}: {message.rstrip('.')} here (fleetcheck "
                              f"has only Ansible's bool, ternary, regex_replace, regex_search "
                              f"and the match, search and regex tests); export the inventory "
                              f"with 'ansible-inventory --list > inventory.json' and read "
                              f"that file") from None

        def failing(**_: Any) -> Any:
            raise _Failed(f"{text!r} is not an expression: {message}")

        return failing, frozenset()
    return expression, names


def _reveal(host: Host) -> Callable[[str, VaultValue], str]:
    """Decrypts a vaulted variable an expression reads (an error without its key)."""
    return lambda name, value: value.reveal(f"host {host.name!r}: variable {name}")


def _boolean(value: Any, option: str, where: Origin) -> bool:
    """An option as Ansible reads a boolean ('yes', 'off', 1, ...)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int | float) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise where.error(f"constructed: {option} must be a boolean, not {value!r}")


def _mapping(value: Any, option: str, where: Origin) -> dict[str, Any]:
    """`compose` or `groups`: a mapping (empty when not given)."""
    if not value:
        return {}
    if not isinstance(value, dict):
        raise where.error(f"constructed: {option} must be a mapping of names to expressions")
    return value

