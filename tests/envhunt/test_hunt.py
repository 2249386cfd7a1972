"""The environment hunt in the suite: a few seeds, and the cases it found, each a real
`fleetcheck` process under the fault against a small lab of real sshd hosts, judged by the
oracle against the same command in a clean environment (tests/envhunt/hunt.py runs
hundreds: `python -m tests.envhunt.hunt FIRST COUNT`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.envhunt import faults as fl
from tests.envhunt.faults import Fault
from tests.envhunt.hunt import Case, Hunt, draw
from tests.envhunt.world import World
from tests.lab.prereq import require_sshd_lab

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def hunt() -> Iterator[Hunt]:
    """One small lab (a compliant host, one with a stray TCP 1923, one down) for the module."""
    require_sshd_lab()
    world = World().start()
    try:
        yield Hunt(world)
    finally:
        world.stop()


@pytest.mark.parametrize("seed", [3])
def test_seeded(hunt: Hunt, seed: int) -> None:
    case = draw(seed)
    assert hunt.check(case) == [], case.describe()


def _case(command: str, shape: str, *faults: Fault) -> Case:
    return Case(0, command, shape, "explicit", "strict", 50 if "many" in shape else 5, faults)


CLOSED = Fault("streams <&- >&- 2>&-", redirect="<&- >&- 2>&-",
               allows=frozenset({fl.NOOUT, fl.NOERR, fl.LOST}))
FOUND = {
    # every standard stream closed: the report files took their numbers (exit 1 became a
    # lost report, or 70 when only stdout was closed)
    "all-closed": _case("scan", "viol", CLOSED),
    # 60 hosts, 50 forks, 8 tasks in all: threads that cannot start were an internal error
    "pids": _case("scan", "many", Fault("pids.max 8", pids_max=8,
                                        allows=frozenset({fl.HOSTERR, fl.LOST}))),
    # 32 open files for 50 forks: hosts lost to EMFILE, now checked fewer at a time
    "nofile": _case("scan", "many", Fault("ulimit -n 32", limits=("ulimit -n 32",))),
    # 600 MiB of address space for 50 forks: threads' stacks and malloc arenas took it all
    # (hosts lost to failed imports and allocations, a worker aborted): fewer at once now
    "memory": _case("scan", "many", Fault("ulimit -v 600M", limits=("ulimit -v 614400",))),
    # accept-new with ~/.ssh/known_hosts a directory: the key that could not be recorded
    # made the host an internal error (now host_key_unknown, naming the file)
    "kh-dir": Case(0, "scan", "ok", "home", "accept-new", 5, (Fault(
        "known_hosts dir", pre=("rm -f {W}/home/.ssh/known_hosts",
                                "mkdir {W}/home/.ssh/known_hosts"),
        allows=frozenset({fl.HOSTERR})),)),
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_found(hunt: Hunt, name: str) -> None:
    assert hunt.check(FOUND[name]) == [], FOUND[name].describe()
