"""fleetcheck's inventory answers equal ansible-core's on every valid fixture and pattern.

The oracle is the real `ansible-inventory` and `ansible` CLIs (ansible-core is a test
dependency), run concurrently once per session; fleetcheck runs in-process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import ahead
from tests.conftest import REPO, run_cli
from tests.inventory.cases import CASES, Case, order_is_defined, wrapper_script
from tests.inventory.oracle import Oracle, Run, hosts_of, require_ansible, unmatched_terms

Results = dict[tuple[str, str], Run]


def _ansible_sources(case: Case, root: Path) -> list[str]:
    if case.script_wrapped:
        return [str(wrapper_script(root, Path(p))) for p in case.paths()]
    return case.paths()


def _inv_args(sources: list[str], case: Case) -> list[str]:
    """-i for each source, then the case's -e (an @file under the repository)."""
    extra = [f"@{REPO / e[1:]}" if e.startswith("@") else e for e in case.extra_vars]
    return [*(arg for s in sources for arg in ("-i", s)),
            *(arg for e in extra for arg in ("-e", e))]


def _limit_file_lines(pattern: str) -> list[str]:
    lines = (REPO / pattern[1:]).read_text().split("\n")
    return [line.strip() for line in lines if line.strip()]


def ask_ahead(root: Path) -> Callable[[], Results]:
    """Every oracle answer the tests below compare against, computed concurrently and
    started in the background (tests/ahead.py)."""
    runner = Oracle(root)
    jobs: list[tuple[str, str, str, list[str]]] = []
    for case in CASES:
        inv = _inv_args(_ansible_sources(case, root), case)
        jobs.append((case.name, "list", "ansible-inventory", [*inv, "--list"]))
        jobs.append((case.name, "graph", "ansible-inventory", [*inv, "--graph"]))
        if case.export:
            jobs.append((case.name, "export", "ansible-inventory", [*inv, "--list", "--export"]))
            jobs.append((case.name, "graph-vars", "ansible-inventory", [*inv, "--graph", "--vars"]))
        for limit in case.limits:
            jobs.append((case.name, f"limit:{limit}", "ansible-inventory",
                         [*inv, "--list", "--limit", limit]))
        for host in case.hosts:
            jobs.append((case.name, f"host:{host}", "ansible-inventory", [*inv, "--host", host]))
        for pattern in case.patterns:
            if pattern.startswith("@"):
                # Ansible reads @file only in --limit (which keeps `all` order), so ask it
                # twice: which hosts the file selects, and their order as a plain pattern.
                jobs.append((case.name, f"set:{pattern}", "ansible",
                             ["all", *inv, "--limit", f"@{REPO / pattern[1:]}", "--list-hosts"]))
                joined = ",".join(_limit_file_lines(pattern))
                jobs.append((case.name, f"hosts:{pattern}", "ansible",
                             [joined, *inv, "--list-hosts"]))
            else:
                jobs.append((case.name, f"hosts:{pattern}", "ansible",
                             [pattern, *inv, "--list-hosts"]))
    pending = runner.start([(tool, args) for _, _, tool, args in jobs], [], background=True)

    def collect() -> Results:
        runs = pending.result()[0]
        return {(name, key): run for (name, key, _, _), run in zip(jobs, runs, strict=True)}
    return collect


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """Every oracle answer the tests below compare against."""
    require_ansible()
    results: Results = ahead.take(__name__, tmp_path_factory, ask_ahead)
    return results


def _answer(results: Results, case: Case, key: str) -> Run:
    run = results[(case.name, key)]
    assert run.code == 0, f"ansible failed on {case.name} {key}: {run.err}"
    return run


def _fleetcheck(case: Case, *args: str) -> str:
    return _fleetcheck_run(case, *args)[0]


def _fleetcheck_run(case: Case, *args: str) -> tuple[str, str]:
    res = run_cli(["inventory", *_inv_args(case.paths(), case), *args], cwd=REPO)
    assert res.code == 0, res.err
    return res.out, res.err


def _subscript_warned(stderr: str) -> bool:
    return "instead of [x-y] which has been removed" in stderr


def _ids(items: list[tuple[Case, str]]) -> list[str]:
    return [f"{case.name}-{item}" for case, item in items]


LIST_VIEWS = [(c, v) for c in CASES for v in ("list", "export") if v == "list" or c.export]
LIST_VIEWS += [(c, f"limit:{limit}") for c in CASES for limit in c.limits]
GRAPHS = [(c, v) for c in CASES for v in ("graph", "graph-vars") if v == "graph" or c.export]
HOSTS = [(c, h) for c in CASES for h in c.hosts]
PATTERNS = [(c, p) for c in CASES for p in c.patterns]


@pytest.mark.parametrize(("case", "view"), LIST_VIEWS, ids=_ids(LIST_VIEWS))
def test_list_equals_ansible_inventory(oracle: Results, case: Case, view: str) -> None:
    expected = _answer(oracle, case, view).out
    extra = ["--export"] if view == "export" else []
    if view.startswith("limit:"):
        extra = ["--limit", view.removeprefix("limit:")]
    ours = _fleetcheck(case, "--list", *extra)
    assert json.loads(ours) == json.loads(expected)
    assert ours == expected  # byte for byte: same indentation, key order, escaping


@pytest.mark.parametrize(("case", "view"), GRAPHS, ids=_ids(GRAPHS))
def test_graph_equals_ansible_inventory(oracle: Results, case: Case, view: str) -> None:
    extra = ["--vars"] if view == "graph-vars" else []
    assert _fleetcheck(case, "--graph", *extra) == _answer(oracle, case, view).out


@pytest.mark.parametrize(("case", "host"), HOSTS, ids=_ids(HOSTS))
def test_host_equals_ansible_inventory(oracle: Results, case: Case, host: str) -> None:
    assert _fleetcheck(case, "--host", host) == _answer(oracle, case, f"host:{host}").out


@pytest.mark.parametrize(("case", "pattern"), PATTERNS, ids=_ids(PATTERNS))
def test_list_hosts_equals_ansible(oracle: Results, case: Case, pattern: str) -> None:
    out, err = _fleetcheck_run(case, "--limit", pattern, "--list-hosts")
    ours = out.splitlines()
    answer = _answer(oracle, case, f"hosts:{pattern}")
    theirs = hosts_of(answer)
    assert theirs, "fixture patterns must select hosts"
    # the same warnings: terms ignored because they match nothing, the removed [x-y] form
    assert unmatched_terms(err) == unmatched_terms(answer.err)
    assert _subscript_warned(err) == _subscript_warned(answer.err)
    if pattern.startswith("@"):
        assert sorted(ours) == sorted(hosts_of(_answer(oracle, case, f"set:{pattern}")))
    listing = json.loads(_answer(oracle, case, "list").out)
    if order_is_defined(listing, pattern):
        assert ours == theirs
    else:
        # Ansible's own order varies between runs here (see order_is_defined).
        assert sorted(ours) == sorted(theirs)
        assert len(ours) == len(set(ours))


def test_order_is_defined_spots_ansible_set_order() -> None:
    listing = {"all": {"children": ["ungrouped", "dc1", "dc2"]}, "dc1": {"children": ["a"]},
               "dc2": {"children": ["b"]}, "a": {"hosts": ["h1"]}, "b": {"hosts": ["h2"]}}
    assert not order_is_defined(listing, "all")
    assert not order_is_defined(listing, "!a")
    assert order_is_defined(listing, "dc1:dc2")
    assert order_is_defined(listing, "a")
    assert not order_is_defined(listing, "all[0:1]")  # a subscript's ':' splits no term
