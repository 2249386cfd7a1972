"""Properties of judging that must hold for any policies and listeners (hypothesis)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetcheck.model import Finding, FindingKind, Listener, Severity, Verdict
from fleetcheck.policy import Action, Policy, Rule
from fleetcheck.policy.judge import Considered, HostRules, decide, evaluate
from fleetcheck.policy.match import AddressSpec, Match, MatchResult, TextSpec
from fleetcheck.policy.serialize import policy_from_dict, policy_to_dict
from fleetcheck.policy.waivers import Waiver, apply_waivers

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
ADDRESSES = ["0.0.0.0", "::", "127.0.0.1", "::1", "10.0.0.5", "192.168.1.10", "8.8.8.8",
             "fe80::1"]
PORTS = [22, 53, 80, 443, 1923, 5432, 8080]
PROCESSES = [None, "sshd", "nginx", "postgres", "nc"]


# Strategies are made once and drawn from many times: hypothesis validates each strategy
# object it meets, and ones made afresh for every value drawn were most of the tests' time.
_ADDRESS = st.sampled_from(ADDRESSES)
_PROCESS = st.sampled_from(PROCESSES)
_UID = st.sampled_from([None, 0, 101])
_PROTO = st.sampled_from(["tcp", "udp"])
_PORT = st.sampled_from(PORTS)
_PID = st.integers(1, 3)
_DIGIT = st.integers(0, 9)


@st.composite
def a_listener(draw: st.DrawFn) -> Listener:
    address = draw(_ADDRESS)
    process = draw(_PROCESS)
    uid = draw(_UID)
    return Listener(
        proto=draw(_PROTO), family=6 if ":" in address else 4,
        address=address, port=draw(_PORT), process=process,
        pid=draw(_PID), uid=uid,
        dual_stack=address == "::" and draw(st.booleans()),
        truncated=draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()),
        other_processes=("nc/9",) if process and draw(_DIGIT) == 0 else (),
    )


def _maybe(draw: st.DrawFn, strategy: st.SearchStrategy[object]) -> object:
    return draw(st.none() | strategy)


_PORTS = st.none() | st.lists(_PORT, min_size=1, max_size=2)
_ADDRESS_SPECS = st.none() | st.lists(st.sampled_from(
    [AddressSpec(scope=s) for s in ("loopback", "wildcard", "private", "public")]
    + [AddressSpec(literal="10.0.0.5"), AddressSpec(literal="::")]), min_size=1, max_size=2)
_PROCESS_SPECS = st.none() | st.lists(st.sampled_from(
    [TextSpec("sshd"), TextSpec("ng*"), TextSpec("~post.*"), TextSpec("nc")]),
    min_size=1, max_size=2)
_PROTOS = st.none() | st.sampled_from([frozenset({"tcp"}), frozenset({"udp"})])
_FAMILIES = st.none() | st.sampled_from([frozenset({4}), frozenset({6}), frozenset({4, 6})])
_DUAL = st.none() | st.booleans()
_USERS = st.none() | st.sampled_from([(TextSpec("root"),), (TextSpec("101"),)])


@st.composite
def a_match(draw: st.DrawFn) -> Match:
    ports = draw(_PORTS)
    addresses = draw(_ADDRESS_SPECS)
    processes = draw(_PROCESS_SPECS)
    return Match(
        protos=draw(_PROTOS),
        ports=tuple(sorted((p, p) for p in set(ports))) if ports else None,
        addresses=tuple(addresses) if addresses else None,
        families=draw(_FAMILIES),
        dual_stack=draw(_DUAL),
        processes=tuple(processes) if processes else None,
        users=draw(_USERS),
    )


MATCHES = a_match()


@functools.cache
def a_rule(policy: str, rid: str, actions: tuple[Action, ...] = ()) -> st.SearchStrategy[Rule]:
    return st.builds(Rule, policy=st.just(policy), id=st.just(rid),
                     action=st.sampled_from(actions or list(Action)), match=MATCHES,
                     severity=st.sampled_from(list(Severity)))


@st.composite
def a_policy(draw: st.DrawFn, name: str) -> Policy:
    n = draw(st.integers(0, 5))
    rules = tuple(draw(a_rule(name, f"r{i}")) for i in range(n))
    return Policy(name=name, path=f"{name}.yml", rules=rules,
                  default=draw(st.sampled_from([None, "deny", "allow"])),
                  stray_severity=draw(st.sampled_from(list(Severity))))


POLICY = {name: a_policy(name) for name in ("a", "b", "c")}
POLICIES = st.lists(st.sampled_from(["a", "b", "c"]), min_size=0, max_size=3, unique=True) \
    .flatmap(lambda names: st.tuples(*[POLICY[n] for n in names]))
LISTENERS = st.lists(a_listener(), max_size=6)


def flagged(policies: tuple[Policy, ...] | list[Policy], listeners: list[Listener]) -> set[int]:
    """Indexes of the listeners that carry a finding."""
    j = evaluate("h", listeners, list(policies))
    bad = {jl.listener for jl in j.listeners if jl.verdict is not Verdict.ALLOWED}
    return {i for i, li in enumerate(listeners) if li in bad}


def requirement_findings(policies: list[Policy], listeners: list[Listener]) -> set[str]:
    return {f.id for f in evaluate("h", listeners, policies).findings
            if f.kind is FindingKind.MISSING or f.address is None}


@SETTINGS
@given(POLICIES, LISTENERS, st.data())
def test_adding_an_allow_never_adds_a_finding(policies: tuple[Policy, ...],
                                              listeners: list[Listener],
                                              data: st.DataObject) -> None:
    if not policies:
        return
    target = data.draw(st.integers(0, len(policies) - 1))
    extra = data.draw(a_rule(policies[target].name, "extra", (Action.ALLOW,)))
    grown = list(policies)
    grown[target] = replace(grown[target], rules=(*grown[target].rules, extra))
    before = evaluate("h", listeners, list(policies))
    after = evaluate("h", listeners, grown)
    assert flagged(grown, listeners) <= flagged(policies, listeners)
    assert len(after.findings) <= len(before.findings)
    assert requirement_findings(grown, listeners) == requirement_findings(list(policies),
                                                                          listeners)


@SETTINGS
@given(POLICIES, LISTENERS)
def test_a_forbid_always_wins(policies: tuple[Policy, ...], listeners: list[Listener]) -> None:
    j = evaluate("h", listeners, list(policies))
    forbids = [r for p in policies for r in p.rules if r.action is Action.FORBID]
    for jl in j.listeners:
        if any(r.match.check(jl.listener, covering=False) is MatchResult.YES for r in forbids):
            assert jl.verdict is Verdict.FORBIDDEN
            assert jl.rule in {r.ref for r in forbids}
        else:
            assert jl.verdict is not Verdict.FORBIDDEN


@SETTINGS
@given(POLICIES, LISTENERS, st.data())
def test_adding_a_forbid_never_removes_a_finding(policies: tuple[Policy, ...],
                                                 listeners: list[Listener],
                                                 data: st.DataObject) -> None:
    if not policies:
        return
    extra = data.draw(a_rule(policies[0].name, "extra", (Action.FORBID,)))
    grown = [replace(policies[0], rules=(*policies[0].rules, extra)), *policies[1:]]
    assert flagged(policies, listeners) <= flagged(grown, listeners)


@SETTINGS
@given(POLICIES, LISTENERS, st.data())
def test_default_deny_never_removes_a_finding(policies: tuple[Policy, ...],
                                              listeners: list[Listener],
                                              data: st.DataObject) -> None:
    if not policies:
        return
    i = data.draw(st.integers(0, len(policies) - 1))
    stricter = list(policies)
    stricter[i] = replace(stricter[i], default="deny")
    assert flagged(policies, listeners) <= flagged(stricter, listeners)


@SETTINGS
@given(POLICIES, LISTENERS, st.randoms())
def test_order_of_policies_and_listeners_changes_no_outcome(
        policies: tuple[Policy, ...], listeners: list[Listener], rnd: object) -> None:
    shuffled_p, shuffled_l = list(policies), list(listeners)
    rnd.shuffle(shuffled_p)  # type: ignore[attr-defined]
    rnd.shuffle(shuffled_l)  # type: ignore[attr-defined]
    a = evaluate("h", listeners, list(policies))
    b = evaluate("h", shuffled_l, shuffled_p)
    assert flagged(policies, listeners) == flagged(shuffled_p, listeners)
    assert len(a.findings) == len(b.findings)
    assert {(jl.listener, jl.verdict is Verdict.ALLOWED) for jl in a.listeners} == \
        {(jl.listener, jl.verdict is Verdict.ALLOWED) for jl in b.listeners}
    assert a == evaluate("h", shuffled_l, list(policies))  # listener order never matters


@SETTINGS
@given(POLICIES, LISTENERS)
def test_explain_trace_decides_as_evaluate_does(policies: tuple[Policy, ...],
                                                listeners: list[Listener]) -> None:
    j = evaluate("h", listeners, list(policies))
    ctx = HostRules.of(policies)
    for jl in j.listeners:
        trace: list[Considered] = []
        d = decide("h", jl.listener, ctx, trace)
        assert (d.verdict, d.rule.ref if d.rule else None) == (jl.verdict, jl.rule)
        assert len(trace) == sum(len(p.rules) for p in policies)


@SETTINGS
@given(POLICIES, LISTENERS)
def test_policies_survive_the_run_record(policies: tuple[Policy, ...],
                                         listeners: list[Listener]) -> None:
    restored = [policy_from_dict(policy_to_dict(p)) for p in policies]
    assert [p.rules for p in restored] == [p.rules for p in policies]
    assert evaluate("h", listeners, restored) == evaluate("h", listeners, list(policies))


@st.composite
def a_waiver(draw: st.DrawFn, wid: str) -> Waiver:
    expires = dt.date(2030, 1, 1) + dt.timedelta(days=draw(st.integers(-3, 3)))
    return Waiver(
        id=wid, reason="r", owner="o", approved_by="a", created=dt.date(2029, 1, 1),
        expires=expires, hosts=draw(st.sampled_from([None, "h", "other"])),
        host_names=draw(st.sampled_from([None, frozenset({"h"}), frozenset({"other"})])),
        match=Match(ports=draw(st.none() | st.sampled_from([((80, 80),), ((1, 1923),)])),
                    processes=draw(st.none() | st.just((TextSpec("n*"),)))),
        kinds=draw(st.none() | st.just(frozenset({FindingKind.STRAY}))),
    )


@SETTINGS
@given(POLICIES, LISTENERS, st.lists(st.integers(0, 99), max_size=4, unique=True)
       .flatmap(lambda ids: st.tuples(*[a_waiver(f"W{i}") for i in ids])))
def test_waivers_only_mark_findings(policies: tuple[Policy, ...], listeners: list[Listener],
                                    waivers: tuple[Waiver, ...]) -> None:
    today = dt.date(2030, 1, 1)
    findings = evaluate("h", listeners, list(policies)).findings
    waived = apply_waivers("h", findings, waivers, today)
    assert [replace(f, waived=False, waiver=None) for f in waived] == list(findings)
    by_id = {w.id: w for w in waivers}
    for f in waived:
        cover = [w for w in waivers if w.covers("h", f) and not w.expired(today)]
        if f.waived:
            w = by_id[f.waiver or ""]
            assert w.covers("h", f) and not w.expired(today)
            assert w is cover[0]  # the first covering waiver in load order is credited
        else:
            assert not cover


def test_expired_waiver_never_waives() -> None:
    f = Finding(id="FC-000000000000", kind=FindingKind.STRAY, severity=Severity.HIGH,
                proto="tcp", port=80, address="0.0.0.0", process="nginx", rule=None, message="m")
    w = Waiver(id="W", reason="r", owner="o", approved_by="a", created=dt.date(2030, 1, 1),
               expires=dt.date(2030, 1, 31), match=Match(ports=((80, 80),)))
    assert apply_waivers("h", [f], [w], dt.date(2030, 1, 31))[0].waiver == "W"  # last day
    assert not apply_waivers("h", [f], [w], dt.date(2030, 2, 1))[0].waived
