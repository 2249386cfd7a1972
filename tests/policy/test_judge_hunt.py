"""The judge against a reference judge written from the documentation, seeded.

`tests/policy/oracle.py` judges from docs/policies.md alone; `judgediff` runs the same
generated policies, waivers and listeners through fleetcheck's own pipeline and compares
every verdict, finding (kind, severity, rule, waiver), host status, waiver status and the
exit code. The hunt runs thousands of seeds outside the suite (`python3 -m
tests.policy.polhunt 0 4000`); here a handful, the seeds that once disagreed, and the
minimised cases of each disagreement found, named after their root cause.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fleetcheck.model import CONTAINER_ONLY, Container, Listener
from fleetcheck.policy import Policy
from fleetcheck.policy.judge import evaluate
from fleetcheck.policy.load import collect_policies
from fleetcheck.policy.problems import Problems
from tests.policy.baddiff import check_bad
from tests.policy.helpers import policy
from tests.policy.judgediff import check_seed

# Seeds whose cases disagreed before the fixes, and a few more.
SEEDS = (7, 18, 24, 26, 40, 219, 233, 281, 635, 795, 2810, 3330, 20002, 20009, 20015,
         20036, *range(100, 124))


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_agrees_with_the_documented_judge(seed: int, tmp_path: Path) -> None:
    _, diffs = check_seed(seed, tmp_path)
    assert diffs == [], f"seed {seed}: python3 -m tests.policy.minimise {seed}"


@pytest.mark.parametrize("seed", range(16))
def test_an_invalid_policy_or_waiver_is_one_located_error_before_any_host(
        seed: int, tmp_path: Path) -> None:
    assert check_bad(seed, tmp_path) == []


def _verdict(text: str, listener: Listener) -> tuple[str, str | None, str]:
    judged = evaluate("h", [listener], [policy(text)])
    (jl,) = judged.listeners
    return jl.verdict.value, jl.rule, ",".join(f.kind.value for f in judged.findings)


def in_container(li: Listener) -> Listener:
    """`li` in a container's namespace (its name not told), no host port mapped to it."""
    return replace(li, netns=4026532001, exposure=CONTAINER_ONLY,
                   container=Container(id="c" * 12, image="nginx:1.25"))


def test_a_condition_that_fails_outright_beats_one_that_cannot_be_seen() -> None:
    """Seed 40: a forbid whose address can never fit was 'undetermined' because the pod
    it also names was not told; it cannot match whatever the pod is."""
    text = """
        name: p
        allow: [{id: any}]
        forbid: [{id: f, address: multicast, pod: "coredns-*"}]
    """
    li = in_container(Listener("tcp", 4, "169.254.7.7", 22, process="node"))
    assert _verdict(text, li) == ("allowed", "p/any", "")
    # the same within the owner: an unseen process, a user that visibly differs
    text = "name: p\ndefault: deny\nallow: [{id: a, port: 22, process: sshd, user: root}]\n"
    assert _verdict(text, Listener("tcp", 4, "0.0.0.0", 22, uid=33))[0] == "wrong_process"
    text = "name: p\ndefault: deny\nallow: [{id: a, port: 22, address: loopback, " \
           "process: sshd}]\n"
    assert _verdict(text, Listener("tcp", 4, "0.0.0.0", 22))[0] == "wrong_bind"


@pytest.mark.parametrize("cond", ["family: 4", "dual_stack: true"])
def test_a_family_or_dual_stack_miss_on_a_named_port_is_wrong_bind(cond: str) -> None:
    """Seed 233: 'the bind address or family does not fit: wrong_bind' (docs); a family or
    dual_stack miss was passed over, leaving the listener to the default (stray)."""
    text = f"name: p\ndefault: deny\nallow:\n  - id: a\n    port: 80\n    {cond}\n"
    verdict, rule, kinds = _verdict(text, Listener("tcp", 6, "::", 80, process="nginx"))
    assert (verdict, rule, kinds) == ("wrong_bind", "p/a", "wrong_bind")
    judged = evaluate("h", [Listener("tcp", 6, "::", 80, process="nginx")], [policy(text)])
    assert cond.split(":", maxsplit=1)[0] in judged.findings[0].message


def test_a_forbid_that_may_match_a_listed_container_listener_is_undetermined() -> None:
    """Seed 24: 'a forbid ... turns a listener that would otherwise pass into undetermined';
    a container-only listener that is listed (not stray) passes, and was left listed."""
    text = "name: p\ndefault: deny\nforbid: [{id: nc, process: nc}]\n"
    li = in_container(Listener("tcp", 4, "10.0.0.5", 4444))
    assert _verdict(text, li) == ("undetermined", "p/nc", "undetermined")


def test_a_container_only_listener_no_rule_decides_is_listed_under_default_allow() -> None:
    """Seed 7: `containers: list` lists one 'that no rule decides' whatever the default."""
    li = in_container(Listener("tcp", 6, "fd00::5", 22, process="dropbear"))
    assert _verdict("name: p\ndefault: allow\n", li) == ("listed", None, "")
    assert _verdict("name: p\ndefault: allow\ncontainers: judge\n", li)[0] == "allowed"


def test_an_unshown_dual_stack_with_an_unseen_owner_is_undetermined() -> None:
    """Seed 795: an allow of family 6 and user post* fits an IPv6-only [::] if its user is
    postgres (not seen) and no dual-stack one: it might allow, so undetermined, not listed
    or stray."""
    text = "name: p\ndefault: deny\nallow: [{id: a, family: 6, user: 'post*'}]\n"
    li = Listener("udp", 6, "::", 68, process="node", uid=1000, dual_stack=None)
    assert _verdict(text, li) == ("undetermined", "p/a", "undetermined")


def test_an_unshown_dual_stack_whose_process_misses_is_wrong_process() -> None:
    """Seeds 2810, 3330: `dual_stack: false` fits an [::] one way only, its process neither
    way: the certain miss (wrong_process) is named, not the uncertain one (wrong_bind)."""
    text = "name: p\ndefault: deny\nallow: [{id: a, port: 80, dual_stack: false, " \
           "process: 'php-fpm*'}]\n"
    li = Listener("tcp", 6, "::", 80, process="dropbear", dual_stack=None)
    assert _verdict(text, li) == ("wrong_process", "p/a", "wrong_process")


def test_a_policy_with_a_warning_still_loads_and_judges(tmp_path: Path) -> None:
    """Seed 20009: `address: 10.0.0.1/8` (host bits set) is a warning, 'read as the whole
    network'; the warning dropped the rule and its whole policy, so its forbid never
    applied (and waivers naming its rules were refused), while validate said only 'warning'."""
    (tmp_path / "p.yml").write_text("name: p\ndefault: allow\nforbid:\n  - id: lan\n"
                                    "    port: 5432\n    address: 10.0.0.1/8\n")
    problems = Problems()
    (pol,) = collect_policies([tmp_path / "p.yml"], problems)
    assert [p.level.value for p in problems.items] == ["warning"]
    li = Listener("tcp", 4, "10.2.3.4", 5432, process="postgres")
    assert _verdict_of([pol], li) == ("forbidden", "p/lan", "forbidden")


def _verdict_of(pols: list[Policy], li: Listener) -> tuple[str, str | None, str]:
    judged = evaluate("h", [li], pols)
    (jl,) = judged.listeners
    return jl.verdict.value, jl.rule, ",".join(f.kind.value for f in judged.findings)
