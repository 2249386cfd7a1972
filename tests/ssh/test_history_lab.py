"""History over several real runs against real sshd hosts: a listener added (new), removed
(fixed), removed then back (reopened), a restarted process with a new PID (persisting), a
host unreachable one night (unverified, not fixed), a --limit run in between; and a CI job
gating a change with --baseline RUN.json --fail-on-new."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.lab.netns import Sock, SocketHolders
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import NOTHING_ADDRESS, Fleet, Scan

pytestmark = pytest.mark.lab


def _findings(scan: Scan) -> dict[tuple[str, int], str]:
    """(host, port) -> change of every finding (sshd's own port is allowed)."""
    return {(h["name"], f["port"]): f["change"] for h in scan.run["hosts"]
            for f in h["findings"]}


def _listed(scan: Scan, what: str) -> list[tuple[str, int]]:
    return [(f["host"], f["port"]) for f in scan.run["changes"][what]]


def _pid(scan: Scan, host: str, port: int) -> int:
    (pid,) = [li["pid"] for li in scan.host(host)["listeners"] if li["port"] == port]
    return int(pid)


class Listeners:
    """Sockets held on lab hosts, per port, so a night can add, drop and restart them."""

    def __init__(self, lab: SshLab) -> None:
        self.lab = lab
        self.held: dict[tuple[str, int], SocketHolders] = {}

    def open(self, host: str, port: int, process: str) -> None:
        self.held[host, port] = self.lab.hold(host, [Sock("tcp", "0.0.0.0", port,
                                                          process=process)])

    def close(self, host: str, port: int) -> None:
        self.lab.release(self.held.pop((host, port)))

    def close_all(self) -> None:
        for key in list(self.held):
            self.close(*key)


@pytest.fixture
def sockets(lab: SshLab) -> Any:
    held = Listeners(lab)
    yield held
    held.close_all()


def test_nights_of_a_real_fleet(fleet: Fleet, sockets: Listeners, tmp_path: Path) -> None:
    db = str(tmp_path / "history.sqlite3")
    inv = fleet.inventory({"meta": fleet.vars("meta"), "relay": fleet.vars("relay")})
    away = fleet.inventory({"meta": fleet.vars("meta"),
                            "relay": fleet.vars("relay", ansible_host=NOTHING_ADDRESS)},
                           "away.yml")

    sockets.open("meta", 7101, "appd")
    sockets.open("relay", 7201, "cached")
    sockets.open("relay", 7202, "keepd")
    n1 = fleet.scan(inv, "--become", "--history-db", db)
    assert n1.code == 1
    assert _findings(n1) == {("meta", 7101): "new", ("relay", 7201): "new",
                             ("relay", 7202): "new"}
    assert n1.run["changes"]["first_checked"] == 2

    # appd restarted (a new PID), a listener added on meta, one removed on relay
    sockets.close("meta", 7101)
    sockets.open("meta", 7101, "appd")
    sockets.open("meta", 7102, "newd")
    sockets.close("relay", 7201)
    n2 = fleet.scan(inv, "--become", "--history-db", db)
    assert _pid(n2, "meta", 7101) != _pid(n1, "meta", 7101)
    assert _findings(n2) == {("meta", 7101): "persisting", ("meta", 7102): "new",
                             ("relay", 7202): "persisting"}
    assert _listed(n2, "fixed") == [("relay", 7201)]
    assert "New since last run (1)" in n2.text and "Fixed (1)" in n2.text

    # a --limit run of meta alone: newd gone there; relay is not judged at all
    sockets.close("meta", 7102)
    n3 = fleet.scan(inv, "--become", "--history-db", db, "--limit", "meta")
    assert _findings(n3) == {("meta", 7101): "persisting"}
    assert _listed(n3, "fixed") == [("meta", 7102)]
    assert _listed(n3, "unverified") == []

    # relay unreachable for a night: its open finding is unverified, never fixed;
    # newd back on meta after one run away: reopened, and a flap
    sockets.open("meta", 7102, "newd")
    n4 = fleet.scan(away, "--become", "--history-db", db)
    assert n4.code == 1 and n4.kind("relay") is not None
    assert _findings(n4) == {("meta", 7101): "persisting", ("meta", 7102): "reopened"}
    assert _listed(n4, "fixed") == []
    assert _listed(n4, "unverified") == [("relay", 7202)]
    assert n4.run["changes"]["flapping"] == 1
    assert "Not verified tonight (1)" in n4.text and "Reopened (1)" in n4.text

    # relay back: cached back too (reopened), keepd still the same finding since night 1
    sockets.open("relay", 7201, "cached")
    n5 = fleet.scan(inv, "--become", "--history-db", db)
    assert _findings(n5) == {("meta", 7101): "persisting", ("meta", 7102): "persisting",
                             ("relay", 7201): "reopened", ("relay", 7202): "persisting"}
    assert (n5.run["changes"]["fixed"], n5.run["changes"]["unverified"]) == ([], [])
    first_seen = {(h["name"], f["port"]): f["first_seen"] for h in n5.run["hosts"]
                  for f in h["findings"]}
    assert first_seen[("relay", 7202)] == first_seen[("relay", 7201)] == n1.run["started_at"]
    assert first_seen[("meta", 7101)] == n1.run["started_at"]
    assert [p["run_id"] for p in n5.run["trend"]] == [s.run["run_id"] for s in
                                                       (n1, n2, n3, n4, n5)]

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert dict(conn.execute("SELECT name, checks FROM hosts")) == {"meta": 5, "relay": 3}
    conn.close()
    res = run_cli(["history", "--history-db", db, "--host", "relay", "--format", "json"],
                  cwd=tmp_path)
    line = json.loads(res.out)
    assert [r["status"] for r in line["runs"]] == ["noncompliant", "noncompliant",
                                                  "unreachable", "noncompliant"]
    assert [(e["what"], e["port"]) for e in line["events"] if e["category"] == "finding"] == \
        [("opened", 7201), ("opened", 7202), ("closed", 7201), ("reopened", 7201)]


def test_a_ci_job_gates_on_new_findings_only(fleet: Fleet, sockets: Listeners,
                                             tmp_path: Path) -> None:
    inv = fleet.inventory({"meta": fleet.vars("meta")})
    sockets.open("meta", 7301, "legacyd")  # a known violation the team lives with
    main = fleet.scan(inv, "--become", "--no-history")  # the main branch's nightly job
    assert main.code == 1
    baseline = tmp_path / "baseline.json"  # kept as the job's artifact
    shutil.copyfile(main.report, baseline)

    gate = ("--become", "--no-history", "--baseline", str(baseline), "--fail-on-new")
    unchanged = fleet.scan(inv, *gate)  # a pull request that opens nothing
    assert unchanged.code == 0
    s = unchanged.run["summary"]
    assert (s["gate"], s["violations"], s["new_violations"], s["exit_code"]) == \
        ("new", 1, 0, 0)
    assert "none of them new or reopened since the baseline (--fail-on-new)" in \
        " ".join(unchanged.text.split())
    assert unchanged.run["changes"]["against"]["run_id"] == main.run["run_id"]

    sockets.open("meta", 7302, "prd")  # a pull request that opens a port
    opened = fleet.scan(inv, *gate)
    assert opened.code == 1
    assert _findings(opened) == {("meta", 7301): "persisting", ("meta", 7302): "new"}
    assert opened.run["summary"]["new_violations"] == 1
    assert "1 of them new or reopened since the baseline" in " ".join(opened.text.split())

    sockets.close("meta", 7302)
    away = fleet.inventory({"meta": fleet.vars("meta", ansible_host=NOTHING_ADDRESS)},
                           "away.yml")
    unreachable = fleet.scan(away, *gate)  # nothing new, but nothing could be checked
    assert unreachable.code == 3
    assert _listed(unreachable, "unverified") == [("meta", 7301)]

    db = str(tmp_path / "h.sqlite3")  # with a database, 'latest' is each host's last run
    first = fleet.scan(inv, "--history-db", db, "--fail-on-new")
    assert first.code == 1  # never seen: everything is new
    again = fleet.scan(inv, "--history-db", db, "--baseline", "latest", "--fail-on-new")
    assert again.code == 0
    assert again.run["changes"]["against"]["source"] == "history"
