"""Judging where a listener can be reached, as the reachability hunt found it mattered.

An [::] whose tool did not show IPV6_V6ONLY (netstat, lsof, /proc) has dual_stack None:
it takes IPv4 too unless it is IPv6-only, so a rule that holds one way and not the other
cannot be settled: undetermined, never allowed (a policy allowing IPv6 only, while the
socket serves IPv4) nor passed over (a forbid of IPv4). Rules it meets either way judge
it as before. And an IPv4 loopback listener on a host with route_localnet is reached
from the network. tests/collect/test_reach_live.py shows both on real sockets.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from fleetcheck.model import JudgedListener, Listener, Verdict
from fleetcheck.policy.judge import evaluate
from fleetcheck.policy.load import policy_from_text
from fleetcheck.render.rows import listener_notes

UNSURE = Listener("tcp", 6, "::", 8080, "webd", 7, dual_stack=None)


def _verdict(listener: Listener, cond: str, *, action: str = "allow",
             default: str = "deny") -> tuple[str, str]:
    text = (f"name: p\ndefault: {default}\n{action}:\n  - id: r\n    proto: tcp\n"
            f"    port: 8080\n    {cond}\n")
    judged = evaluate("h", [listener], [policy_from_text(text)])
    message = judged.findings[0].message if judged.findings else ""
    return judged.listeners[0].verdict.value, message


@pytest.mark.parametrize(("cond", "verdict"), [
    ("address: wildcard", "allowed"),  # both ways
    ("family: [4, 6]", "allowed"),
    ("address: loopback", "wrong_bind"),  # neither way
    ("address: 10.0.0.0/8", "wrong_bind"),
    ("family: 6", "undetermined"),  # allowed only if it is IPv6-only
    ('address: "::/0"', "undetermined"),
    ("dual_stack: true", "undetermined"),
    ("dual_stack: false", "undetermined"),
])
def test_an_allow_it_meets_one_way_only_is_undetermined(cond: str, verdict: str) -> None:
    got, message = _verdict(UNSURE, cond)
    assert got == verdict
    if verdict == "undetermined":
        assert "whether p/r allows it depends on whether it also accepts IPv4" in message
        assert "owner" not in message


def test_the_same_socket_shown_by_ss_is_judged_as_ss_showed_it() -> None:
    # the allow names the port; the family misses one side: wrong_bind, as an address would
    assert _verdict(replace(UNSURE, dual_stack=True), "family: 6")[0] == "wrong_bind"
    assert _verdict(replace(UNSURE, dual_stack=False), "family: 6")[0] == "allowed"


def test_a_forbid_of_ipv4_on_it_is_undetermined_not_passed() -> None:
    got, message = _verdict(UNSURE, "family: 4", action="forbid", default="allow")
    assert got == "undetermined"
    assert "whether p/r forbids it depends on whether it also accepts IPv4" in message
    # an IPv4-mapped any (lsof shows it as '*', type IPv6, so as '::') is caught too
    assert _verdict(Listener("tcp", 6, "::ffff:0.0.0.0", 8080, dual_stack=None), "family: 4",
                    action="forbid", default="allow")[0] == "forbidden"


def test_a_requirement_it_may_meet_is_undetermined_and_says_why() -> None:
    text = "name: p\ndefault: allow\nrequire:\n  - id: r\n    port: 8080\n    family: 4\n"
    judged = evaluate("h", [UNSURE], [policy_from_text(text)])
    assert [f.kind.value for f in judged.findings] == ["undetermined"]
    assert "does not show whether it also accepts IPv4" in judged.findings[0].message


def test_the_run_keeps_not_shown_apart_from_false_and_parse_output_omits_it() -> None:
    assert "dual_stack" not in UNSURE.to_dict()  # `parse`: only where the output shows it
    row = json.loads(json.dumps(JudgedListener(UNSURE, Verdict.ALLOWED, None).to_dict()))
    assert row["dual_stack"] is None
    assert Listener.from_dict(row).dual_stack is None
    del row["dual_stack"]  # a run written before: absent is false
    assert Listener.from_dict(row).dual_stack is False
    assert "may accept IPv4 too" in listener_notes(UNSURE)
    assert listener_notes(Listener("tcp", 4, "0.0.0.0", 80, dual_stack=None)) == ""


# A loopback listener the network reaches through route_localnet (what the probe reads
# from net.ipv4.conf.*.route_localnet): no scope word allows it, its address named does.
ROUTED = Listener("tcp", 4, "127.0.0.1", 8080, "api", 9, route_localnet=("eth0",))


@pytest.mark.parametrize(("cond", "verdict"), [
    ("address: loopback", "wrong_bind"),
    ("address: [loopback, private]", "wrong_bind"),
    ("address: wildcard", "wrong_bind"),
    ("address: 127.0.0.1", "allowed"),  # the address itself, named
    ("address: 127.0.0.0/8", "allowed"),
    ("family: 4", "allowed"),  # no address condition: nothing to say about its reach
])
def test_a_routed_loopback_listener_is_not_allowed_as_loopback(cond: str, verdict: str) -> None:
    got, message = _verdict(ROUTED, cond)
    assert got == verdict
    if verdict == "wrong_bind":
        assert "reachable from the network through route_localnet on eth0" in message
    assert _verdict(replace(ROUTED, route_localnet=()), cond)[0] == (
        "wrong_bind" if cond == "address: wildcard" else "allowed")


def test_a_forbid_of_loopback_still_catches_it_and_the_run_keeps_it() -> None:
    assert _verdict(ROUTED, "address: loopback", action="forbid",
                    default="allow")[0] == "forbidden"
    baseline = "name: b\ndefault: deny\nallow:\n  - id: lo\n    address: loopback\n"
    assert evaluate("h", [ROUTED], [policy_from_text(baseline)]).listeners[0].verdict \
        is Verdict.STRAY
    row = json.loads(json.dumps(JudgedListener(ROUTED, Verdict.STRAY, None).to_dict()))
    assert row["route_localnet"] == ["eth0"]
    assert Listener.from_dict(row) == ROUTED
    assert "route_localnet on eth0" in listener_notes(ROUTED)
