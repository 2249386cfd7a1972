"""Random host patterns and limits over generated fleets: fleetcheck selects what ansible-core
selects, in its order, with its warnings.

Each seed takes test_random_oracle's fleet for that seed, adds an INI source of
addresses, dotted names and names shared by hosts and groups, and draws patterns
(patterngen). Each pattern P is asked as `ansible P --list-hosts` and as
`fleetcheck inventory --limit P --list-hosts` (and `scan --list-hosts`). Each `@file`
limit L is asked of fleetcheck as `--limit L` (sometimes after another `--limit`: the
last wins in both tools) and of Ansible twice: as `ansible P --list-hosts`, P being L
with the file's lines in place of `@file` (what fleetcheck's --limit answers, hosts,
order and warnings), and as `ansible all --limit L --list-hosts` (which reads the file
itself: the same hosts, and the same stop on an invalid regex).

FLEETCHECK_PATTERN_SEEDS picks the seeds: `7` replays seed 7, `0-999` runs a thousand.
"""

from __future__ import annotations

import json
import os
import random
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import ahead
from tests.conftest import CliResult, run_cli
from tests.inventory.oracle import Oracle, Run, hosts_of, require_ansible, unmatched_terms
from tests.inventory.patterngen import Drawer, Limit, names, order_is_defined, special_source
from tests.inventory.test_random_oracle import Fleet
from tests.inventory.test_random_oracle import _fleet as base_fleet


def _seeds() -> list[int]:
    given = os.environ.get("FLEETCHECK_PATTERN_SEEDS", "")
    if not given:
        return list(range(40))
    first, _, last = given.partition("-")
    return list(range(int(first), int(last or first) + 1))


SEEDS = _seeds()
PATTERNS = 9  # per seed, each asked of `ansible PATTERN` (every third of `scan` too)
LIMITS = 2  # per seed, `@file` limits
GUARD = 8  # every GUARD-th seed is also asked of fresh processes (the listing too)
_REMOVED = "inclusive subscripts instead of [x-y]"


@dataclass(frozen=True)
class Case:
    """One seed: its fleet, fleetcheck's listing of it, and what is asked."""

    fleet: Fleet
    listing: str
    patterns: list[str]
    limits: list[tuple[Limit, str]]  # with the written file's path

    def limit_args(self, n: int) -> list[str]:
        """The --limit options of limit n (an earlier one first, when drawn)."""
        limit, path = self.limits[n]
        given = [] if limit.earlier is None else ["--limit", limit.earlier]
        return [*given, "--limit", limit.written(path)]

    def limit_pattern(self, n: int) -> str:
        """Limit n as one pattern: the file's lines (stripped, blank ones left out) in place
        of its `@file` term, all terms joined by ','."""
        limit, path = self.limits[n]
        lines = [line.strip() for line in limit.lines if line.strip()]
        terms = _split(limit.written(path))
        # a trailing ',': a pattern holding a comma is split on commas only, as the file is
        return ",".join(t for term in terms
                        for t in (lines if term == f"@{path}" else [term])) + ","


def _case(seed: int, root: Path) -> Case:
    fleet = base_fleet(seed, root)
    rng = random.Random(seed + 2_000_003)  # noqa: S311 - reproducible fixtures
    if rng.random() < 0.7:
        special = root / f"special{seed}.ini"
        special_source(rng, special)
        fleet = Fleet([*fleet.sources, str(special)], [], fleet.extra)
    listing = run_cli(["inventory", *fleet.args(), "--list"], cwd=root)
    assert listing.code == 0, (seed, listing.err)
    drawer = Drawer(rng, json.loads(listing.out))
    patterns = [drawer.pattern() for _ in range(PATTERNS)]
    limits = []
    for n in range(LIMITS):
        limit = drawer.limit()
        path = root / f"limit{seed}-{n}.txt"
        path.write_text("\n".join(limit.lines) + "\n")
        limits.append((limit, str(path)))
    return Case(fleet, listing.out, patterns, limits)


