"""Judging listeners in containers: place conditions, `containers: judge|list`, waivers, ids."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from fleetcheck.errors import InputError
from fleetcheck.model import (
    CONTAINER_ONLY,
    PUBLISHED,
    Container,
    Finding,
    FindingKind,
    Listener,
    Namespaces,
    Verdict,
    container_identity,
)
from fleetcheck.model.container import image_repository, workload
from fleetcheck.policy.judge import evaluate, unread_namespaces
from fleetcheck.policy.load import load_policies, policy_from_text
from fleetcheck.policy.serialize import match_from_dict, match_to_dict
from fleetcheck.policy.waiver_load import waivers_from_text
from fleetcheck.policy.waivers import apply_waivers
from tests.conftest import REPO

WEB = Container("a" * 64, "web", "nginx:1.25", "docker")
POD = Container("b" * 64, "prometheus", "quay.io/prometheus/prometheus:v2", "containerd",
                "prometheus-7d4b9c8f6-xk2lp", "monitoring")
UNNAMED = Container("c" * 64, None, None, "docker")
HOST_LI = Listener("tcp", 4, "0.0.0.0", 8080, "java", 10)
WEB_ONLY = Listener("tcp", 4, "0.0.0.0", 8080, "nginx", 20, netns=4026532300, container=WEB,
                    exposure=CONTAINER_ONLY)
WEB_PUB = replace(WEB_ONLY, port=80, exposure=PUBLISHED, published_port=8081)
POD_ONLY = Listener("tcp", 4, "0.0.0.0", 9090, "prometheus", 30, netns=4026532400,
                    container=POD, exposure=CONTAINER_ONLY)
HOST_NET = Listener("tcp", 4, "0.0.0.0", 9100, "node_exporter", 40, container=POD)
BASELINE = load_policies([REPO / "fleetcheck" / "data" / "baseline.yml"])


def _verdicts(listeners: list[Listener], text: str) -> dict[int, tuple[str, str | None]]:
    judged = evaluate("h", listeners, [policy_from_text(text)]).listeners
    return {jl.listener.port: (jl.verdict.value, jl.rule) for jl in judged}


def test_baseline_lists_container_only_listeners_and_judges_the_rest() -> None:
    judged = evaluate("h", [HOST_LI, WEB_ONLY, WEB_PUB, POD_ONLY, HOST_NET,
                            replace(WEB_ONLY, port=1923)], BASELINE)
    got = {(jl.listener.port, jl.listener.netns is None): jl.verdict for jl in judged.listeners}
    assert got == {(8080, True): Verdict.STRAY, (8080, False): Verdict.LISTED,
                   (80, False): Verdict.STRAY, (9090, False): Verdict.LISTED,
                   (9100, True): Verdict.STRAY, (1923, False): Verdict.FORBIDDEN}
    assert len([f for f in judged.findings if f.port == 8080]) == 1  # the host's only
    assert not [f for f in judged.findings if f.port == 9090]


def test_containers_judge_makes_container_only_listeners_stray() -> None:
    got = _verdicts([POD_ONLY], "name: p\ndefault: deny\ncontainers: judge\n")
    assert got == {9090: ("stray", None)}
    assert _verdicts([POD_ONLY], "name: p\ndefault: deny\n") == {9090: ("listed", None)}


def test_place_conditions_match_where_a_listener_is() -> None:
    text = """\
name: p
default: deny
containers: judge
allow:
  - id: metrics
    namespace: container
    k8s_namespace: monitoring
    pod: "prometheus-*"
    port: 9090
  - id: node
    namespace: host
    container: node*
    port: 9100
forbid:
  - id: nginx-published
    image: "nginx:*"
    exposure: published
