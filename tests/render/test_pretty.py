"""The JSON and OSCAL reports' fast writer writes json.dumps(indent=2)'s text exactly, or
the same data with each record on one line (the run report's layout)."""

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


@pytest.mark.parametrize("bad", [{(1, 2): 3}, {"k": {1, 2}}, [object()], {"k": object()}])
def test_what_json_refuses_it_refuses(bad: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(bad, indent=2)
    with pytest.raises(TypeError):
        pretty.dumps(bad)
    with pytest.raises(TypeError):
        pretty.dumps([bad], rows=True)  # as a row too


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


def _same_data(a: str, b: str) -> bool:
    """True when two JSON texts hold the same data (NaN included)."""
    return json.dumps(json.loads(a)) == json.dumps(json.loads(b))


def test_rows_follow_the_rule() -> None:
    value = {"a": [{"x": 1, "y": [1, 2]}, {"z": [{"q": 1}]}, [[3], {"w": None}]],
             "b": {"c": "é"}, "d": {"e": [1], "g": {}}, "f": [], "h": 2}
    assert pretty.dumps(value, rows=True) == """{
  "a": [
    {"x": 1, "y": [1, 2]},
    {
      "z": [
        {"q": 1}
      ]
    },
    [
      [3],
      {"w": null}
    ]
  ],
  "b": {"c": "é"},
  "d": {
    "e": [1],
    "g": {}
  },
  "f": [],
  "h": 2
}"""


def test_rows_hold_the_same_data_and_stream_as_whole(composite: RunResult) -> None:
    rng = random.Random(4060)  # noqa: S311 -- reproducible test data, not secrets
    values = [_random(rng, 6) for _ in range(1000)]
    values += [composite.to_dict(), synthetic_run(30).to_dict(), oscal.document(composite)]
    for value in values:
        whole = pretty.dumps(value, rows=True)
        assert _same_data(whole, json.dumps(value, indent=2, ensure_ascii=False))
        for depth in (0, 1, 3, 9):
            assert "".join(pretty.iterdumps(value, depth, rows=True)) == whole
        lazy = _lazy(value, rng)
        assert "".join(pretty.iterdumps(lazy, 4, rows=True)) == pretty.dumps(lazy, rows=True)
        assert _same_data(pretty.dumps(lazy, rows=True), whole)


def test_each_record_of_a_run_is_one_line(composite: RunResult) -> None:
    doc = synthetic_run(40).to_dict()
    doc["waivers"] = composite.to_dict()["waivers"]
    lines = pretty.dumps(doc, rows=True).splitlines()
    records = [(8, r) for h in doc["hosts"] for k in ("listeners", "findings", "commands")
               for r in h[k]] + [(4, w) for w in doc["waivers"]]
    assert len(records) > 200 and doc["waivers"]
    for indent, record in records:
        row = " " * indent + json.dumps(record, ensure_ascii=False)
        assert row in lines or row + "," in lines
    for host in doc["hosts"]:  # a host is structure: one key a line
        assert f'      "name": {json.dumps(host["name"])},' in lines
    assert max(len(line) - len(line.lstrip(" ")) for line in lines) == 8  # nothing deeper