@dataclass(frozen=True)
class Answers:
    """ansible-core's answers for one seed (fresh: only on every GUARD-th seed)."""

    all_hosts: Run  # `ansible all --list-hosts`
    patterns: list[Run]  # `ansible P --list-hosts`, each pattern
    as_patterns: list[Run]  # `ansible P --list-hosts`, each limit written as a pattern
    as_limits: list[Run]  # `ansible all --limit L --list-hosts`, each limit
    fresh: list[Run]  # `ansible-inventory --list` and the first pattern, fresh processes


def ask_ahead(root: Path) -> Callable[[], dict[int, tuple[Case, Answers]]]:
    """Every seed's case written under `root` and ansible-core asked (tests/ahead.py)."""
    cases = {seed: _case(seed, root) for seed in SEEDS}
    shared, fresh = [], []
    for seed, case in cases.items():
        inv = case.fleet.args()
        shared.append((inv, [["all", *inv, "--list-hosts"],
                             *([p, *inv, "--list-hosts"] for p in case.patterns),
                             *([case.limit_pattern(n), *inv, "--list-hosts"]
                               for n in range(LIMITS)),
                             *(["all", *case.limit_args(n), *inv, "--list-hosts"]
                               for n in range(LIMITS))]))
        if seed % GUARD == 0:
            fresh += [("ansible-inventory", [*inv, "--list"]),
                      ("ansible", [case.patterns[0], *inv, "--list-hosts"])]
    pending = Oracle(root / "oracle").start(fresh, shared, background=True)

    def collect() -> dict[int, tuple[Case, Answers]]:
        plain, grouped = pending.result()
        out = {}
        for (seed, case), runs in zip(cases.items(), grouped, strict=True):
            first, limits = 1 + PATTERNS, 1 + PATTERNS + LIMITS
            checked = plain[:2] if seed % GUARD == 0 else []
            plain = plain[len(checked):]
            out[seed] = (case, Answers(runs[0], runs[1:first], runs[first:limits],
                                       runs[limits:], checked))
        return out
    return collect


@pytest.fixture(scope="module")
def asked(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Case, Answers]]:
    require_ansible()
    answers: dict[int, tuple[Case, Answers]] = ahead.take(__name__, tmp_path_factory, ask_ahead)
    return answers


# Python's `re` hints at odd regex terms (a possible nested set) as ansible-core's does; the
# command line keeps such warnings off the terminal (tests/test_launch.py), in-process not.
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("seed", SEEDS)
def test_patterns_select_as_ansible_does(asked: dict[int, tuple[Case, Answers]],
                                         seed: int) -> None:
    case, answers = asked[seed]
    cwd = Path(case.fleet.sources[0]).parent
    inv = case.fleet.args()
    document = json.loads(case.listing)
    if answers.fresh:  # the shared reading answers as fresh processes do
        listing, first = answers.fresh
        assert (listing.code, listing.out) == (0, case.listing), f"seed {seed}: --list differs"
        shared = answers.patterns[0]
        assert first.code == shared.code, seed
        if first.code == 0:  # in order where Ansible's own is fixed
            ordered = order_is_defined(document, _split(case.patterns[0]))
            assert (hosts_of(first) if ordered else sorted(hosts_of(first))) \
                == (hosts_of(shared) if ordered else sorted(hosts_of(shared))), seed
        reading = set(listing.err.splitlines())  # warnings made once, by the shared reading
        assert set(first.err.splitlines()) - reading \
            == set(shared.err.splitlines()) - reading, seed
    every = run_cli(["inventory", *inv, "--list-hosts"], cwd=cwd).out.splitlines()
    if order_is_defined(document, ["all"]):
        assert every == hosts_of(answers.all_hosts), f"seed {seed}: all hosts differ"
    assert sorted(every) == sorted(hosts_of(answers.all_hosts)), f"seed {seed}: all hosts"
    for n, (pattern, run) in enumerate(zip(case.patterns, answers.patterns, strict=True)):
        why = f"seed {seed}: pattern {pattern!r}"
        ours = run_cli(["inventory", *inv, "--limit", pattern, "--list-hosts"], cwd=cwd)
        _same_selection(document, pattern, run, ours, why)
        if n % 3:
            continue
        scan = run_cli(["scan", *inv, "--limit", pattern, "--list-hosts"], cwd=cwd)
        assert unmatched_terms(scan.err) == unmatched_terms(ours.err), (why, scan.err)
        if ours.code == 0:  # scan stops where no host is selected (a scan needs one)
            assert (scan.code, scan.out) == ((0 if ours.out else 2), ours.out), (why, scan.err)
        else:
            assert (scan.code, _error(scan.err)) == (ours.code, _error(ours.err)), why
    for n, (as_pattern, as_limit) in enumerate(zip(answers.as_patterns, answers.as_limits,
                                                   strict=True)):
        why = f"seed {seed}: {case.limit_args(n)}, lines {case.limits[n][0].lines}"
        ours = run_cli(["inventory", *inv, *case.limit_args(n), "--list-hosts"], cwd=cwd)
        _same_selection(document, case.limit_pattern(n), as_pattern, ours, why)
        _same_limit(document, as_limit, ours, why)


