"""Listeners bound to one device (SO_BINDTODEVICE, `ip vrf exec`, a zone): how they are
judged, how findings keep them apart, and what the run and `parse` say when a tool does
not show the device. tests/collect/test_reach_live.py does the same on real sockets."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from fleetcheck.collect import routed_via
from fleetcheck.model import FindingKind, JudgedListener, Listener, Verdict
from fleetcheck.parsers import PARSERS
from fleetcheck.policy import Policy
from fleetcheck.policy.explain import _sentence
from fleetcheck.policy.judge import Considered, evaluate, finding_id
from fleetcheck.policy.load import load_policy, policy_from_text
from fleetcheck.policy.match import MatchResult
from fleetcheck.render.groups import bind_scope

BASELINE = Path(__file__).parents[2] / "fleetcheck" / "data" / "baseline.yml"

# As ss prints them (iproute2 6, `ss -tulnp`): a DNS stub bound to lo, two libvirt
# networks' DHCP servers, a wildcard and systemd-resolved's stub address.
SS = """\
Netid State  Recv-Q Send-Q   Local Address:Port  Peer Address:PortProcess
udp   UNCONN 0      0      0.0.0.0%virbr0:67         0.0.0.0:*    users:(("dnsmasq",pid=2783,fd=3))
udp   UNCONN 0      0      0.0.0.0%virbr1:67         0.0.0.0:*    users:(("dnsmasq",pid=2790,fd=3))
tcp   LISTEN 0      32         0.0.0.0%lo:5353       0.0.0.0:*    users:(("stubd",pid=700,fd=5))
tcp   LISTEN 0      32               *%lo:5354             *:*    users:(("stubd",pid=700,fd=6))
tcp   LISTEN 0      128            0.0.0.0:8080      0.0.0.0:*    users:(("webd",pid=900,fd=7))
udp   UNCONN 0      0   127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=601,fd=12))
"""
# The same host as net-tools netstat shows it (it reads /proc/net, which has no device).
NETSTAT = """\
Active Internet connections (only servers)
Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name
tcp        0      0 0.0.0.0:5353            0.0.0.0:*               LISTEN      700/stubd
udp        0      0 0.0.0.0:67              0.0.0.0:*                           2783/dnsmasq
"""


def baseline() -> Policy:
    """The built-in baseline (SSH, anything on loopback, the DHCP client; default deny)."""
    loaded = load_policy(BASELINE)
    assert loaded is not None
    return loaded


def _judge(listeners: list[Listener], text: str | None = None) -> dict[tuple[str, int, str | None],
                                                                      str]:
    policies = [policy_from_text(text)] if text else [baseline()]
    judged = evaluate("h", listeners, policies).listeners
    return {(j.listener.proto, j.listener.port, j.listener.iface): j.verdict.value
            for j in judged}


def test_ss_shows_the_device_and_whether_there_is_none() -> None:
    got = {(li.port, li.address): (li.iface, li.device_shown) for li in PARSERS["ss"](SS)}
    assert got == {(67, "0.0.0.0"): ("virbr1", True), (5353, "0.0.0.0"): ("lo", True),
                   (5354, "::"): ("lo", True), (8080, "0.0.0.0"): (None, True),
                   (53, "127.0.0.53"): ("lo", True)}
    for tool, text in (("netstat", NETSTAT),):
        assert all(not li.device_shown and li.iface is None for li in PARSERS[tool](text))


def test_a_wildcard_bound_to_lo_is_loopback_for_the_baseline() -> None:
    """The baseline allows loopback: `0.0.0.0%lo` and `*%lo` are, a wildcard on another
    device is not (stray), nor the same socket read by a tool that cannot show its device."""
    verdicts = _judge(PARSERS["ss"](SS))
    assert verdicts[("tcp", 5353, "lo")] == verdicts[("tcp", 5354, "lo")] == "allowed"
    assert verdicts[("udp", 53, "lo")] == "allowed"
    assert verdicts[("udp", 67, "virbr0")] == verdicts[("tcp", 8080, None)] == "stray"
    assert _judge(PARSERS["netstat"](NETSTAT))[("tcp", 5353, None)] == "stray"


def test_a_forbid_of_the_network_scopes_does_not_catch_a_lo_bound_wildcard() -> None:
    forbid = ("name: w\ndefault: allow\nforbid:\n  - id: vnc\n    port: [5353, 5354, 8080]\n"
              "    address: [wildcard, private, public]\n")
    verdicts = _judge(PARSERS["ss"](SS), forbid)
    assert verdicts[("tcp", 5353, "lo")] == verdicts[("tcp", 5354, "lo")] == "allowed"
    assert verdicts[("tcp", 8080, None)] == "forbidden"


def test_an_interface_rule_allows_only_what_is_known_to_be_bound_there() -> None:
    text = ("name: kvm\ndefault: deny\nallow:\n  - id: dhcp\n    proto: udp\n    port: 67\n"
            "    interface: virbr0\n")
    ss = _judge(PARSERS["ss"](SS), text)
    assert ss[("udp", 67, "virbr0")] == "allowed"
    assert ss[("udp", 67, "virbr1")] == "wrong_bind"
    judged = evaluate("h", PARSERS["netstat"](NETSTAT), [policy_from_text(text)])
    (dhcp,) = [f for f in judged.findings if f.port == 67]
    assert dhcp.kind is FindingKind.WRONG_BIND  # conservative: never allowed on a guess
    assert "does not show which device a socket is bound to (ss does)" in dhcp.message
    assert "(interface virbr0)" in dhcp.message


def test_two_sockets_on_two_devices_are_two_findings() -> None:
    """Two libvirt networks' dnsmasq on UDP 67 were one finding (one id for both)."""
    judged = evaluate("h", PARSERS["ss"](SS), [baseline()])
    dhcp = [f for f in judged.findings if f.port == 67]
    assert sorted(f.iface or "" for f in dhcp) == ["virbr0", "virbr1"]
    assert len({f.id for f in dhcp}) == 2
    assert [f.to_dict()["iface"] for f in dhcp] == [f.iface for f in dhcp]
    # a socket bound to no device keeps the id it always had
    (web,) = [f for f in judged.findings if f.port == 8080]
    assert web.id == finding_id("h", FindingKind.STRAY, "tcp", 8080, "0.0.0.0", None)
    assert "iface" not in web.to_dict()


