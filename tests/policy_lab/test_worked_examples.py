"""docs/policies.md's worked examples, run as written against a lab of real sshd hosts.

One lab for the module: every host of the page's fleet is a real OpenSSH daemon in
its own network namespace, holding the listeners the page's tables list; ONE
`fleetcheck scan`, exactly as the page prints it, checks them all over SSH with the
layered policies and the waivers (active, expired, unused). Every claim the page
makes in a form a test can read (findings, verdicts, waiver outcomes, printed lines,
command transcripts) is compared with what that scan and the page's other commands
produce.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult
from tests.policy.lab import finding_rows
from tests.policy_lab.docexamples import Listening, read_fleet
from tests.policy_lab.fleetlab import FleetLab, fleet_lab

pytestmark = pytest.mark.lab

FLEET = read_fleet()
EXAMPLES = {ex.name: ex for ex in FLEET.examples}


@dataclass
class FleetScan:
    """The lab, the page's scan of it and the JSON report it wrote."""

    lab: FleetLab
    res: CliResult
    report: Path
    run: dict[str, Any]

    def host(self, name: str) -> dict[str, Any]:
        """One host of the run."""
        return next(h for h in self.run["hosts"] if h["name"] == name)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetScan]:
    """The fleet, up for the module, scanned once with the page's command."""
    with fleet_lab(FLEET, tmp_path_factory.mktemp("fleet")) as lab:
        res = lab.cli(FLEET.scan)
        report, run = lab.report(res)
        yield FleetScan(lab, res, report, run)


def _listening(host: dict[str, Any]) -> Counter[Listening]:
    """A host's listeners as the page's tables state them (a multiset: order is free)."""
    return Counter(Listening(li["proto"], li["address"], li["port"], li["process"],
                             bool(li.get("dual_stack")), li["verdict"], li["rule"])
                   for li in host["listeners"])


def test_the_page_has_every_worked_example() -> None:
    assert list(EXAMPLES) == ["web", "db", "bastion", "workstation", "layered", "waivers"]
    assert FLEET.scan[0] == "scan" and FLEET.exit_status == 1
    kinds = {row[1] for row in FLEET.findings()}
    assert kinds >= {"forbidden", "stray", "missing", "wrong_bind", "wrong_process"}
    assert sorted(s for s, _ in FLEET.waivers().values()) == ["active", "expired", "unused"]


def test_the_scan_exits_as_the_page_says(scanned: FleetScan) -> None:
    assert scanned.res.code == FLEET.exit_status, scanned.res.err
    for host in scanned.run["hosts"]:
        # checked over SSH, as root (process names), by the best tool: nothing unseen
        assert host["error"] is None, (host["name"], host["error"])
        assert host["privileged"] is True and host["collector"] == "ss", host["name"]
    assert {h["name"] for h in scanned.run["hosts"]} == set(FLEET.listening())


def test_the_scan_finds_exactly_what_the_page_claims(scanned: FleetScan) -> None:
    assert finding_rows(scanned.run) == FLEET.findings()


@pytest.mark.parametrize("name", [n for n, ex in EXAMPLES.items() if ex.listening])
def test_example_listeners_verdicts_and_findings(scanned: FleetScan, name: str) -> None:
    ex = EXAMPLES[name]
    for host, rows in ex.listening.items():
        assert _listening(scanned.host(host)) == Counter(rows), host
        got = {row for row in finding_rows(scanned.run) if row[0] == host}
        assert got == {row for row in ex.findings if row[0] == host}, host
    assert {row[0] for row in ex.findings} <= set(ex.listening)


def test_waiver_outcomes_and_warnings(scanned: FleetScan) -> None:
    ex = EXAMPLES["waivers"]
    outcomes = {w["id"]: (w["status"], w["matched"]) for w in scanned.run["waivers"]}
    assert outcomes == FLEET.waivers()
    assert ex.stderr and set(ex.stderr) <= set(scanned.res.err.splitlines())
    assert scanned.run["meta"]["warnings"] == ex.warnings
    by_id = {w["id"]: w for w in scanned.run["waivers"]}
    assert by_id["WEB-2"]["owner"] == "carol" and by_id["WEB-2"]["ticket"] == "OPS-1180"
    assert scanned.run["summary"]["waived"] == sum(1 for r in FLEET.findings() if r[7])


def _masked(text: str) -> str:
    """Output with process ids masked: they are the one thing that differs between runs."""
    return re.sub(r"\bpid \d+", "pid N", text)


