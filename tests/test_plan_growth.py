"""Planning gives each host its policies in time linear in hosts and policies together.

Found: each host asked every policy whether it applied, so a fleet with a policy per host
was quadratic in planning (4,000 of each: 16 million questions, every `scan` and every
`--list-hosts`). Policies are now found by host name; which apply, and in which order,
is what each policy's `hosts` pattern selects, in load order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fleetcheck import inventory as inv
from fleetcheck.plan import plan
from fleetcheck.policy import Policy
from tests.growth import FACTOR, LIMIT, growth


def _policies(n: int) -> list[Policy]:
    """One policy for every host, one per pair of hosts, one for a group, one for all."""
    own = [Policy(name=f"own{i}", path="p.yml", rules=(), hosts=f"h{i:05d}") for i in range(n)]
    pairs = [Policy(name=f"pair{i}", path="p.yml", rules=(), hosts=f"h{i:05d}:h{i + 1:05d}")
             for i in range(0, n, 2)]
    return [Policy(name="all", path="p.yml", rules=()), *own[: n // 2],
            Policy(name="odd", path="p.yml", rules=(), hosts="odd"), *pairs, *own[n // 2:],
            Policy(name="none", path="p.yml", rules=(), hosts="nomatch")]


def _inventory(tmp_path: Path, n: int) -> inv.Inventory:
    path = tmp_path / f"hosts{n}.ini"
    path.write_text("[even]\n" + "".join(f"h{i:05d}\n" for i in range(0, n, 2))
                    + "[odd]\n" + "".join(f"h{i:05d}\n" for i in range(1, n, 2)))
    return inv.load([str(path)])


def test_each_host_gets_the_policies_selecting_it_in_load_order(tmp_path: Path) -> None:
    planned = plan(_inventory(tmp_path, 6), _policies(6))
    assert [(h.name, h.policy_names) for h in planned] == [
        ("h00000", ("all", "own0", "pair0")),
        ("h00002", ("all", "own2", "pair2")),
        ("h00004", ("all", "pair4", "own4")),
        ("h00001", ("all", "own1", "odd", "pair0")),
        ("h00003", ("all", "odd", "pair2", "own3")),
        ("h00005", ("all", "odd", "pair4", "own5")),
    ]


def _planner(tmp_path: Path, n: int) -> Callable[[], None]:
    inventory, policies = _inventory(tmp_path, n), _policies(n)

    def plan_all() -> None:
        assert len(plan(inventory, policies)) == n
    return plan_all


def test_a_policy_per_host_plans_in_linear_time(tmp_path: Path) -> None:
    assert growth(_planner(tmp_path, 150), _planner(tmp_path, 150 * FACTOR)) < LIMIT
