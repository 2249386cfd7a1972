"""One hostile host among healthy ones: every trick at once, classified correctly.

The lab's `hostile` host (tests/ssh/conftest.py) holds a forbidden TCP 1923 behind a process
named `ev\\nil` (real ss prints the raw newline), a listener whose name is an OSC 52
clipboard-write sequence, one named with U+2028 owned by `nobody` (so the probe asks the
user database, whose `getent` answers with a 256 KiB line first), and it can be logged into
as an echoing appliance. Scanned beside healthy hosts: the forbidden port is found and the
host is noncompliant, the echoing login is an error that never got the password, no escape
sequence reaches the terminal, and the healthy hosts' results stay complete.
"""

from __future__ import annotations

import json

import pytest

from tests.lab.sshlab import SshLab
from tests.ssh.conftest import SSHD, Fleet, listeners

pytestmark = pytest.mark.lab


def test_a_hostile_host_beside_healthy_ones(fleet: Fleet, lab: SshLab) -> None:
    password = lab.user("fcecho").password
    assert password
    inv = fleet.inventory({
        "hostile": fleet.vars("hostile", ansible_become=True),
        "hostile-echo": fleet.vars("hostile", user="fcecho", ansible_become=True,
                                   ansible_become_password=password),
        "web3": fleet.vars("web3", ansible_become=True),
        "web4": fleet.vars("web4", ansible_become=True),
    })
    scan = fleet.scan(inv, "--format", "all", "--command-timeout", "5", "-v", tty_err=True,
                      environ={"COLUMNS": "100"})
    hostile = scan.host("hostile")
    assert hostile["status"] == "noncompliant", hostile["error"]
    by_port = {(li["proto"], li["port"]): li for li in hostile["listeners"]}
    assert by_port[("tcp", 1923)]["process"] == "ev\nil"  # the newline did not hide it
    assert by_port[("tcp", 1923)]["verdict"] == "forbidden"
    assert by_port[("tcp", 8081)]["process"] == "\x1b]52;c;Zm9v\x07"
    assert by_port[("tcp", 8082)]["user"] == "nobody"  # found despite the huge line
    forbidden = [f for f in hostile["findings"] if f["kind"] == "forbidden"]
    assert [(f["port"], f["severity"]) for f in forbidden] == [(1923, "critical")]
    echo = scan.host("hostile-echo")
    assert echo["status"] == "error" and echo["error"]["kind"] == "command_timeout"
    assert "password was not sent" in echo["error"]["message"]
    for name in ("web3", "web4"):
        assert scan.host(name)["error"] is None
        assert listeners(scan.host(name)) >= SSHD
    assert scan.code == 1
    # Nothing a host printed acts on a terminal: stdout and stderr carry no raw ESC or BEL.
    for stream in (scan.out, scan.err):
        assert "\x1b" not in stream and "\x07" not in stream and "\u2028" not in stream
    assert "\x1b" not in scan.text and "\u2028" not in scan.text
    out = fleet.tmp / f"out{fleet.runs}"
    for path in out.iterdir():  # every report, and the history database
        text = path.read_bytes().decode("utf-8", "replace")
        assert password not in text, path.name
        if path.suffix == ".html":  # an auditor reads the names as a terminal shows them
            assert "\x1b" not in text and "\x07" not in text, path.name
            assert "\\x1b]52;c;Zm9v\\x07" in text and "ev\\x0ail" in text, path.name
    saved = json.loads(next(p for p in out.iterdir() if p.name.count(".") == 1
                            and p.suffix == ".json").read_text())
    assert saved["summary"]["hosts"] == 4 and saved["complete"] is True