TRANSCRIPTS = [t for ex in [FLEET.intro, *FLEET.examples] for t in ex.transcripts]


@pytest.mark.parametrize(("argv", "output"), TRANSCRIPTS,
                         ids=[" ".join(argv[:1] + argv[-2:]) for argv, _ in TRANSCRIPTS])
def test_commands_print_what_the_page_shows(scanned: FleetScan, argv: list[str],
                                            output: str) -> None:
    res = scanned.lab.cli(argv)
    assert res.code == 0, res.err
    assert _masked(res.out) == _masked(output)


def test_explain_from_the_saved_run_matches_the_live_check(scanned: FleetScan) -> None:
    """The page's live explain, replayed from the scan's JSON report: the same story."""
    ((argv, output),) = EXAMPLES["bastion"].transcripts
    host, port = argv[-2:]
    res = scanned.lab.cli(["explain", "--run", str(scanned.report), host, port])
    assert res.code == 0, res.err
    assert _masked(res.out) == _masked(output)


def _explain(scanned: FleetScan, host: str, port: str) -> list[dict[str, Any]]:
    res = scanned.lab.cli(["explain", "--run", str(scanned.report), "--format", "json",
                           host, port])
    assert res.code == 0, res.err
    doc: list[dict[str, Any]] = json.loads(res.out)
    return doc


@pytest.mark.parametrize(("host", "port", "verdict", "rule", "waiver"), [
    ("web1", "8080/tcp", "forbidden", "web/app-exposed", "WEB-1"),
    ("web1", "https/tcp", "allowed", "web/http", None),  # the dual-stack socket
    ("db1", "postgresql", "wrong_bind", "db/postgres", None),
    ("app1", "spice/tcp", "forbidden", "baseline/spice", None),  # beats loopback-only
    ("dev1", "5900", "forbidden", "workstation/remote-desktop", None),
    ("jump1", "22", "wrong_process", "bastion/sshd", None),
])
def test_explain_names_the_deciding_rule(scanned: FleetScan, host: str, port: str,
                                         verdict: str, rule: str, waiver: str | None) -> None:
    (e,) = _explain(scanned, host, port)
    for story in e["listeners"]:
        assert (story["verdict"], story["rule"]) == (verdict, rule)
        assert story["consistent_with_run"] is True
        decided = {s["rule"]: s["result"] for s in story["rules"]}[rule]
        assert decided == ("yes" if verdict in ("allowed", "forbidden") else verdict)
        finding = story["finding"]
        if verdict == "allowed":
            assert finding is None
        else:
            assert (finding["kind"], finding["waived"], finding["waiver"]) == (
                verdict, waiver is not None, waiver)
    assert e["listeners"], (host, port)


def test_a_forbid_beats_the_layered_allow(scanned: FleetScan) -> None:
    (e,) = _explain(scanned, "app1", "1923/tcp")
    (story,) = e["listeners"]
    results = {s["rule"]: s["result"] for s in story["rules"]}
    assert results["baseline/loopback-only"] == "yes" and results["baseline/spice"] == "yes"
    assert [p["name"] for p in e["policies"]] == ["baseline", "db", "web"]


def test_example_files_are_what_the_scan_read(scanned: FleetScan) -> None:
    read = {Path(i["path"]).relative_to(scanned.lab.work).as_posix()
            for files in scanned.run["inputs"].values() for i in files}
    assert read == set(FLEET.all_files())


def test_live_explain_takes_the_connection_options_of_scan(scanned: FleetScan,
                                                           tmp_path: Path) -> None:
    """-F and --known-hosts reach the host as scan would; without the keys it is unchecked."""
    ssh = scanned.lab.home / ".ssh"
    bare = tmp_path / "home"  # no ~/.ssh: everything comes from the options
    bare.mkdir()
    argv = ["explain", "-i", "inventory.yml", "-p", "policies/", "--format", "json",
            "-F", str(ssh / "config"), "jump1", "22/tcp"]
    res = scanned.lab.cli([*argv, "--known-hosts", str(ssh / "known_hosts")], HOME=str(bare))
    assert res.code == 0, res.err
    (e,) = json.loads(res.out)
    assert {(s["verdict"], s["rule"]) for s in e["listeners"]} == {("wrong_process",
                                                                    "bastion/sshd")}
    res = scanned.lab.cli(argv, HOME=str(bare))
    assert (res.code, res.out) == (3, "")
    assert "jump1 could not be checked (host_key_unknown: " in res.err
