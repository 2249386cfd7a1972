"""Jinja2 expressions as ansible-core's inventory plugins evaluate them, and their options.

An expression's value is native (`n + 1` is a number), evaluated in the bounded sandbox;
a variable that is one `{{ expression }}` gives that expression's value. Text an
expression makes is untrusted, as ansible-core marks it (`__ansible_unsafe` in
`inventory --list`): only a trusted string passed through as it was stays trusted. An
expression that fails on a host is `Failed` (the plugin skips it, or stops when strict);
one that needs an Ansible filter or test fleetcheck lacks is a located InputError.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from fleetcheck.booleans import ansible_boolean
from fleetcheck.errors import InputError
from fleetcheck.inventory.template import Renderer, TemplateProblem, is_template
from fleetcheck.inventory.values import Origin, UnsafeText, VaultValue

if TYPE_CHECKING:
    from jinja2 import Environment

# Ansible's per-host names are untrusted text (never passed through as trusted).
UNTRUSTED = frozenset({"inventory_hostname", "inventory_hostname_short", "group_names"})


class KeyLines:
    """Where a key of the source is written (line 1 when it cannot be told): the document
    was read without positions, for speed, so its text is searched for the key."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self._found: dict[tuple[str, Any], Origin] = {}  # asked again for every host

    def at(self, option: str, key: Any = None) -> Origin:
        """The line of top-level `option`, or of `key` within it (an index: a list item)."""
        found = self._found.get((option, key))
        if found is None:
            found = self._found[(option, key)] = self._search(option, key)
        return found

    def _search(self, option: str, key: Any) -> Origin:
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


class Failed(Exception):
    """An expression that failed on one host: skipped, or an error when strict."""


class NativeRenderer(Renderer):
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
            expression, names = compiled(whole.group(1), Origin("<variable>"), "")
        except InputError as exc:
            raise TemplateProblem(f"cannot render {text!r}: {exc.message}") from None
        context = {n: self.value(n, depth + 1) for n in names if self.has(n)}
        try:
            return evaluate(expression, context)
        except Failed as exc:
            raise TemplateProblem(f"cannot render {text!r}: {exc}") from None


_ONE_EXPRESSION = re.compile(r"\{\{((?:(?!\{\{|\}\}|\{%|\{#).)*)\}\}", re.S)


def value_of(text: Any, values: Renderer, what: str, where: Origin,
             distrusted: frozenset[str] = UNTRUSTED) -> Any:
    """Expression `text`'s native value over `values`, its text marked as ansible-core marks
    it (the variables named in `distrusted` are never trusted text); Failed when it fails on
    these values."""
    if not isinstance(text, str) or not text.strip():
        raise Failed("the expression must be a non-empty string")
    expression, names = compiled(text, where, what)
    try:
        context = {n: values.value(n) for n in names if values.has(n)}
    except (TemplateProblem, KeyError) as exc:
        raise Failed(str(exc)) from None
    result = evaluate(expression, context)
    name = text.strip()
    if name in context and name not in distrusted and isinstance(values.raw(name), str) \
            and not is_template(values.raw(name)):
        return result  # text passed through as it was written keeps its trust (decrypted
        # vault text and rendered templates are new text, as in ansible-core)
    written = {n: values.raw(n) for n in context if not is_template(values.raw(n))}
    kept, empty = trusted(written, distrusted)
    if isinstance(result, list | tuple | dict):  # an item may be a variable passed through
        return untrusted(result, kept, empty)
    return untrusted(result, kept, False)  # text the expression made itself


def condition_of(text: Any, values: Renderer, what: str, where: Origin,
                 deprecated: Callable[[str], None]) -> Any:
    """A `groups` condition's value as ansible-core's evaluate_conditional finds it: a YAML
    boolean is itself, one wholly in `{{ }}` is rendered first (a trusted string it gives is
    then the expression; anything else is the value, with Ansible's deprecation, given to
    `deprecated`); Failed for an empty or non-string one, or untrusted text to evaluate."""
    if isinstance(text, str):
        text = text.strip()
    if text is None or text == "":
        raise Failed("empty conditional expressions are not allowed")
    if isinstance(text, bool):
        return text
    if not isinstance(text, str):
        raise Failed(f"conditional expressions must be strings, not {type(text).__name__}")
    if not _ALL_TEMPLATE.fullmatch(text):
        return value_of(text, values, what, where)
    whole = _ONE_EXPRESSION.fullmatch(text)
    if whole is None:  # {% %} or several {{ }}: text the template made, never trusted
        raise Failed("a template that is not one {{ expression }} makes untrusted text, "
                     "not an expression")
    result = value_of(whole.group(1), values, what, where)
    if result is None or (isinstance(result, str) and not result.strip()):
        raise Failed("empty conditional expressions are not allowed")
    if not isinstance(result, str):
        deprecated("conditionals should not be surrounded by templating delimiters such as "
                   "{{ }} or {% %} (Ansible deprecates this; ansible-core 2.23 removes it)")
        return result
    if isinstance(result, UnsafeText):
        raise Failed(f"the template gave untrusted text {str(result)!r}, not an expression")
    return value_of(result.strip(), values, what, where)  # a variable's text: indirection


