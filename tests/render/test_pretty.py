"""The JSON and OSCAL reports' fast writer writes json.dumps(indent=2)'s text exactly."""

from __future__ import annotations

import enum
import json
import random
from typing import Any

import pytest

from fleetcheck.evidence import oscal
from fleetcheck.model import RunResult
from fleetcheck.render import pretty
from tests.render.synthetic import synthetic_run


class _Word(enum.StrEnum):
    A = "a\u2028"


class _Num(enum.IntEnum):
    ONE = 1


_LEAVES: list[Any] = ["", "x", "é\"\\\n\t\x00\x1f\u2028</script>", "日本", 0, -7, 2**70, 1.5,
                      -0.0, 1e300, 1e-7, float("nan"), float("inf"), float("-inf"), True,
                      False, None, _Word.A, _Num.ONE, [], {}, ()]


def _random(rng: random.Random, depth: int) -> Any:
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(_LEAVES)
    if rng.random() < 0.5:
        return [_random(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    keys: list[Any] = ["k", "é", "", 3, 2.5, True, False, None, _Word.A, "z"]
    return {rng.choice(keys): _random(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def test_same_text_as_the_standard_library(composite: RunResult) -> None:
    rng = random.Random(1923)  # noqa: S311 -- reproducible test data, not secrets
    values = [_random(rng, 5) for _ in range(2000)]
    values += [composite.to_dict(), synthetic_run(50).to_dict(), oscal.document(composite)]
    for value in values:
        assert pretty.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("bad", [{(1, 2): 3}, {"k": {1, 2}}, [object()]])
def test_what_json_refuses_it_refuses(bad: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(bad, indent=2)
    with pytest.raises(TypeError):
        pretty.dumps(bad)


def test_in_pieces_the_same_text(composite: RunResult) -> None:
    rng = random.Random(17)  # noqa: S311 -- reproducible test data, not secrets
    values = [_random(rng, 6) for _ in range(500)]
    values += [composite.to_dict(), oscal.document(composite)]
    for value in values:
        whole = pretty.dumps(value)
        for depth in (0, 1, 2, 4, 9):
            assert "".join(pretty.iterdumps(value, depth)) == whole


def _lazy(value: Any, rng: random.Random) -> Any:
    """`value` with some of its lists made only when written."""
    if isinstance(value, dict):
        return {k: _lazy(v, rng) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_lazy(v, rng) for v in value]
        return pretty.Lazy(lambda: iter(items)) if rng.random() < 0.5 else items
    return value


def test_lazy_arrays_are_written_as_their_items() -> None:
    rng = random.Random(23)  # noqa: S311 -- reproducible test data, not secrets
    for _ in range(500):
        value = _random(rng, 6)
        lazy = _lazy(value, rng)
        whole = json.dumps(value, indent=2, ensure_ascii=False)
        assert pretty.dumps(lazy) == whole
        for depth in (0, 2, 5):
            assert "".join(pretty.iterdumps(lazy, depth)) == whole
