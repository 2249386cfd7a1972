"""`@frozen` behaves as `@dataclass(frozen=True, slots=True)` does, pair by pair."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from fleetcheck.frozen import frozen, replace


@frozen
class RecPoint:
    x: int
    y: float = 0.0
    tags: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list, compare=False)
    hidden: str = field(default="", repr=False)
    made: tuple[int, ...] = field(default_factory=lambda: (1,), init=False)
    fixed: int = field(default=7, init=False)
    unhashed: int = field(default=0, hash=False)
    KIND: ClassVar[str] = "point"


def _stdlib_twin(cls: type, name: str) -> Any:
    """`cls`'s fields, each with its settings, as `@dataclass(frozen=True, slots=True)`."""
    return dataclasses.make_dataclass(name, [
        (f.name, f.type, field(default=f.default, default_factory=f.default_factory,
                               init=f.init, repr=f.repr, hash=f.hash, compare=f.compare))
        for f in dataclasses.fields(cls)], namespace={"KIND": "point"}, frozen=True, slots=True)


StdPoint = _stdlib_twin(RecPoint, "StdPoint")


@frozen
class Single:
    value: float


@frozen
class Empty:
    pass


@frozen
class Checked:
    low: int
    high: int
    seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low above high")
        self.seen.append("post")


@frozen
class Node:
    name: str
    children: list[Any] = field(default_factory=list)


@frozen(slots=False)
class Loose:
    a: int
    b: str = "b"


CASES: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((1,), {}),
    ((1, 2.5, ("a", "b")), {"notes": ["n"], "hidden": "s", "unhashed": 3}),
    ((), {"x": 4, "y": -1.0}),
]


def _pair(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    return StdPoint(*args, **kwargs), RecPoint(*args, **kwargs)


@pytest.mark.parametrize(("args", "kwargs"), CASES)
def test_same_fields_values_repr_and_hash_as_a_dataclass(args: tuple[Any, ...],
                                                          kwargs: dict[str, Any]) -> None:
    std, rec = _pair(args, kwargs)
    assert dataclasses.asdict(std) == dataclasses.asdict(rec)
    assert [f.name for f in dataclasses.fields(std)] == [f.name for f in dataclasses.fields(rec)]
    assert repr(std).replace("StdPoint", "RecPoint") == repr(rec)
    assert hash(std) == hash(rec)
    assert rec.made == (1,) and rec.fixed == 7 and RecPoint.KIND == "point"
    assert dataclasses.is_dataclass(rec) and RecPoint.__match_args__ == StdPoint.__match_args__
    assert not hasattr(rec, "__dict__")


def test_equality_compares_the_compared_fields_of_the_same_class_only() -> None:
    a, b = RecPoint(1, notes=["x"]), RecPoint(1, notes=["y"])
    assert a == b and hash(a) == hash(b)  # notes: compare=False
    assert RecPoint(1) != RecPoint(2)
    assert RecPoint(1, unhashed=1) != RecPoint(1, unhashed=2)
    assert hash(RecPoint(1, unhashed=1)) == hash(RecPoint(1, unhashed=2))  # hash=False
    other: object = StdPoint(1)
    assert RecPoint(1) != other and RecPoint(1).__eq__(other) is NotImplemented
    nan = float("nan")
    assert Single(nan) == Single(nan)  # a tuple compares an item with itself as equal
    assert hash(Single(2.0)) == hash((2.0,)) and hash(Empty()) == hash(())
    assert Empty() == Empty() and repr(Empty()) == "Empty()"


def test_frozen_as_a_dataclass_is() -> None:
    rec, std = RecPoint(1), StdPoint(1)
    for obj in (rec, std):
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
            obj.x = 2  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'y'"):
            del obj.y
    loose = Loose(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loose.a = 3  # type: ignore[misc]
    assert loose == Loose(1, "b") and loose.__dict__ == {"a": 1, "b": "b"}


def test_init_errors_as_a_dataclass() -> None:
    with pytest.raises(TypeError):
        RecPoint()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        RecPoint(1, made=[2])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="follows default argument"):  # made, not first used
        @frozen
        class Bad:
            a: int = 1
            b: int  # type: ignore[misc]
    with pytest.raises(TypeError, match="field named 'self'"):
        @frozen
        class Selfish:
            self: int


def test_post_init_runs_and_each_instance_gets_its_own_factory_value() -> None:
    one, two = Checked(1, 2), Checked(1, 2)
    assert one.seen == ["post"] and one.seen is not two.seen
    with pytest.raises(ValueError, match="low above high"):
        Checked(3, 1)
    assert RecPoint(1).notes is not RecPoint(1).notes


def test_replace_pickle_and_copy_give_equal_instances() -> None:
    rec = RecPoint(1, 2.0, ("t",), notes=["n"], hidden="s")
    assert dataclasses.replace(rec, x=5) == RecPoint(5, 2.0, ("t",), hidden="s")
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(rec, protocol))  # noqa: S301 - made here
        assert back == rec and back.notes == ["n"] and back.made == (1,)
    assert copy.copy(rec) == rec and copy.deepcopy(rec) == rec
    assert copy.deepcopy(rec).notes is not rec.notes
    assert pickle.loads(pickle.dumps(Loose(2)))  # noqa: S301 - made here == Loose(2)


