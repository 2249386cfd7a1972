"""The comparison itself, pure: identity, new/persisting/reopened, fixed, unverified, flaps."""

from __future__ import annotations

import dataclasses

from fleetcheck.history import compare, finding_key, listener_key, pasts_from_run
from fleetcheck.history.compare import FLAP_RUNS, Gone, HostPast, Seen, age_days, listener_changes
from fleetcheck.model import Change
from tests.history.nights import at, checked, down, run_of, stray


def test_identity_ignores_pid_rule_and_message_but_not_process_or_address() -> None:
    a = checked("h", stray(8080, "appd", pid=100)).findings[0]
    b = checked("h", stray(8080, "appd", pid=999)).findings[0]
    assert finding_key(a) == finding_key(b)
    assert finding_key(dataclasses.replace(a, rule="x/y", message="other")) == finding_key(a)
    assert finding_key(checked("h", stray(8080, "other")).findings[0]) != finding_key(a)
    assert finding_key(checked("h", stray(8080, address="10.0.0.5")).findings[0]) \
        != finding_key(a)
    assert listener_key(stray(8080, pid=1)) == listener_key(stray(8080, pid=2))
    assert listener_key(stray(8080, proto="udp")) != listener_key(stray(8080))


def test_first_run_makes_every_finding_new_and_counts_first_checked_hosts() -> None:
    result = compare([checked("a", stray(8080)), down("b")], {}, at(1))
    changes = result.changes
    assert changes is not None
    (f,) = result.hosts[0].findings
    assert (f.change, f.first_seen, f.age_days) == (Change.NEW, at(1), 0)
    assert (changes.new, changes.first_checked, changes.fixed, changes.unverified) == \
        (1, 1, (), ())




def test_persisting_keeps_first_seen_and_ages_fixed_goes_to_changes() -> None:
    old = checked("a", stray(8080), stray(9000))
    past = {"a": HostPast(at(1), {finding_key(f): Seen(f, at(1)) for f in old.findings},
                          checks=1)}
    now = checked("a", stray(8080, pid=7))  # restarted: new PID, same listener
    result = compare([now], past, at(11))
    (f,) = result.hosts[0].findings
    assert (f.change, f.first_seen, f.age_days) == (Change.PERSISTING, at(1), 10)
    changes = result.changes
    assert changes is not None
    (fixed,) = changes.fixed
    assert (fixed.host, fixed.finding.port, fixed.last_seen) == ("a", 9000, at(1))
    assert (fixed.finding.first_seen, fixed.finding.change) == (at(1), None)


def test_unchecked_host_has_no_fixes_its_findings_are_unverified() -> None:
    old = checked("a", stray(8080))
    past = {"a": HostPast(at(1), {finding_key(f): Seen(f, at(1)) for f in old.findings})}
    result = compare([down("a")], past, at(2))
    changes = result.changes
    assert changes is not None
    assert changes.fixed == ()
    (unverified,) = changes.unverified
    assert (unverified.host, unverified.finding.port, unverified.finding.age_days) == \
        ("a", 8080, 1)


def test_reopened_within_a_few_runs_is_a_flap_later_it_is_not() -> None:
    f = checked("a", stray(8080)).findings[0]
    key = finding_key(f)
    quick = {"a": HostPast(at(3), {}, {key: Gone(at(1), flaps=2, closed_check=3)}, checks=3)}
    slow = {"a": HostPast(at(9), {}, {key: Gone(at(1), closed_check=2)}, checks=2 + FLAP_RUNS)}
    fast = compare([checked("a", stray(8080))], quick, at(4))
    late = compare([checked("a", stray(8080))], slow, at(10))
    (g,) = fast.hosts[0].findings
    (h,) = late.hosts[0].findings
    assert (g.change, g.first_seen, g.flaps) == (Change.REOPENED, at(1), 3)
    assert (h.change, h.flaps) == (Change.REOPENED, 0)
    assert fast.changes is not None and fast.changes.flapping == 1
    assert late.changes is not None and late.changes.flapping == 0


def test_a_baseline_run_file_is_a_past_fixed_ones_coming_back_flap() -> None:
    first = compare([checked("a", stray(8080)), checked("b", stray(9000))], {}, at(1))
    run1 = dataclasses.replace(run_of(first.hosts, at(1)), changes=first.changes)
    second = compare([checked("a"), down("b")],
                     pasts_from_run(run1.hosts, run1.started_at), at(2))
    run2 = dataclasses.replace(run_of(second.hosts, at(2)), changes=second.changes)
    assert run2.changes is not None
    assert [hf.host for hf in run2.changes.fixed] == ["a"]
    assert [hf.host for hf in run2.changes.unverified] == ["b"]
    pasts = pasts_from_run(run2.hosts, run2.started_at, run2.changes.fixed,
                           run2.changes.unverified)
    third = compare([checked("a", stray(8080)), checked("b", stray(9000))], pasts, at(3))
    a, b = third.hosts
    assert (a.findings[0].change, a.findings[0].first_seen, a.findings[0].flaps) == \
        (Change.REOPENED, at(1), 1)
    assert (b.findings[0].change, b.findings[0].first_seen) == (Change.PERSISTING, at(1))


def test_listener_changes_by_identity_only_for_hosts_checked_twice() -> None:
    old = [checked("a", stray(8080, pid=1)), checked("b", stray(1))]
    new = [checked("a", stray(8080, pid=2), stray(9000)), down("b")]
    added, removed = listener_changes(old, new)
    assert [(h, k.port) for h, k in added] == [("a", 9000)]
    assert removed == []


def test_age_is_whole_days_never_negative() -> None:
    assert age_days("2026-11-01T02:00:00Z", "2026-11-02T01:59:59Z") == 0
    assert age_days("2026-11-01T02:00:00Z", "2026-11-03T02:00:00+00:00") == 2
    assert age_days("2026-11-05T02:00:00Z", "2026-11-01T02:00:00Z") == 0
