"""--fail-on decides once what a finding is: every report and the exit code say the same thing.

Real sockets in a fresh namespace, scanned by the real probe over the local connection.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns


def _scan(netns: Namespace, tmp_path: Path, *args: str) -> tuple[int, dict[str, str], str]:
    out = tmp_path / "out"
    with in_netns(netns.name):
        res = run_cli(["scan", "-o", str(out), "--format", "text,html,json,junit,csv", *args],
                      cwd=tmp_path)
    files = {p.suffix.lstrip("."): p.read_text() for p in out.iterdir()}
    return res.code, files, res.out + res.err


def _html_cards(page: str) -> dict[str, int]:
    return {label: int(n) for n, label in
            re.findall(r'<li class="c-[a-z]+"><b>(\d+)</b>([a-z]+)</li>', page)}


@pytest.mark.lab
def test_a_high_finding_under_fail_on_critical_is_below_threshold_everywhere(
        netns: Namespace, holders: SocketHolders, tmp_path: Path) -> None:
    holders.hold([Sock("tcp", "0.0.0.0", 8080, process="webd")])  # a high stray
    code, files, said = _scan(netns, tmp_path, "--fail-on", "critical")
    assert code == 0, said
    run: dict[str, Any] = json.loads(files["json"])
    (host,) = run["hosts"]
    (finding,) = host["findings"]
    assert (finding["severity"], finding["below_threshold"]) == ("high", True)
    assert host["status"] == "compliant"
    s = run["summary"]
    assert (s["compliant"], s["noncompliant"], s["violations"], s["below_threshold"]) == \
        (1, 0, 0, 1)
    assert s["exit_code"] == 0
    page = files["html"]
    assert re.search(r'<header class="verdict tone-ok"[^>]*>\s*<p[^>]*>[^<]*</p>\s*'
                     r'<h1>COMPLIANT</h1>', page)
    assert _html_cards(page)["noncompliant"] == 0 and _html_cards(page)["compliant"] == 1
    assert 'class="red"' not in page and " red\"" not in page  # no row painted as a violation
    assert "below fail-on" in page
    assert files["txt"].splitlines()[1].startswith("COMPLIANT: ")
    assert "below fail-on" in files["txt"]
    junit = ET.fromstring(files["xml"])  # noqa: S314 -- our own output
    assert junit.get("failures") == "0" and junit.get("errors") == "0"
    (row,) = list(csv.DictReader(io.StringIO(files["csv"])))
    assert (row["violation"], row["host_status"]) == ("no", "compliant")


@pytest.mark.lab
def test_the_same_finding_at_fail_on_high_is_a_violation_everywhere(
        netns: Namespace, holders: SocketHolders, tmp_path: Path) -> None:
    holders.hold([Sock("tcp", "0.0.0.0", 8080, process="webd")])
    code, files, said = _scan(netns, tmp_path, "--fail-on", "high")
    assert code == 1, said
    run = json.loads(files["json"])
    (host,) = run["hosts"]
    assert host["status"] == "noncompliant"
    assert host["findings"][0]["below_threshold"] is False
    page = files["html"]
    assert "<h1>NONCOMPLIANT</h1>" in page and _html_cards(page)["noncompliant"] == 1
    assert ET.fromstring(files["xml"]).get("failures") == "1"  # noqa: S314 -- our own output
    (row,) = list(csv.DictReader(io.StringIO(files["csv"])))
    assert (row["violation"], row["host_status"]) == ("yes", "noncompliant")


@pytest.mark.lab
def test_report_re_renders_an_old_run_as_one_verdict(
        netns: Namespace, holders: SocketHolders, tmp_path: Path) -> None:
    """A run written before statuses followed --fail-on (status noncompliant, exit 0)."""
    holders.hold([Sock("tcp", "0.0.0.0", 8080, process="webd")])
    _, files, _ = _scan(netns, tmp_path, "--fail-on", "critical")
    old = json.loads(files["json"])
    old["hosts"][0]["status"] = "noncompliant"
    for f in old["hosts"][0]["findings"]:
        del f["below_threshold"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    res = run_cli(["report", "old.json", "--format", "html"], cwd=tmp_path)
    assert res.code == 0
    assert "<h1>COMPLIANT</h1>" in res.out and _html_cards(res.out)["noncompliant"] == 0
