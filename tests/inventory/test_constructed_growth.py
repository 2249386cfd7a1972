"""A constructed source grows linearly with the groups it makes under a parent group.

Found: each keyed group put under its `parent_group` recomputed every group's depth, and
looked the new child up in the parent's list of children: a keyed group per host under
one parent was quadratic (9,600 hosts: minutes). Depths now rise from the new edge down,
as ansible-core raises them; ansible-inventory says the variables that depth decides are
the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from fleetcheck import inventory as inv
from tests.conftest import run_cli
from tests.growth import FACTOR, LIMIT, growth
from tests.inventory.oracle import Oracle, require_ansible

KEYED = """\
plugin: constructed
keyed_groups:
  - key: role
    prefix: role
    parent_group: tier
  - key: site
    prefix: site
    parent_group: "role_{{ role }}"
  - key: own
    prefix: own
    parent_group: "site_{{ site }}"
"""


def test_depths_decide_variables_as_in_ansible(tmp_path: Path) -> None:
    """Groups made under groups made earlier: the deepest group's variable wins, as
    ansible-core decides it, whichever host made each edge."""
    require_ansible()
    root = tmp_path / "inv"
    (root / "group_vars").mkdir(parents=True)
    (root / "01-hosts.ini").write_text(
        "[web]\nh1 role=web site=fra own=a\nh2 role=db site=fra own=b\n"
        "h3 role=web site=iad own=c\nh4 role=web site=fra own=d\n")
    (root / "02-constructed.yml").write_text(KEYED)
    for group, value in (("tier", 1), ("role_web", 2), ("site_fra", 3), ("own_d", 4),
                         ("role_db", 5), ("web", 6)):
        (root / "group_vars" / f"{group}.yml").write_text(f"x: {value}\nfrom_{group}: 1\n")
    args = ["-i", str(root), "--list"]
    theirs = Oracle(tmp_path / "o").run("ansible-inventory", args)
    assert theirs.code == 0, theirs.err
    ours = run_cli(["inventory", *args], cwd=tmp_path)
    assert ours.code == 0, ours.err
    assert json.loads(ours.out) == json.loads(theirs.out)
    assert {h: v["x"] for h, v in json.loads(ours.out)["_meta"]["hostvars"].items()} == {
        "h1": 3, "h2": 3, "h3": 2, "h4": 4}


def _loader(tmp_path: Path, n: int) -> Callable[[], None]:
    root = tmp_path / f"inv{n}"
    root.mkdir()
    (root / "01-hosts.ini").write_text("[web]\n" + "".join(f"h{i:05d} own=o{i}\n"
                                                           for i in range(n)))
    (root / "02-constructed.yml").write_text(
        "plugin: constructed\nkeyed_groups:\n  - key: own\n    parent_group: owners\n")

    def load() -> None:
        assert len(inv.load([str(root)]).hosts) == n
    return load


def test_a_keyed_group_per_host_under_parents_costs_linear_time(tmp_path: Path) -> None:
    assert growth(_loader(tmp_path, 150), _loader(tmp_path, 150 * FACTOR)) < LIMIT

