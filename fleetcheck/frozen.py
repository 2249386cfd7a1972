"""`@frozen`: a frozen dataclass whose methods are shared, not compiled class by class.

A frozen, slotted `@dataclass` makes six methods for each class from source text, each
compiled with its own `exec` (`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`,
`__delattr__`): for fleetcheck's ~160 classes ~125 ms of every run's start, two thirds of
it for the five that do not depend on the class's fields' defaults. Here those five are
closures over one `operator.attrgetter` per class, made without compiling anything, and
only `__init__` is compiled (once per class, on its first instance: a scan makes about
half of the classes it loads). Behaviour is the dataclass's: the same equality (a tuple
of the compared fields, the same class only), hash, repr (recursion-safe), the same
`FrozenInstanceError`, pickling and `copy` through `__getstate__`/`__setstate__`, and
`dataclasses.fields`, `replace` and `asdict` work on them unchanged.
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")
_NO_KEY: Callable[[Any], tuple[Any, ...]] = lambda _: ()  # noqa: E731


@overload
def frozen(cls: type[T], /) -> type[T]: ...
@overload
def frozen(*, slots: bool = True) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(cls: type[T] | None = None, /, *, slots: bool = True) -> Any:
    """`cls` as a frozen dataclass (slotted unless `slots=False`), its methods shared."""
    if cls is None:
        return lambda c: _make(c, slots)
    return _make(cls, slots)


def _make(cls: type[T], slots: bool) -> type[T]:
    """The dataclass of `cls`: the field machinery from `dataclasses`, the methods from here."""
    user_defined = set(cls.__dict__)  # the class's own methods stay, as with a dataclass
    if cls.__dict__.get("__hash__", 0) is None and "__eq__" in user_defined:
        user_defined.discard("__hash__")  # Python's None beside the class's own __eq__
    # `dataclasses` refuses a non-frozen class below a frozen one: below another @frozen
    # class this one is made frozen there too (its two generated methods replaced below).
    frozen_base = any(b.__dict__["__dataclass_params__"].frozen for b in cls.__mro__[1:]
                      if "__dataclass_params__" in b.__dict__)
    made: Any = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=slots,
                                      frozen=frozen_base)
    every = made.__dataclass_fields__.values()
    fields = dataclasses.fields(made)
    if len(fields) != len([f for f in every if not _is_classvar(f)]):
        raise TypeError(f"{made.__qualname__}: @frozen has no InitVar fields")
    if any(f.kw_only is True for f in fields):
        raise TypeError(f"{made.__qualname__}: @frozen has no keyword-only fields")
    _check_init(made.__qualname__, fields)  # now, as a dataclass would, not on first use
    compared = _key([f.name for f in fields if f.compare])
    hashed = _key([f.name for f in fields if (f.compare if f.hash is None else f.hash)])
    shown = tuple(f.name for f in fields if f.repr)

    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({inner})"

    methods: dict[str, Any] = {"__eq__": __eq__, "__hash__": __hash__, "__repr__": __repr__}
    for method in methods.values():
        method.__qualname__ = f"{made.__qualname__}.{method.__name__}"
    methods |= {"__setattr__": _frozen_setattr, "__delattr__": _frozen_delattr,
                "__init__": _FirstInit(made, fields)}
    init_names = [f.name for f in fields if f.init]
    made.__frozen_init__ = (_key(init_names), {name: i for i, name in enumerate(init_names)})
    if slots:
        methods |= {"__getstate__": _getstate, "__setstate__": _setstate}
    for name, method in methods.items():
        if name in ("__setattr__", "__delattr__") and name in user_defined:
            raise TypeError(f"{made.__qualname__}: a frozen class cannot define {name}")
        if name not in user_defined:
            setattr(made, name, method)
    params = made.__dataclass_params__  # what the class is, for dataclasses and its readers
    params.init = params.repr = params.eq = params.frozen = True
    return made  # type: ignore[no-any-return]


def replace(obj: T, /, **changes: Any) -> T:
    """As `dataclasses.replace`: a new instance made through `__init__` (`__post_init__`
    runs, init=False fields are made afresh), the same errors; for a @frozen class its
    values are read in one call and passed by position (~3x faster for a class of twenty
    fields, and hosts' results are made by replacing a field or two, many times a host)."""
    spec = obj.__class__.__dict__.get("__frozen_init__")  # not a plain subclass's parent's
    if spec is None:
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    get, index = spec
    values = list(get(obj))
    try:
        for name, value in changes.items():
            values[index[name]] = value
    except KeyError:  # no such field, or one __init__ does not take: dataclasses says which
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    return obj.__class__(*values)


def _is_classvar(f: dataclasses.Field[Any]) -> bool:
    """Whether a pseudo-field of `__dataclass_fields__` is a ClassVar (no InitVar is kept)."""
    return f._field_type is dataclasses._FIELD_CLASSVAR  # type: ignore[attr-defined]


def _key(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function of an instance giving the tuple of `names`' values (as the dataclass's
    generated methods compare and hash it: a one-field class still a 1-tuple)."""
    if not names:
        return _NO_KEY
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda self: (one(self),)
    return attrgetter(*names)


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=True):
        object.__setattr__(self, f.name, value)


class _FirstInit:
    """A class's `__init__` until its first use, which compiles the class's own and puts it
    in its place. `inspect.signature` (and so `help`) asks for it too: it sees the real one."""

    def __init__(self, cls: Any, fields: tuple[dataclasses.Field[Any], ...]) -> None:
        self.cls, self.fields = cls, fields

    def real(self) -> Callable[..., None]:
        """The class's compiled `__init__`, in the class from now on."""
        init = _compile_init(self.cls, self.fields)
        if self.cls.__dict__.get("__init__") is self:  # a second thread may have been first
            type.__setattr__(self.cls, "__init__", init)
        return self.cls.__init__  # type: ignore[no-any-return]

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self.real() if obj is None else self.real().__get__(obj, owner)


def _check_init(name: str, fields: tuple[dataclasses.Field[Any], ...]) -> None:
    """TypeError for fields `__init__` could not take in order, or whose names are its own."""
    seen_default = False
    for f in fields:
        if f.name in ("self", "_setattr", "_FACTORY") or f.name.startswith("_dflt_"):
            raise TypeError(f"{name}: @frozen cannot have a field named {f.name!r}")
        if not f.init:
            continue
        has_default = (f.default is not dataclasses.MISSING
                       or f.default_factory is not dataclasses.MISSING)
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        seen_default |= has_default


def _compile_init(cls: Any, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """The class's `__init__`, as a frozen dataclass's is: each field set through
    `object.__setattr__`, defaults and default factories as `dataclasses` treats them,
    then `__post_init__` when the class has one (the fields checked by `_check_init`)."""
    names: dict[str, Any] = {"_setattr": object.__setattr__,
                             "_FACTORY": dataclasses._HAS_DEFAULT_FACTORY}  # type: ignore[attr-defined]
    params, body = ["self"], []
    for f in fields:
        default = f"_dflt_{f.name}"
        if f.default_factory is not dataclasses.MISSING:
            names[default] = f.default_factory
            value = f"{default}()"
            if f.init:
                value = f"{value} if {f.name} is _FACTORY else {f.name}"
        elif f.default is not dataclasses.MISSING:
            names[default] = f.default
            value = f.name if f.init else default
        elif f.init:
            value = f.name
        else:
            continue
        if f.init:
            if f.default_factory is not dataclasses.MISSING:
                params.append(f"{f.name}=_FACTORY")
            elif f.default is not dataclasses.MISSING:
                params.append(f"{f.name}={default}")
            else:
                params.append(f.name)
        body.append(f"  _setattr(self, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("  self.__post_init__()")
    source = (f"def __make__({', '.join(names)}):\n"
              f" def __init__({', '.join(params)}):\n"
              + ("\n".join(" " + line for line in body) or "  pass") + "\n"
              " return __init__\n")
    space: dict[str, Any] = {}
    exec(source, {}, space)  # noqa: S102 - text made here from field names only
    init: Callable[..., None] = space["__make__"](**names)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {f.name: f.type for f in fields if f.init} | {"return": None}
    return init
