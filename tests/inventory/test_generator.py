"""The generator inventory plugin: bad sources are one located error (exit 2); an unknown
option is ignored with a warning (ansible-core ignores it silently).

What generator makes of a source is compared with ansible-inventory by the oracle tests
(the `generator` case in cases.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _listed(tmp_path: Path, body: str) -> tuple[int, str, str]:
    (tmp_path / "gen.yml").write_text("plugin: generator\n" + body)
    res = run_cli(["inventory", "-i", str(tmp_path / "gen.yml"), "--list"], cwd=tmp_path)
    return res.code, res.out, res.err


ERRORS = [
    ("hosts: {name: 'h{{ n }}'}\nlayers: {n: 3}\n", 3,
     "generator: layers must map each layer's name to a list of its values"),
    ("hosts: {parents: []}\nlayers: {n: [1]}\n", 2,
     "generator: hosts must be a mapping with a name template"),
    ("hosts:\n  name: 'h{{ n }}'\n  parents:\n    - vars: {a: 1}\nlayers: {n: [1]}\n", 4,
     "generator: element h1 has a parent with no name"),
    ("hosts:\n  name: 'h{{ n }}'\n  parents:\n    - name: g\n      vars: [a]\n"
     "layers: {n: [1]}\n", 4, "generator: the vars of group 'g' must be a mapping"),
    ("hosts: {name: 'h{{ a }}{{ b }}{{ c }}'}\nlayers:\n  a: [" + ", ".join(map(str, range(50)))
     + "]\n  b: [" + ", ".join(map(str, range(50))) + "]\n  c: [" + ", ".join(map(str, range(50)))
     + "]\n", 3, "generator: the layers make 125,000 hosts (more than 100,000, the limit)"),
    ("hosts: {name: '{{ nosuch }}'}\nlayers: {n: [1]}\n", 2,
     "generator: cannot render '{{ nosuch }}': 'nosuch' is undefined"),
    ("hosts: {name: '{{ n | to_json }}'}\nlayers: {n: [1]}\n", 2,
     "generator: cannot render '{{ n | to_json }}': No filter named 'to_json' here"),
]


@pytest.mark.parametrize(("body", "line", "message"), ERRORS)
def test_a_bad_generator_source_is_one_located_error(tmp_path: Path, body: str, line: int,
                                                     message: str) -> None:
    code, out, err = _listed(tmp_path, body)
    assert (code, out) == (2, "")
    assert err.startswith(f"fleetcheck: error: {tmp_path}/gen.yml:{line}: ")
    assert message in err and err.count("\n") == 1


def test_an_unknown_option_is_ignored_with_a_warning(tmp_path: Path) -> None:
    code, out, err = _listed(tmp_path, "strict: true\nhosts: {name: 'h{{ n }}'}\n"
                                       "layers: {n: [1, 2]}\n")
    assert code == 0 and json.loads(out)["ungrouped"] == {"hosts": ["h1", "h2"]}
    assert "gen.yml:2: generator: unknown option 'strict' is ignored" in err