"""
    node = replace(HOST_NET, container=replace(POD, name="node-exporter"))
    got = _verdicts([POD_ONLY, node, WEB_PUB, WEB_ONLY, HOST_LI], text)
    assert got == {9090: ("allowed", "p/metrics"), 9100: ("allowed", "p/node"),
                   80: ("forbidden", "p/nginx-published"), 8080: ("stray", None)}


def test_a_container_the_host_did_not_name_is_undetermined_for_name_conditions() -> None:
    text = "name: p\ndefault: deny\ncontainers: judge\nforbid:\n  - id: bad\n    image: evil*\n"
    judged = evaluate("h", [replace(WEB_ONLY, container=UNNAMED)], [policy_from_text(text)])
    jl, = judged.listeners
    assert jl.verdict is Verdict.STRAY  # already a finding: the forbid's doubt adds none
    allow = "name: p\ndefault: deny\nallow:\n  - id: web\n    container: web\n"
    judged = evaluate("h", [replace(WEB_ONLY, container=UNNAMED)], [policy_from_text(allow)])
    jl, = judged.listeners
    finding, = judged.findings
    assert jl.verdict is Verdict.UNDETERMINED
    assert "the host did not tell the container's name" in finding.message


@pytest.mark.parametrize("container", [
    WEB, Container(None, "db", None, "systemd-nspawn"), Container(None, "ci", None, "lxc"),
    Container("d" * 64, "api", "api:2", "podman", "apipod")])  # a podman pod: no k8s namespace
@pytest.mark.parametrize("condition", ["pod: prometheus-*", "k8s_namespace: monitoring"])
def test_a_named_container_in_no_pod_fails_pod_conditions(container: Container,
                                                          condition: str) -> None:
    # found by the container hunt: these were undetermined (a finding under any default)
    if container.pod and condition.startswith("pod"):
        condition = "pod: other"
    li = replace(WEB_ONLY, container=container)
    allow = f"name: p\ndefault: deny\ncontainers: judge\nallow:\n  - id: k\n    {condition}\n"
    assert _verdicts([li], allow) == {8080: ("stray", None)}
    forbid = f"name: p\ndefault: allow\ncontainers: judge\nforbid:\n  - id: k\n    {condition}\n"
    judged = evaluate("h", [li], [policy_from_text(forbid)])
    assert [jl.verdict for jl in judged.listeners] == [Verdict.ALLOWED] and not judged.findings
    # a container the host did not name stays undetermined: it may be in that pod
    unnamed = evaluate("h", [replace(li, container=UNNAMED)], [policy_from_text(forbid)])
    assert [jl.verdict for jl in unnamed.listeners] == [Verdict.UNDETERMINED]


def test_unread_namespaces_make_a_host_incomplete_only_under_judge() -> None:
    unread = Namespaces(0, "collected without root: ...")
    judge = [policy_from_text("name: p\ncontainers: judge\ndefault: deny\n")]
    assert unread_namespaces(unread, BASELINE) is None
    assert unread_namespaces(Namespaces(2), judge) is None
    why = unread_namespaces(unread, [*BASELINE, *judge])
    assert why is not None and "containers: judge in p" in why


def test_finding_ids_follow_the_container_by_name_and_image_not_its_id() -> None:
    redeployed = replace(WEB_PUB, container=replace(WEB, id="f" * 64), netns=4026539999,
                         pid=99)
    first, = evaluate("h", [WEB_PUB], BASELINE).findings
    again, = evaluate("h", [redeployed], BASELINE).findings
    other, = evaluate("h", [replace(WEB_PUB, container=replace(WEB, name="api"))],
                      BASELINE).findings
    host, = evaluate("h", [HOST_LI], BASELINE).findings
    assert first.id == again.id != other.id != host.id
    # a host listener's id is the one it always had (no container in its key)
    assert host.id == evaluate("h", [replace(HOST_LI, pid=1)], BASELINE).findings[0].id


def test_container_identity() -> None:
    assert container_identity(HOST_LI) is None
    assert container_identity(WEB_ONLY) == "docker:web@nginx"
    assert container_identity(POD_ONLY) == "k8s:monitoring/prometheus/prometheus@" \
        "quay.io/prometheus/prometheus"
    assert container_identity(replace(WEB_ONLY, container=UNNAMED)) == "docker:?"
    assert container_identity(replace(WEB_ONLY, container=None)) == "netns"
    assert workload("web-7d4b9c8f6-xk2lp") == "web"
    assert workload("node-exporter-4kzq9") == "node-exporter"
    assert workload("db-0") == "db-0"
    assert image_repository("registry:5000/team/app:1.2@sha256:abc") == "registry:5000/team/app"


def _finding(listener: Listener) -> Finding:
    return Finding("FC-000000000000", FindingKind.STRAY, BASELINE[0].stray_severity,
                   listener.proto, listener.port, listener.address, listener.process, None,
                   "m", netns=listener.netns, container=listener.container,
                   exposure=listener.exposure)


def test_waivers_name_containers() -> None:
    waivers = waivers_from_text("""\
