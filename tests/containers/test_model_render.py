"""The new fields in JSON (parse shape, run schema, round trips) and the reports' grouping.

A run built from the model for the pure renderers (as tests/render/builders.py does),
judged by the real `evaluate` against the shipped baseline; every JSON rendered here is
validated against the published schema (tests/runschema.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from fleetcheck.engine.summary import judge_run
from fleetcheck.model import (
    CONTAINER_ONLY,
    PUBLISHED,
    HostResult,
    Listener,
    Namespaces,
    RunResult,
    Severity,
)
from fleetcheck.render import FORMATS, RenderOptions
from fleetcheck.render import html as html_report
from fleetcheck.render import text as text_report
from tests.containers.test_policy import BASELINE, POD, WEB
from tests.render.builders import FINISHED, STARTED, checked_host

LISTENERS = [
    Listener("tcp", 4, "0.0.0.0", 22, "sshd", 812, "root"),
    Listener("tcp", 4, "0.0.0.0", 80, "nginx", 901, netns=4026532300, container=WEB,
             exposure=PUBLISHED, published_port=8080),
    Listener("tcp", 4, "0.0.0.0", 1923, "spiced", 902, netns=4026532300, container=WEB,
             exposure=CONTAINER_ONLY),
    Listener("tcp", 4, "0.0.0.0", 9090, "prometheus", 903, netns=4026532400, container=POD,
             exposure=CONTAINER_ONLY),
    Listener("tcp", 4, "0.0.0.0", 9100, "node_exporter", 904,
             container=replace(POD, name="node-exporter", pod="node-exporter-4kzq9")),
]


def _run() -> RunResult:
    host = replace(checked_host("node1", ("k8s",), LISTENERS, BASELINE),
                   namespaces=Namespaces(2))
    plain = checked_host("web1", ("web",), LISTENERS[:1], BASELINE)
    hosts, summary = judge_run([host, plain], Severity.LOW, complete=True)
    return RunResult(run_id="20261126T020000Z-c0ffee02", tool_version="0.1.0",
                     started_at=STARTED, finished_at=FINISHED, inputs=(), hosts=hosts,
                     summary=summary)


def test_parse_output_keeps_the_corpus_shape_for_host_listeners() -> None:
    assert set(LISTENERS[0].to_dict()) == {"proto", "family", "address", "port", "process",
                                           "pid", "user"}
    inside = LISTENERS[1].to_dict()
    assert (inside["netns"], inside["exposure"], inside["published_port"]) == (
        4026532300, "published", 8080)
    assert inside["container"]["name"] == "web"
    assert all(Listener.from_dict(li.to_dict()) == li for li in LISTENERS)


def test_run_json_carries_the_fields_and_round_trips() -> None:
    run = _run()
    document = json.loads(FORMATS["json"].render(run, RenderOptions()))  # schema-checked
    node = next(h for h in document["hosts"] if h["name"] == "node1")
    sshd, web80 = node["listeners"][0], next(li for li in node["listeners"] if li["port"] == 80)
    assert (sshd["container"], sshd["exposure"]) == (None, "host") and "netns" not in sshd
    assert web80["container"] == WEB.to_dict() and web80["exposure"] == "published"
    assert node["namespaces"] == {"read": 2, "unread": None}
    stray, = [f for f in node["findings"] if f["port"] == 80]
    assert (stray["container"]["name"], stray["exposure"], stray["netns"]) == (
        "web", "published", 4026532300)
    plain = next(h for h in document["hosts"] if h["name"] == "web1")
    assert "namespaces" not in plain and all("container" not in f for f in plain["findings"])
    assert RunResult.from_dict(document).to_dict() == document


def test_text_report_groups_listeners_per_namespace_and_lists_images() -> None:
    report = text_report.render(_run(), RenderOptions(width=140))
    node = report[report.index("--- node1"):report.index("--- web1")]
    assert node.index("[host network namespace]") < node.index("[hostNetwork, pod monitoring/"
                                                               "node-exporter-4kzq9")
    assert "[web (docker, image nginx:1.25)] network namespace 4026532300" in node
    assert "exposure: container-only, published on host port 8080" in node
    assert "2 container network namespaces read" in node
    web1 = report[report.index("--- web1"):]
    assert "[host network namespace]" not in web1  # a host without containers: as before
    images = report[report.index("CONTAINER IMAGES"):report.index("RUN\n")]
    assert "nginx:1.25" in images and "tcp/80 published:8080" in images


def test_html_report_groups_listeners_and_lists_images() -> None:
    page = html_report.render(_run(), RenderOptions(rendered_at="2030-01-01T00:00:00Z"))
    assert page.count('<h4 class="netns">') == 4
    assert "published on host port 8080" in page
    assert '<section id="images">' in page and "quay.io/prometheus/prometheus:v2" in page
    search = re.search(r'id="host-node1" data-status="[a-z]+" data-search="([^"]*)"', page)
    assert search is not None and "prometheus-7d4b9c8f6-xk2lp" in search.group(1).split()


def test_hosts_without_containers_render_as_before() -> None:
    run = _run()
    plain = replace(run, hosts=(run.hosts[1],))
    page = html_report.render(plain, RenderOptions(rendered_at="2030-01-01T00:00:00Z"))
    assert '<h4 class="netns">' not in page and 'id="images"' not in page
    assert "CONTAINER IMAGES" not in text_report.render(plain)
    assert isinstance(run.hosts[1], HostResult)