# ansible-core's is_possibly_all_template: starts with a Jinja opening, ends with a closing
_ALL_TEMPLATE = re.compile(r"(?:\{\{|\{%|\{#).*(?:\}\}|%\}|#\})", re.S)


def evaluate(expression: Callable[..., Any], context: dict[str, Any]) -> Any:
    """The expression's value for `context`, evaluated within the template bounds."""
    from jinja2 import TemplateError, Undefined

    from fleetcheck.inventory.jinjabound import step_budget

    try:
        with step_budget():
            result = expression(**context)
    except TemplateError as exc:
        raise Failed(exc.message or str(exc)) from None
    except (ArithmeticError, ValueError, TypeError, LookupError, AttributeError,
            MemoryError, RecursionError) as exc:
        raise Failed(f"{type(exc).__name__}: {exc}") from None
    stack = [result]  # an undefined value anywhere in it (`[x, nosuch]`) fails it, and so
    while stack:  # does what no variable can hold (`range(3)`, a method `s.upper` not called)
        value = stack.pop()
        if isinstance(value, Undefined):
            raise Failed(value._undefined_message)
        if isinstance(value, list | tuple | set | frozenset):
            stack += value
        elif isinstance(value, dict):
            stack += value.values()
        elif not isinstance(value, _STORABLE):
            raise Failed(f"Type {type(value).__name__!r} is unsupported for variable storage")
    return result


# what a variable may hold, as ansible-core stores it (containers are walked into)
_STORABLE = (str, int, float, type(None), datetime.date, datetime.time, VaultValue)


def trusted(context: Mapping[str, Any], distrusted: frozenset[str] = UNTRUSTED
            ) -> tuple[set[int], bool]:
    """The identities of the trusted strings an expression was given (text read from the
    inventory's files as written, not Ansible's per-host names and not `!unsafe` text), and
    whether one was empty (Python shares the empty string: identity cannot tell it)."""
    found: set[int] = set()
    empty = False
    stack = [v for k, v in context.items() if k not in distrusted]
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


def untrusted(value: Any, trusted: set[int], empty: bool) -> Any:
    """`value` with each string the expression made marked unsafe, as ansible-core marks
    what templating makes (only a trusted string passed through as it was stays trusted)."""
    if isinstance(value, str):
        kept = id(value) in trusted or (empty and not value) or isinstance(value, UnsafeText)
        return value if kept else UnsafeText(value)
    if isinstance(value, list | tuple):
        return [untrusted(v, trusted, empty) for v in value]
    if isinstance(value, dict):
        return {k: untrusted(v, trusted, empty) for k, v in value.items()}
    return value


class _Expression:
    """One expression compiled as Jinja2's `compile_expression` compiles it, called on a
    context made straight from its variables: Jinja2's own call copies the environment's
    globals into a new dict every time, most of an evaluation's cost over a fleet."""

    def __init__(self, env: Environment, text: str) -> None:
        from jinja2 import TemplateSyntaxError, nodes
        from jinja2.parser import Parser

        parser = Parser(env, text, state="variable")
        expression = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno,
                                      None, None)
        expression.set_environment(env)
        body = [nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)]
        self._template = env.from_string(nodes.Template(body, lineno=1))
        self._globals = dict(self._template.globals)

    def __call__(self, **values: Any) -> Any:
        """The expression's value with `values` as its variables."""
        context = self._template.new_context({**self._globals, **values}, shared=True)
        for _ in self._template.root_render_func(context):
            pass
        return context.vars["result"]


@cache
def compiled(text: str, where: Origin, what: str) -> tuple[Callable[..., Any], frozenset[str]]:
    """The compiled expression and the variable names it reads. An expression that is not
    one fails on every host (ansible-core skips it, or stops when strict); one that needs
    an Ansible filter or test fleetcheck lacks is a located InputError."""
    from jinja2 import TemplateError, meta

    from fleetcheck.inventory.template import environment

    env = environment()
    try:
        expression = _Expression(env, text)
        names = frozenset(meta.find_undeclared_variables(env.parse("{{ (" + text + ") }}")))
    except TemplateError as exc:
        message = exc.message or str(exc)
        if message.startswith(("No filter named", "No test named")):
            raise where.error(f"{what}{': ' if what else ''}{message.rstrip('.')} here (fleetcheck "
                              f"has only Ansible's bool, ternary, regex_replace, regex_search "
                              f"and the match, search and regex tests); export the inventory "
                              f"with 'ansible-inventory --list > inventory.json' and read "
                              f"that file") from None

        def failing(**_: Any) -> Any:
            raise Failed(f"{text!r} is not an expression: {message}")

        return failing, frozenset()
    return expression, names


def boolean(value: Any, option: str, where: Origin) -> bool:
    """An option as Ansible reads a boolean ('yes', 'off', 1, ...)."""
    flag = ansible_boolean(value) if isinstance(value, str | int | float) else None
    if value == "":  # an empty option reads as false, as ansible-core reads it
        flag = False
    if flag is None:
        raise where.error(f"constructed: {option} must be a boolean, not {value!r}")
    return flag
