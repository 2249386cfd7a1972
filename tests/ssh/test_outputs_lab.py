"""Outputs against real sshd hosts: what each -v level adds, and unchecked hosts grouped so
people can act on them (a key known under another name, the keys a login tried, the hosts
behind a jump host that failed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, RenderOptions
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import Fleet

pytestmark = pytest.mark.lab

CONNECTION = ("TCP connected to", "SSH handshake in", "kex ", "cipher ", "authenticating as",
              "accepted", "authenticated in")


def _lines(err: str, marker: str) -> list[str]:
    return [line for line in err.splitlines() if marker in line]


def test_each_verbosity_level_adds_one_thing(fleet: Fleet, lab: SshLab) -> None:
    jump = lab.hosts["jump"].address
    (fleet.home / ".ssh" / "config").write_text(f"Host {jump}\n  IdentityFile {lab.key}\n")
    inv = fleet.inventory({"web3": fleet.vars("web3"),
                           "inner1": fleet.vars("inner1",
                                                ansible_ssh_common_args=f"-J fcops@{jump}")})
    address = lab.hosts["web3"].address
    one = fleet.scan(inv, "-v")
    assert one.code in (0, 1), one.err  # inner1 may hold a lab listener the baseline flags
    outcome = _lines(one.err, f"fleetcheck: web3 ({address}): compliant · ")
    assert len(outcome) == 1 and re.search(r"\d+ listeners? · 0 findings \[\d+\.\d+s\]$",
                                           outcome[0])
    assert _lines(one.err, "fleetcheck: inner1 (")
    assert not _lines(one.err, "fleetcheck.ssh") and not _lines(one.err, "paramiko")

    two = fleet.scan(inv, "-vv")
    details = _lines(two.err, "fleetcheck: fleetcheck.ssh: ")
    for words in CONNECTION:
        assert any(words in line for line in details), words
    assert any(f"TCP connected to {address} port 22 in " in line for line in details)
    assert any("through jump host fcops@" in line and jump in line for line in details)
    assert any(f"key {lab.key} (ssh-ed25519) accepted" in line for line in details)
    assert any(re.search(r"SSH handshake in \d+ ms with SSH-2\.0-OpenSSH", line)
               for line in details)
    assert _lines(two.err, f"fleetcheck: web3 ({address}): compliant")  # -v's lines stay
    assert not _lines(two.err, "fleetcheck: paramiko")

    three = fleet.scan(inv, "-vvv")
    assert _lines(three.err, "fleetcheck: paramiko.transport: ")
    assert _lines(three.err, "fleetcheck: fleetcheck.ssh: TCP") or \
        _lines(three.err, "TCP connected to")


def test_unchecked_hosts_grouped_with_what_to_do(fleet: Fleet, lab: SshLab,
                                                 tmp_path: Path) -> None:
    jump = lab.hosts["jump"].address
    web4 = lab.hosts["web4"]
    known = tmp_path / "known_hosts"
    # web4's key is remembered under its old name only: renamed (or readdressed) since.
    renamed = [f"old-web4.example.net {key}\n" for key in web4.known_keys]
    known.write_text("".join([*lab.known_hosts_lines("web3"), *renamed]))
    (fleet.home / ".ssh" / "config").write_text(f"Host {jump}\n  IdentityFile {lab.key}\n")
    inv = fleet.inventory({
        "web3": fleet.vars("web3"),
        "web4": fleet.vars("web4"),  # host_key_unknown, its key known as old-web4
        "stranger": fleet.vars("stranger"),  # host_key_unknown, never seen
        "nobody1": fleet.vars("web3", user="nobody-here"),  # auth_failed
        "nobody2": fleet.vars("web3", user="nobody-here"),
        "inner1": fleet.vars("inner1", ansible_ssh_common_args=f"-J fcops@{jump}:2"),
        "inner2": fleet.vars("inner2", ansible_ssh_common_args=f"-J fcops@{jump}:2"),
    })
    scan = fleet.scan(inv, "--retries", "0", known_hosts=known)
    assert scan.code == 3, scan.err
    assert "the same key is known for old-web4.example.net (" in \
        scan.host("web4")["error"]["message"]
    out = " ".join(scan.out.split())
    assert "host_key_unknown · 2 hosts: stranger, web4" in out
    assert ("web4 presents a key already known for another name: old-web4.example.net "
            f"({known}:") in out, scan.out
    assert "auth_failed · 2 hosts: nobody1, nobody2" in out
    assert f"as nobody-here: tried key {lab.key} (ssh-ed25519)" in out
    bastion = f"jump host fcops@{jump}:2 failed (connection_refused): the hosts behind it"
    assert f"{bastion} · 2 hosts: inner1, inner2" in out
    assert "hint: fix the jump host first" in out
    assert out.index("Not checked: 6 hosts (3 causes)") < out.index("Reports:")
    run = RunResult.from_dict(scan.run)
    html = FORMATS["html"].render(run, RenderOptions(rendered_at="x"))
    assert html.count('<tr class="cause"') == 3 and "old-web4.example.net" in html
    markdown = FORMATS["markdown"].render(run)
    assert bastion in markdown.replace("<!-- -->", "")  # the comment keeps GitHub from linking