def test_recursive_repr_is_cut_as_a_dataclass_does() -> None:
    root = Node("root")
    root.children.append(root)
    assert repr(root) == "Node(name='root', children=[...])"


def test_a_frozen_subclass_has_its_own_fields_and_init() -> None:
    @frozen
    class Base:
        a: int

    @frozen
    class Child(Base):
        b: int = 2

    assert Child(1) == Child(1, 2) and Child(1) != Base(1)
    assert repr(Child(1)).endswith("<locals>.Child(a=1, b=2)")
    assert Base(1).a == 1


def test_what_a_frozen_class_cannot_hold_is_said_when_it_is_made() -> None:
    with pytest.raises(TypeError, match="keyword-only"):
        @frozen
        class Kw:
            a: int = field(kw_only=True)
    with pytest.raises(TypeError, match="InitVar"):
        @frozen
        class Iv:
            a: dataclasses.InitVar[int]


def test_the_signature_is_the_fields_before_and_after_the_first_instance() -> None:
    @frozen
    class Fresh:
        a: int
        b: str = "x"
        c: list[int] = field(default_factory=list)

    before = str(inspect.signature(Fresh))
    assert before == "(a: 'int', b: 'str' = 'x', c: 'list[int]' = <factory>) -> None"
    assert Fresh(1).b == "x" and str(inspect.signature(Fresh)) == before
    assert str(inspect.signature(StdPoint)).replace("StdPoint", "RecPoint") == str(
        inspect.signature(RecPoint))


def test_a_plain_subclass_calls_the_frozen_init() -> None:
    @frozen
    class Base:
        a: int

    class Plain(Base):
        def __init__(self) -> None:
            super().__init__(5)

    assert Plain().a == 5 and Base(2).a == 2


def test_replace_is_dataclasses_replace_for_every_class() -> None:
    rec = RecPoint(1, 2.0, notes=["n"])
    again = replace(rec, y=3.0, hidden="h")
    assert again == dataclasses.replace(rec, y=3.0, hidden="h") and again.notes == ["n"]
    assert again.made == (1,)  # init=False: made afresh by __init__
    with pytest.raises(ValueError, match="low above high"):
        replace(Checked(1, 2), low=5)  # __post_init__ runs
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        replace(rec, nope=1)
    with pytest.raises((ValueError, TypeError), match="init=False"):  # TypeError from 3.13
        replace(rec, made=(2,))
    assert replace(StdPoint(1), x=2) == StdPoint(2)  # a dataclass not made here
    assert replace(Single(1.0), value=2.0) == Single(2.0) and replace(Empty()) == Empty()


def test_dataclasses_see_a_frozen_class_and_subclass_it_as_one() -> None:
    params = RecPoint.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen and params.eq and params.init and params.repr

    @dataclass(frozen=True)
    class Below(RecPoint):
        extra: int = 0

    assert Below(1, extra=2).extra == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        Below(1).extra = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="non-frozen"):
        @dataclass
        class Thawed(RecPoint):  # type: ignore[misc]
            extra: int = 0
