"""The seeded differential hunt of history (tests/history/hunt.py) on a few seeds, and the
smallest cases it found, each once a disagreement: random nights of a small fleet are
scanned through the real `fleetcheck scan`, and the scans' database, `history import`,
`history`, `fleetcheck diff`, `--baseline`/`--fail-on-new` and an oracle of the
documented rules must all agree. More seeds: `python -m tests.history.hunt FIRST COUNT`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.history.hunt import check, hunt
from tests.history.hunt_nights import Night, Scenario, Sock, play

SEEDS = (4, 6, 11)  # each disagreed before the fixes of the classes in FOUND


@pytest.mark.parametrize("seed", SEEDS)
def test_random_nights_agree_with_the_documented_rules(tmp_path: Path, seed: int) -> None:
    assert hunt(seed, tmp_path) == []


def _night(when: str, *socks: Sock) -> Night:
    return Night(when=when, socks={"h1": socks})


SSHD_IN_CONTAINER = Sock("tcp", "127.0.0.1", 22, "appd", 3135,
                         ("e2a5d4ffcc60e673", "cache", "registry.example.net/team/api:3.1"),
                         "container-only")
STRAY = Sock("tcp", "0.0.0.0", 8080, "appd", 39959)
SSHD = Sock("tcp", "0.0.0.0", 22, "sshd", 801)

# The smallest scenarios the hunt found (minimised from seeds 4 and 6), one per class.
FOUND: dict[str, Scenario] = {
    # The second night's clock stepped back: it was recorded as an old import, so the
    # third night's fix said it was last seen on the first night, not the second.
    "a scan with its clock behind is the host's newest look": Scenario(4, ("h1",), (
        _night("2026-01-05T04:28:00Z"),
        _night("2026-01-02T02:28:00Z"),
        _night("2026-01-12T23:41:00Z", SSHD_IN_CONTAINER))),
    # `history --host` listed the closing of 'missing tcp/22' (third night) before the
    # opening of the stray (second night): closings followed their own openings.
    "timeline closings at the check that found them gone": Scenario(6, ("h1",), (
        Night(when="2026-01-05T08:47:00Z", socks={"h1": ()}, keep_days=0),
        Night(when="2026-01-06T13:11:00Z", socks={"h1": (STRAY,)}, keep_days=0),
        Night(when="2026-01-07T15:39:00Z", socks={"h1": (SSHD,)}, keep_days=0))),
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_smallest_cases_found(tmp_path: Path, name: str) -> None:
    assert check(play(FOUND[name], tmp_path)) == []
