"""A Jinja2 sandbox with bounds: no operation may build a value past MAX_TEXT, no rendering
may run more than MAX_STEPS template lines.

The sandbox already keeps templates from Python's internals; these bounds keep an
inventory value such as `{{ 'a' * 10**10 }}` or a loop of loops from taking the
machine's memory or time. What would pass a bound is refused before it is built
(repetition, padding, replacement, format widths, joining), and every result is
checked after. A refusal is a SecurityError, which the renderer reports as a
template that cannot be rendered.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, ItemsView, Iterator, KeysView, Sequence, ValuesView
from contextlib import contextmanager
from functools import wraps
from itertools import islice
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fleetcheck.inventory.values import UnsafeText
from fleetcheck.numbers import MAX_DIGITS

MAX_TEXT = 1 << 20  # characters (or items) any one value a template builds may hold
MAX_STEPS = 100_000  # template lines one rendering may run
_MAX_EXPONENT = 4096
_WIDTHS = re.compile(r"%[-#0 +]*(\d+)|\{[^{}]*?:[^{}]*?(\d+)[^{}]*\}")
_PADDING = ("center", "ljust", "rjust", "zfill")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict | set) else 0


def _refuse(what: str) -> SecurityError:
    return SecurityError(f"{what} would be larger than the {MAX_TEXT:,} characters a template "
                         "value may hold")


def sized(value: Any) -> Any:
    """`value`, or a SecurityError when it is past MAX_TEXT."""
    if _size(value) > MAX_TEXT:
        raise _refuse("a value")
    return value


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _estimate(name: str, subject: Any, args: Sequence[Any]) -> int:
    """An upper bound of what str method or filter `name` builds from `subject` and `args`."""
    if not isinstance(subject, str):
        return 0
    if name in _PADDING:
        return max(len(subject), *(_number(a) for a in args[:1]), 0)
    if name == "expandtabs":
        return len(subject) + subject.count("\t") * max(_number(args[0]) if args else 8, 1)
    if name == "indent":
        width = args[0] if args else 4
        each = len(width) if isinstance(width, str) else _number(width)
        return len(subject) + (subject.count("\n") + 1) * each
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str):
        old, new = args[0], args[1]
        grow = len(new) if isinstance(new, str) else _size(new)
        return len(subject) + (subject.count(old) if old else len(subject) + 1) * grow
    if name == "regex_replace" and len(args) >= 2:
        # each match (at most one per character, and one at the end) becomes the replacement
        return len(subject) + (len(subject) + 1) * _size(args[1])
    if name in ("format", "format_map"):
        # a width of more digits than int() reads is past any bound (format() would refuse it)
        return len(subject) + sum(int(a or b) if len(a or b) <= MAX_DIGITS else MAX_TEXT + 1
                                  for a, b in _WIDTHS.findall(subject))
    return 0


# what ansible-core turns into a list when a filter or a call gives it (a generator from
# `map` or `unique`, `reverse`'s iterator, `d.keys()`), so it can be stored and shown
_ITERATORS = (Iterator, ItemsView, KeysView, ValuesView, range)


def consumed(value: Any) -> Any:
    """`value`, or the list of what it yields where it is an iterator or a view, as
    ansible-core consumes the output of every filter and call (at most MAX_TEXT items)."""
    if not isinstance(value, _ITERATORS):
        return value
    items = list(islice(value, MAX_TEXT + 1))
    if len(items) > MAX_TEXT:
        raise _refuse("a list")
    return items


# filters that make new text from text: in ansible-core their result is never the trusted
# text they were given, even where Python hands back the same object (a trim of nothing)
_TEXT_FILTERS = frozenset({"capitalize", "center", "format", "indent", "join", "lower",
                           "regex_replace", "regex_search", "replace", "reverse", "striptags",
                           "title", "trim", "truncate", "upper", "urlencode", "wordwrap"})


def made(value: Any, kept: Any = None) -> Any:
    """`value`, its text (also the text items of a list or tuple) marked as text a template
    made: Python may return the very string it was given (`'a'.strip()`, `s[0:]`), which
    would otherwise pass for the trusted text itself. Only `kept` itself stays as it is
    (`s.partition(x)` hands back `s`, ansible-core's trusted text too)."""
    if type(value) is str and value is not kept:
        return UnsafeText(value)
    if isinstance(value, list | tuple):
        return [UnsafeText(v) if type(v) is str and v is not kept else v for v in value]
    return value


def _check(name: str, subject: Any, args: Sequence[Any]) -> None:
    if _estimate(name, subject, args) > MAX_TEXT:
        raise _refuse(f"{name}()")


def bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose arguments are checked before, and its result after, it runs."""
    passes_env = getattr(func, "jinja_pass_arg", None) is not None

    @wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        values = args[1:] if passes_env else args
        if values:
            _check(name, values[0], [*values[1:], *kwargs.values()])
        result = consumed(func(*args, **kwargs))
        if name in _TEXT_FILTERS and (type(result) is str or name == "regex_search"):
            result = made(result)
        return sized(result)

    return bounded


class ChainedUndefined(StrictUndefined):
    """Undefined and strict (any use of it fails), except that an attribute or item of it
    is itself (and so is calling it), as ansible-core's undefined values chain:
    `tags.env | default('none')` and `facts.os is defined` work for a host without `tags`
    or `facts`."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> Any:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # `facts.os.lower()`: undefined too
        return self


class _Generator(CodeGenerator):
    """Compiles `a ~ b` to a join that checks the size first, and marks a slice of text
    (`s[1:]`, which Jinja2 takes without the environment's getitem) as new text."""

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):
            super().visit_Getitem(node, frame)
            return
        self.write("environment.sliced(")
        self.visit(node.node, frame)
        self.write("[")
        self.visit(node.arg, frame)
        self.write("])")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with every operation that can grow a value checked (see the module)."""

    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "%", "**", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: bounded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """The operator, refused when its result would pass the bounds."""
        if operator == "*":
            if _size(left) * _number(right) > MAX_TEXT or _size(right) * _number(left) > MAX_TEXT:
                raise _refuse("a repetition")
        elif operator == "%":
            _check("format", left, ())
        elif operator == "**" and abs(_number(right)) > _MAX_EXPONENT \
                and abs(_number(left)) > 1:
            raise SecurityError(f"an exponent above {_MAX_EXPONENT}")
        elif operator == "+" and _size(left) + _size(right) > MAX_TEXT:
            raise _refuse("a sum")
        result = super().call_binop(context, operator, left, right)
        return sized(made(result) if type(result) is str else result)

    def call(__self, __context: Context, __obj: Any, *args: Any,
             **kwargs: Any) -> Any:
        """A call from a template (a method such as str.center): checked before and after."""
        if isinstance(__obj, ChainedUndefined):  # calling what is undefined: undefined still
            return __obj
        name = getattr(__obj, "__name__", "")
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        _check(name, getattr(method, "__self__", None), [*args, *kwargs.values()])
        result = super().call(__context, __obj, *args, **kwargs)
        # a call's iterator is consumed, but not range()'s: ansible-core keeps it (so
        # `range(n) | random` need not build the list) and refuses to store it
        result = result if isinstance(result, range) else consumed(result)
        receiver = getattr(method, "__self__", None)
        if isinstance(receiver, str):  # a str method: new text (partition may give s back)
            result = made(result, receiver if name in ("partition", "rpartition") else None)
        return sized(result)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """`obj[argument]`; a character or slice of text is new text, as in ansible-core."""
        result = super().getitem(obj, argument)
        return made(result) if isinstance(obj, str) and type(result) is str else result

    def sliced(self, result: Any) -> Any:
        """A slice's result; a slice of text is new text."""
        return made(result) if type(result) is str else result

    def bounded_join(self, parts: Sequence[Any]) -> str:
        """`a ~ b ~ ...`, refused when the joined text would pass MAX_TEXT."""
        texts = [str(p) for p in parts]
        if sum(map(len, texts)) > MAX_TEXT:
            raise _refuse("a concatenation")
        return UnsafeText("".join(texts))


@contextmanager
def step_budget() -> Iterator[None]:
    """Count the template lines run in this thread; past MAX_STEPS, a SecurityError."""
    steps = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal steps
        steps += 1
        if steps > MAX_STEPS:
            raise SecurityError(f"the template ran more than {MAX_STEPS:,} steps")
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        yield
    finally:
        sys.settrace(previous)
