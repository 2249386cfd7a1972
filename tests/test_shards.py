"""Shard assignment: deterministic, balanced, stable as the inventory and the shard count grow;
--shard-by values and child groups; bad shard specs are exit 2 before any host is contacted."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from fleetcheck.engine.shards import hashed_plan, keyed_plan, keys_by, shard_of
from fleetcheck.errors import InputError
from fleetcheck.inventory import load
from fleetcheck.plan import PlannedHost
from tests.conftest import run_cli

NAMES = [f"host{i:05d}.dc{i % 3}.example.net" for i in range(6000)]


def _hosts(names: list[str]) -> list[PlannedHost]:
    return [PlannedHost(n, n, (), ()) for n in names]


def test_a_host_shard_depends_on_its_name_and_the_count_only() -> None:
    before = {n: shard_of(n, 7) for n in NAMES[:3000]}
    grown = hashed_plan(_hosts(NAMES), 7)  # 3000 more hosts, in a different order too
    after = dict(zip(NAMES, grown.assignment, strict=True))
    assert all(after[n] == s for n, s in before.items())
    assert hashed_plan(_hosts(NAMES[::-1]), 7).assignment == grown.assignment[::-1]


def test_shards_are_balanced() -> None:
    counts = Counter(shard_of(n, 8) for n in NAMES)
    assert set(counts) == set(range(1, 9))
    assert max(counts.values()) < 1.15 * len(NAMES) / 8
    assert min(counts.values()) > 0.85 * len(NAMES) / 8


def test_one_more_shard_moves_only_its_share_and_only_to_it() -> None:
    moved = [n for n in NAMES if shard_of(n, 4) != shard_of(n, 5)]
    assert all(shard_of(n, 5) == 5 for n in moved)
    assert 0.15 < len(moved) / len(NAMES) < 0.25  # about 1/5


def test_plan_ids_name_the_assignment() -> None:
    hosts = _hosts(NAMES[:100])
    assert hashed_plan(hosts, 3).id == hashed_plan(hosts[::-1], 3).id
    assert hashed_plan(hosts, 3).id != hashed_plan(hosts, 4).id
    assert hashed_plan(hosts, 3).id != hashed_plan(hosts[:-1], 3).id
    keys = {h.name: "x" if i % 2 else "y" for i, h in enumerate(hosts)}
    plan = keyed_plan(hosts, keys, "site")
    assert plan.names == ("x", "y") and plan.select("y") == 2
    with pytest.raises(InputError, match="no host has site = 'z'"):
        plan.select("z")


def test_keys_by_variable_or_child_groups(tmp_path: Path) -> None:
    inv = tmp_path / "inv.ini"
    inv.write_text("[fra]\nweb1 site=fra\nweb2 site=fra\n[ams]\nweb3 site=ams\n"
                   "[sites:children]\nfra\nams\n")
    inventory = load([str(inv)])
    hosts = _hosts(["web1", "web2", "web3"])
    assert keys_by(inventory, hosts, "site") == {"web1": "fra", "web2": "fra", "web3": "ams"}
    assert keys_by(inventory, hosts, "sites") == {"web1": "fra", "web2": "fra", "web3": "ams"}
    with pytest.raises(InputError, match="host 'web1' has no variable dc"):
        keys_by(inventory, hosts[:1], "dc")


def test_keys_by_refuses_names_unfit_for_a_queue(tmp_path: Path) -> None:
    inv = tmp_path / "inv.ini"
    inv.write_text("web1 site='fra 1'\n")
    with pytest.raises(InputError, match="letters, digits"):
        keys_by(load([str(inv)]), _hosts(["web1"]), "site", option="--queue-by")


@pytest.mark.parametrize(("args", "message"), [
    (["--shard", "3/2"], "expected K/N"),
    (["--shard", "0/2"], "expected K/N"),
    (["--shard", "half"], "expected K/N"),
    (["--shard-by", "site"], "needs --shard NAME"),
    (["--shard-by", "dc", "--shard", "x"], "have no variable dc"),
    (["--shard-by", "site", "--shard", "mars"], "no host has site = 'mars'"),
    (["--queue-by", "site"], "--queue-by is an option of --engine celery"),
])
def test_bad_shard_options_are_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    inv = tmp_path / "inv.ini"  # unresolvable addresses: any contact would be an error, not 2
    inv.write_text("a ansible_host=a.invalid site=x\nb ansible_host=b.invalid site=y\n")
    res = run_cli(["scan", "-i", str(inv), "-o", str(tmp_path / "out"), *args], cwd=tmp_path)
    assert res.code == 2, res.err
    assert message in res.err
    assert len(res.err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
