"""Secrets stay secret against hosts that echo: the become password goes only to a prompt,
and whatever a host prints back is masked in every report format, log and message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.inventory.oracle import Oracle, require_ansible
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import SSHD, Fleet, Scan, listeners

pytestmark = pytest.mark.lab

VAULT_PASSWORD = "lab vault password"  # noqa: S105 - encrypts a lab value at test time


def _everything(fleet: Fleet, scan: Scan) -> dict[str, str]:
    """Every report file of the scan's run (all formats), and what it printed."""
    out = fleet.tmp / f"out{fleet.runs}"
    files = {"." + p.name.split(".", 1)[1]: p.read_text() for p in out.glob("fleetcheck-2*")}
    assert set(files) == {".txt", ".html", ".json", ".xml", ".csv", ".groups.csv", ".md",
                          ".register.csv", ".oscal.json"}, files.keys()
    return {**files, "stdout": scan.out, "stderr": scan.err}


def test_echoing_login_is_never_sent_the_become_password(fleet: Fleet, lab: SshLab) -> None:
    """An appliance-like login that echoes what it reads: sudo's prompt never comes, so the
    password is never written; the host times out saying so, and no report holds it."""
    password = lab.user("fcecho").password
    assert password
    inv = fleet.inventory({
        "echoer": fleet.vars("meta", user="fcecho", ansible_become=True,
                             ansible_become_password=password),
        "healthy": fleet.vars("sudo1", ansible_become=True),
    })
    scan = fleet.scan(inv, "--format", "all", "--command-timeout", "3", "-vv")
    error = scan.host("echoer")["error"]
    assert error["kind"] == "command_timeout", error
    assert "password prompt never appeared, so the password was not sent" in error["message"]
    assert scan.host("healthy")["status"] == "noncompliant"  # the other host stays complete
    assert listeners(scan.host("healthy")) > SSHD
    for name, text in _everything(fleet, scan).items():
        assert password not in text, name
    assert scan.code == 1  # the healthy host's violations decide it


def _vaulted(fleet: Fleet, name: str, variable: str, value: str) -> Path:
    """host_vars/NAME.yml beside the inventory with VARIABLE encrypted by real ansible-vault;
    returns the vault password file."""
    require_ansible()
    password_file = fleet.tmp / "vault-pass"
    password_file.write_text(VAULT_PASSWORD + "\n")
    (made,) = Oracle(fleet.tmp / "oracle").many([("ansible-vault", [
        "encrypt_string", "--vault-password-file", str(password_file), value,
        "--name", variable])])
    assert made.code == 0, made.err
    (fleet.tmp / "host_vars").mkdir(exist_ok=True)
    (fleet.tmp / "host_vars" / f"{name}.yml").write_text(made.out)
    return password_file


def test_host_that_fakes_the_prompt_and_echoes_is_redacted_everywhere(fleet: Fleet,
                                                                      lab: SshLab) -> None:
    """A host that prints sudo's prompt itself gets the (vault-decrypted) password, as sudo
    would, and prints it back on stdout and stderr: every format, the -v log and the
    error message show [REDACTED] where the password was. What it printed came before any
    line of the probe (a login's own output), so the probe did not run: become_failed."""
    password = lab.user("fcphish").password
    assert password
    vault_file = _vaulted(fleet, "phisher", "ansible_become_password", password)
    inv = fleet.inventory({"phisher": fleet.vars("meta", user="fcphish", ansible_become=True)})
    scan = fleet.scan(inv, "--format", "all", "--vault-password-file", str(vault_file), "-vv")
    host = scan.host("phisher")
    assert host["error"]["kind"] == "become_failed", host["error"]
    assert "you typed: [REDACTED]" in host["error"]["message"]
    (record,) = host["commands"]
    assert record["stdout"] == "you typed: [REDACTED]\n"
    assert record["stderr"] == "you typed: [REDACTED]\n"  # fleetcheck's prompt is not evidence
    everything = _everything(fleet, scan)
    assert "you typed: [REDACTED]" in everything["stderr"]  # the -v line, masked
    for name, text in everything.items():
        assert password not in text, name
    assert scan.code == 3