def test_the_run_keeps_not_shown_apart_from_none_and_parse_output_omits_it() -> None:
    (shown,) = [li for li in PARSERS["ss"](SS) if li.port == 8080]
    (unshown,) = [li for li in PARSERS["netstat"](NETSTAT) if li.port == 5353]
    assert "iface" not in shown.to_dict() and "iface" not in unshown.to_dict()  # `parse`
    rows = [json.loads(json.dumps(JudgedListener(li, Verdict.STRAY, None).to_dict()))
            for li in (shown, unshown)]
    assert "iface" not in rows[0] and rows[1]["iface"] is None
    assert [Listener.from_dict(r) for r in rows] == [shown, unshown]
    del rows[1]["iface"]  # a run written before said nothing either way
    assert Listener.from_dict(rows[1]).device_shown is True


@pytest.mark.parametrize(("iface", "routed", "through"), [
    (None, ("eth0",), ("eth0",)),
    ("lo", ("eth0",), ()),  # takes nothing that arrives through eth0
    ("lo", ("all",), ()),
    ("eth0", ("eth0", "eth1"), ("eth0",)),
    ("eth1", ("eth0",), ()),
    ("eth1", ("all",), ("eth1",)),
])
def test_route_localnet_reaches_a_device_bound_loopback_only_through_that_device(
        iface: str | None, routed: tuple[str, ...], through: tuple[str, ...]) -> None:
    li = Listener("tcp", 4, "127.0.0.1", 8080, iface=iface, device_shown=True)
    assert routed_via(li, routed) == through


def test_reports_group_and_explain_say_the_device() -> None:
    assert bind_scope("0.0.0.0", "lo") == "loopback"
    assert bind_scope("0.0.0.0", "virbr0") == "any address on virbr0"
    assert bind_scope("10.0.0.5", "eth0") == "10.0.0.5%eth0"
    assert bind_scope("0.0.0.0") == "any address"
    text = ("name: p\ndefault: deny\nallow:\n  - id: r\n    port: 67\n    interface: virbr0\n"
            "  - id: lo\n    port: 67\n    address: loopback\n")
    r, lo = policy_from_text(text).rules
    li = Listener("udp", 4, "0.0.0.0", 67, iface="virbr1")
    wrong = MatchResult.WRONG_BIND
    assert _sentence(Considered(r, wrong, "interface"), li) == (
        "near miss (wrong_bind): names this port, but bound to device virbr1, the rule wants "
        "virbr0")
    assert _sentence(Considered(r, wrong, "interface"), replace(li, iface=None)) == (
        "near miss (wrong_bind): names this port, but bound to no device, the rule wants virbr0")
    assert "does not show which device" in _sentence(
        Considered(r, wrong, "interface"), Listener("udp", 4, "0.0.0.0", 67))
    assert _sentence(Considered(lo, wrong, "address"), li) == (
        "near miss (wrong_bind): names this port, but bound to 0.0.0.0 (wildcard, bound to "
        "device virbr1), the rule wants loopback")


def test_every_report_tells_two_devices_apart() -> None:
    """One process holding UDP 67 on two bridges: two findings, each naming its device, in
    every format; OSCAL gives each socket its own observation (one uuid was two sockets)."""
    import dataclasses

    from fleetcheck.engine.summary import judge_run
    from fleetcheck.model import Severity
    from fleetcheck.render import FORMATS, RenderOptions
    from tests.render import builders

    dhcpd = [Listener("udp", 4, "0.0.0.0", 67, "dhcpd", 77, "root", iface=dev)
             for dev in ("virbr0", "virbr1")]
    host = builders.checked_host("kvm1", (), dhcpd, builders.policies())
    settled, summary = judge_run([host], Severity.LOW, complete=True)
    run = dataclasses.replace(builders.composite_run(), hosts=tuple(settled), summary=summary)
    assert sorted(f.iface or "" for f in host.findings) == ["virbr0", "virbr1"]
    shown = {fmt: FORMATS[fmt].render(run, RenderOptions(rendered_at="x"))
             for fmt in ("text", "html", "markdown", "csv", "junit", "json")}
    for fmt, out in shown.items():
        assert "virbr0" in out and "virbr1" in out, fmt
    assert "udp/67 on 0.0.0.0%virbr1" in shown["junit"]
    assert "any address on virbr1" in shown["text"]
    results = json.loads(FORMATS["oscal"].render(run))["assessment-results"]["results"][0]
    observations = [o["uuid"] for o in results["observations"]]
    assert len(observations) == len(set(observations))
    related = [f["related-observations"][0]["observation-uuid"] for f in results["findings"]
               if "udp/67" in f["title"] or "67" in f.get("description", "")]
    assert len(set(related)) == 2