waivers:
  - id: W1
    hosts: all
    container: web
    exposure: [published, container-only]
    reason: r
    owner: o
    approved_by: a
    created: 2030-01-01
    expires: 2030-12-31
  - id: W2
    hosts: all
    namespace: host
    port: 8080
    reason: r
    owner: o
    approved_by: a
    created: 2030-01-01
    expires: 2030-12-31
""")
    findings = [_finding(li) for li in (WEB_ONLY, WEB_PUB, HOST_LI, POD_ONLY,
                                        replace(WEB_ONLY, container=UNNAMED))]
    for w in waivers:
        w_hosts = replace(w, host_names=frozenset({"h"}))
        waivers[waivers.index(w)] = w_hosts
    got = apply_waivers("h", findings, waivers, dt.date(2030, 6, 1))
    assert [f.waiver for f in got] == ["W1", "W1", "W2", None, None]


@pytest.mark.parametrize(("text", "message"), [
    ("name: p\ncontainers: yes\n", "p.yml:2:13: containers must be 'judge' or 'list', not True"),
    ("name: p\ncontainers: jugde\n", "did you mean 'judge'?"),
    ("name: p\nallow:\n  - id: a\n    namespace: containers\n",
     "namespace must be host or container, not 'containers' (did you mean 'container'?)"),
    ("name: p\nallow:\n  - id: a\n    exposure: public\n",
     "exposure must be host or published or container-only, not 'public'"),
])
def test_bad_place_values_are_located_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        policy_from_text(text, "p.yml")
    assert message in str(err.value)


def test_place_conditions_survive_the_run_record() -> None:
    rule = policy_from_text("name: p\nallow:\n  - id: a\n    namespace: container\n"
                            "    image: 'nginx*'\n    pod: web-*\n    k8s_namespace: prod\n"
                            "    container: web\n    exposure: [published]\n").rules[0]
    assert match_from_dict(match_to_dict(rule.match)) == rule.match
    assert "namespace container" in rule.match.describe()


def test_the_run_record_keeps_how_a_policy_treats_containers() -> None:
    from fleetcheck.policy.serialize import policy_from_dict, policy_to_dict

    judge = policy_from_text("name: p\ndefault: deny\ncontainers: judge\n")
    assert policy_from_dict(policy_to_dict(judge)).containers == "judge"
    assert "containers" not in policy_to_dict(policy_from_text("name: q\n"))


def test_contradicting_place_conditions_and_disjoint_rules_are_told() -> None:
    with pytest.raises(InputError, match="namespace host never has exposure published"):
        policy_from_text("name: p\nforbid:\n  - id: f\n    namespace: host\n"
                         "    exposure: published\n", "p.yml")
    from fleetcheck.policy.rulecheck import overlap

    pol = policy_from_text("name: p\nallow:\n  - id: a\n    port: 80\n    namespace: host\n"
                           "forbid:\n  - id: f\n    port: 80\n    namespace: container\n"
                           "  - id: g\n    port: 80\n    image: nginx*\n")
    allow, forbid_container, forbid_image = pol.rules
    assert overlap(allow, forbid_container) is None  # a host listener is in no container ns
    said = overlap(allow, forbid_image)
    assert said is not None and "overlap" in said and "never takes effect" not in said
