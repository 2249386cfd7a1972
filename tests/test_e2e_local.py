"""End to end on this machine's real tools: sockets held in a fresh namespace, scanned locally."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, run_files
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns

PLANTED = [
    Sock("tcp", "0.0.0.0", 1923, process="spiced"),  # forbidden, critical
    Sock("tcp", "0.0.0.0", 22, process="sshd"),  # allowed: ssh
    Sock("udp", "0.0.0.0", 5353, process="mdnsd"),  # stray udp
    Sock("tcp", "::", 8080, process="webd", v6only=True),  # stray, IPv6 only
    Sock("tcp", "127.0.0.1", 6379, process="redis-server"),  # allowed: loopback
    Sock("tcp", "0.0.0.0", 9000, process="userapp", user="nobody"),  # stray, non-root owner
    Sock("udp", "127.0.0.1", 40000, process="resolver", connect_to=("127.0.0.1", 53)),
]


def _inventory(tmp_path: Path, tool: str | None) -> Path:
    extra = f", fleetcheck_tool: {tool}" if tool else ""
    path = tmp_path / "inv.yml"
    path.write_text(f"all:\n  hosts:\n    box: {{ansible_connection: local{extra}}}\n")
    return path


def _scan(netns: Namespace, tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    with in_netns(netns.name):
        res = run_cli(["scan", "-o", str(tmp_path / "out"), "--format", "text,json", *args],
                      cwd=tmp_path)
    reports = run_files(tmp_path / "out")
    assert len(reports) == 1, res.err
    return res.code, json.loads(reports[0].read_text())


def _findings(run: dict[str, Any]) -> set[tuple[Any, ...]]:
    host = run["hosts"][0]
    return {(f["kind"], f["severity"], f["proto"], f["port"], f["address"], f["process"])
            for f in host["findings"]}


EXPECTED = {
    ("forbidden", "critical", "tcp", 1923, "0.0.0.0", "spiced"),
    ("stray", "high", "udp", 5353, "0.0.0.0", "mdnsd"),
    ("stray", "high", "tcp", 8080, "::", "webd"),
    ("stray", "high", "tcp", 9000, "0.0.0.0", "userapp"),
}


@pytest.mark.lab
@pytest.mark.parametrize("tool", [None, "netstat", "proc"])
def test_planted_listeners_give_exact_findings(netns: Namespace, holders: SocketHolders,
                                               tmp_path: Path, tool: str | None) -> None:
    holders.hold(PLANTED)
    args = ["-i", str(_inventory(tmp_path, tool))] if tool else []
    code, run = _scan(netns, tmp_path, *args)
    assert code == 1
    host = run["hosts"][0]
    assert host["status"] == "noncompliant"
    assert host["collector"] == (tool or "ss")
    assert _findings(run) == EXPECTED
    by_port = {(li["proto"], li["port"]): li for li in host["listeners"]}
    assert set(by_port) == {("tcp", 1923), ("tcp", 22), ("udp", 5353), ("tcp", 8080),
                            ("tcp", 6379), ("tcp", 9000)}  # connected UDP is not a listener
    assert by_port[("tcp", 6379)]["verdict"] == "allowed"
    assert by_port[("tcp", 6379)]["rule"] == "baseline/loopback-only"
    assert by_port[("tcp", 22)]["rule"] == "baseline/ssh"
    assert by_port[("tcp", 8080)]["family"] == 6
    assert by_port[("tcp", 1923)]["verdict"] == "forbidden"
    if tool != "netstat":  # net-tools netstat -e prints the user; ss -e prints a uid
        assert by_port[("tcp", 9000)]["process"] == "userapp"
    # Every collector names the owner: ss through its uids and the probe's getent lookup.
    assert by_port[("tcp", 9000)]["user"] == "nobody"
    assert by_port[("tcp", 1923)]["user"] == "root"
    assert run["summary"]["by_severity"]["critical"] == 1
    assert run["summary"]["exit_code"] == 1


@pytest.mark.lab
def test_only_allowed_listeners_exit_zero(netns: Namespace, holders: SocketHolders,
                                          tmp_path: Path) -> None:
    holders.hold([Sock("tcp", "0.0.0.0", 22, process="sshd"),
                  Sock("tcp", "127.0.0.1", 5432, process="postgres"),
                  Sock("udp", "::1", 323, process="chronyd")])
    code, run = _scan(netns, tmp_path)
    assert code == 0
    assert run["hosts"][0]["status"] == "compliant"
    assert run["hosts"][0]["findings"] == []
    assert len(run["hosts"][0]["listeners"]) == 3


@pytest.mark.lab
def test_summary_on_stdout_highlights_1923(netns: Namespace, holders: SocketHolders,
                                               tmp_path: Path) -> None:
    holders.hold([Sock("tcp", "0.0.0.0", 1923, process="spiced")])
    with in_netns(netns.name):
        plain = run_cli(["scan", "-o", str(tmp_path)], cwd=tmp_path, tty=True,
                        environ={"NO_COLOR": "1"})
        colour = run_cli(["scan", "-o", str(tmp_path)], cwd=tmp_path, tty=True)
    assert plain.code == colour.code == 1
    assert "\033[" not in plain.out
    assert "\033[31m" in colour.out
    assert "CRITICAL" in plain.out and "1923" in plain.out and "spiced" in plain.out
    assert plain.out.splitlines()[0].startswith("NONCOMPLIANT: 1 violation")
    assert "FORBIDDEN tcp/1923 (spice) any address spiced · 1 host: localhost" in plain.out
    never = run_cli(["scan", "-o", str(tmp_path), "--color", "never"], cwd=tmp_path, tty=True)
    always = run_cli(["scan", "-o", str(tmp_path), "--color", "always"], cwd=tmp_path,
                     environ={"NO_COLOR": "1"})  # the flag wins over the variable
    assert "\033[" not in never.out and "\033[31m" in always.out


@pytest.mark.lab
@pytest.mark.parametrize("tool", [None, "netstat", "proc"])
def test_user_rules_judge_the_real_owner(netns: Namespace, holders: SocketHolders,
                                         tmp_path: Path, tool: str | None) -> None:
    """`user:` is decided from the socket's real owner by every Linux collector."""
    holders.hold([Sock("tcp", "0.0.0.0", 9000, process="userapp", user="nobody"),
                  Sock("tcp", "0.0.0.0", 9001, process="rootapp")])
    policy = tmp_path / "owners.yml"
    policy.write_text("name: owners\nhosts: all\ndefault: deny\nallow:\n"
                      "  - {id: app-as-nobody, proto: tcp, port: 9000-9001, user: nobody}\n")
    code, run = _scan(netns, tmp_path, "-p", str(policy),
                      "-i", str(_inventory(tmp_path, tool)))
    assert code == 1
    by_port = {li["port"]: li for li in run["hosts"][0]["listeners"]}
    assert by_port[9000]["verdict"] == "allowed"
    assert by_port[9000]["rule"] == "owners/app-as-nobody"
    assert by_port[9001]["verdict"] == "wrong_process"  # the right port, the wrong owner
    assert {f["kind"] for f in run["hosts"][0]["findings"]} == {"wrong_process"}
