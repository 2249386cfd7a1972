"""YAML as Ansible reads it: `<<: *defaults` followed by keys that override it is valid
YAML 1.1, never a duplicate key — in inventories, vars files, policies and waivers.

The values are the merge type's (yaml.org/type/merge.html): a mapping's own keys override
merged ones, and of several merged mappings the earlier wins. PyYAML agrees, unless it is
one with the merge-precedence regression (see tests/yamlmerge.py); ansible-core is the
oracle for inventories in tests/inventory/test_warnings.py (yaml-merge.yml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetcheck.errors import InputError
from fleetcheck.inventory.datafile import load_data
from fleetcheck.inventory.notes import Notes
from fleetcheck.policy.load import load_policies
from fleetcheck.policy.waiver_load import load_waivers
from fleetcheck.yamlsrc import load_text
from tests.conftest import run_cli
from tests.yamlmerge import pyyaml_merges_follow_the_spec

DOCUMENTS: list[tuple[str, dict[str, Any]]] = [
    ("d: &d {a: 1, b: 2}\ne: {<<: *d, a: 3}\n",
     {"d": {"a": 1, "b": 2}, "e": {"a": 3, "b": 2}}),
    ("d: &d {a: 1, b: 2}\nx: &x {c: 3, a: 0}\nm: {<<: [*d, *x], b: 9}\n",
     {"d": {"a": 1, "b": 2}, "x": {"c": 3, "a": 0}, "m": {"a": 1, "b": 9, "c": 3}}),
    ("d: &d {a: 1}\nmid: &mid {<<: *d, a: 2, z: 0}\ntop: {<<: *mid, z: 1}\n",
     {"d": {"a": 1}, "mid": {"a": 2, "z": 0}, "top": {"a": 2, "z": 1}}),
    ("base: &base\n  k: [1, 2]\n  n: {deep: true}\nuse:\n  <<: *base\n  k: []\n",
     {"base": {"k": [1, 2], "n": {"deep": True}}, "use": {"k": [], "n": {"deep": True}}}),
    ("l: [&i {p: 1, q: 2}, {<<: *i, q: 3}, {<<: *i}]\n",
     {"l": [{"p": 1, "q": 2}, {"p": 1, "q": 3}, {"p": 1, "q": 2}]}),
    ("one: &one {port: 22}\ntwo: &two {port: 2200, motd: hi}\nh: {<<: [*one, *two]}\n",
     {"one": {"port": 22}, "two": {"port": 2200, "motd": "hi"},
      "h": {"port": 22, "motd": "hi"}}),
]


@pytest.mark.parametrize(("text", "expected"), DOCUMENTS)
def test_merges_resolve_as_the_merge_type_says(text: str, expected: dict[str, Any]) -> None:
    assert load_text(text, "doc.yml") == expected
    notes = Notes()
    assert load_data(text, "doc.yml", None, notes) == expected
    assert notes.items == []  # overriding a merged key is no duplicate


@pytest.mark.parametrize(("text", "expected"), DOCUMENTS)
def test_pyyaml_resolves_them_alike_unless_it_has_the_regression(
        text: str, expected: dict[str, Any]) -> None:
    assert yaml.safe_load(text) == expected or not pyyaml_merges_follow_the_spec()


def test_keys_written_twice_are_still_duplicates() -> None:
    text = "d: &d {a: 1}\ne:\n  <<: *d\n  a: 2\n  a: 3\n"
    with pytest.raises(InputError, match="duplicate key 'a'") as exc:
        load_text(text, "p.yml")
    assert (exc.value.line, exc.value.column) == (5, 3)
    notes = Notes()
    assert load_data(text, "inv.yml", None, notes)["e"]["a"] == 3  # inventories: last wins
    assert [str(w) for w in notes.items] == [
        "inv.yml:5:3: found duplicate mapping key 'a', using last defined value only"]


def test_a_policy_may_build_rules_from_merged_defaults(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("""\
name: web
hosts: all
allow:
  - &https {id: https, proto: tcp, port: 443, reason: TLS}
  - <<: *https
    id: https-alt
    port: 8443
""")
    policy, = load_policies([path])
    rules = {r.id: r for r in policy.rules}
    assert rules["https-alt"].match.ports == ((8443, 8443),)
    assert rules["https"].match.ports == ((443, 443),)
    assert rules["https-alt"].reason == "TLS"
    res = run_cli(["validate", "-p", "web.yml"], cwd=tmp_path)
    assert res.code == 0, res.out


def test_a_waiver_may_inherit_from_another(tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_text("""\
waivers:
  - &w1
    id: W1
    hosts: all
    port: 8080
    reason: r
    owner: alice
    approved_by: bob
    created: 2030-01-01
    expires: 2030-12-31
  - <<: *w1
    id: W2
    port: 9090
    owner: carol
""")
    first, second = load_waivers([path])
    assert (second.id, second.owner, second.approved_by) == ("W2", "carol", "bob")
    assert first.owner == "alice"
    res = run_cli(["validate", "-w", "w.yml", "--today", "2030-06-01"], cwd=tmp_path)
    assert res.code == 0, res.out