def _same_selection(document: dict[str, Any], pattern: str, run: Run, ours: CliResult,
                    why: str) -> None:
    """`inventory --limit P --list-hosts` prints what `ansible P --list-hosts` lists, with
    the same warnings; an invalid regex is exit 2 where Ansible lists no host (documented)."""
    assert unmatched_terms(ours.err) == unmatched_terms(run.err), (why, ours.err, run.err)
    if run.code != 0:  # a term that is only '!' or '&': ansible-core fails on it
        assert "string index out of range" in run.err, (why, run.err[-400:])
        assert (ours.code, "names nothing" in _error(ours.err)) == (2, True), (why, ours.err)
        return
    assert (_REMOVED in ours.err.lower()) == (_REMOVED in run.err.lower()), why
    theirs = hosts_of(run)
    if ours.code == 2 and "invalid host pattern" in ours.err:
        assert not theirs and "No hosts matched, nothing to do" in run.err, why
        assert any(_invalid(t.lstrip("&!")) for t in _split(pattern)), (why, ours.err)
        return
    assert ours.code == 0, (why, ours.err)
    if not theirs:
        assert (ours.out, "no hosts matched, nothing to do" in ours.err) == ("", True), \
            (why, ours.err)
        return
    selected = ours.out.splitlines()
    if order_is_defined(document, _split(pattern)):
        assert selected == theirs, why
    else:
        assert sorted(selected) == sorted(theirs), why


def _same_limit(document: dict[str, Any], run: Run, ours: CliResult, why: str) -> None:
    """`ansible all --limit L` reads L's file as fleetcheck does: it stops on an invalid
    regex where fleetcheck does, and what it lists (all's hosts that L selects) is what
    fleetcheck lists but the implicit localhost. Not comparable where a host is named
    `all`: `ansible all` is then that host alone."""
    invalid = "Invalid host list pattern" in run.err
    assert invalid == (ours.code == 2 and "invalid host pattern" in ours.err), (why, run.err)
    hosts = names(document)[1]
    if run.code == 0 and "all" not in hosts:
        implicit = {"localhost", "127.0.0.1", "::1"} - set(hosts)
        assert sorted(set(ours.out.splitlines()) - implicit) == sorted(hosts_of(run)), why


def _error(stderr: str) -> str:
    """The error line of a fleetcheck run's stderr ('' without one)."""
    return "".join(line for line in stderr.splitlines() if line.startswith("fleetcheck: error"))


def _invalid(term: str) -> bool:
    """A regex term that does not compile."""
    try:
        with warnings.catch_warnings():  # Python's FutureWarnings about odd sets
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(term[1:])
    except re.error:
        return term.startswith("~")
    return False


def _split(pattern: str) -> list[str]:
    """The terms of a pattern, as ansible-core splits it."""
    from ansible.inventory.manager import split_host_pattern

    return list(split_host_pattern(pattern))
