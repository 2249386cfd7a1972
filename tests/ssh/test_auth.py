"""Authentication against real sshd: key files (plain, encrypted, PEM), the agent, passwords."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.sshlab import SshLab
from tests.ssh.conftest import Fleet

pytestmark = pytest.mark.lab


@pytest.fixture
def agent(lab: SshLab) -> Iterator[str]:
    """A real ssh-agent holding the lab's encrypted key; yields its socket path."""
    out = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True).stdout
    sock = re.search(r"SSH_AUTH_SOCK=([^;]+);", out)
    pid = re.search(r"SSH_AGENT_PID=(\d+);", out)
    assert sock and pid
    try:
        env = {**os.environ, "SSH_AUTH_SOCK": sock.group(1), "SSH_ASKPASS_REQUIRE": "never"}
        # ssh-add reads the passphrase from the terminal; give it through SSH_ASKPASS instead.
        askpass = lab.root / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\necho '{lab.passphrase}'\n")
        askpass.chmod(0o700)
        env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
        subprocess.run(["ssh-add", str(lab.encrypted_key)], env=env, capture_output=True,
                       check=True, stdin=subprocess.DEVNULL)
        yield sock.group(1)
    finally:
        os.kill(int(pid.group(1)), 15)


def test_encrypted_key_with_passphrase_from_environment(fleet: Fleet, lab: SshLab) -> None:
    """FLEETCHECK_KEY_PASSPHRASE decrypts an encrypted key file (once, for every host)."""
    inv = fleet.inventory({n: fleet.vars(n, key=lab.encrypted_key) for n in ("web3", "web4")})
    scan = fleet.scan(inv, environ={"FLEETCHECK_KEY_PASSPHRASE": lab.passphrase})
    assert {h["status"] for h in scan.run["hosts"]} == {"compliant"}


def test_encrypted_key_with_asked_passphrase(fleet: Fleet, lab: SshLab) -> None:
    """--ask-key-passphrase reads it (here from stdin); it appears in no report or log."""
    inv = fleet.inventory({"web3": fleet.vars("web3", key=lab.encrypted_key)})
    scan = fleet.scan(inv, "--ask-key-passphrase", "-vv", stdin=lab.passphrase + "\n")
    assert scan.host("web3")["status"] == "compliant"
    for text in (scan.out, scan.err, scan.text, str(scan.run)):
        assert lab.passphrase not in text


def test_encrypted_key_without_passphrase_says_why(fleet: Fleet, lab: SshLab) -> None:
    """No passphrase: auth_failed, naming the encrypted key and how to give its passphrase."""
    inv = fleet.inventory({"web3": fleet.vars("web3", key=lab.encrypted_key)})
    scan = fleet.scan(inv)
    error = scan.host("web3")["error"]
    assert error["kind"] == "auth_failed"
    assert f"key {lab.encrypted_key} is encrypted and no passphrase was given" in error["message"]
    wrong = fleet.scan(inv, environ={"FLEETCHECK_KEY_PASSPHRASE": "not-it"})
    assert wrong.kind("web3") == "auth_failed"
    assert f"cannot decrypt key {lab.encrypted_key} with the passphrase given" in \
        wrong.host("web3")["error"]["message"]


def test_agent_key(fleet: Fleet, lab: SshLab, agent: str) -> None:
    """The agent signs for keys it holds: no key file, or an encrypted one, needs no passphrase."""
    bare = {"ansible_host": lab.hosts["web3"].address, "ansible_user": "fcops"}
    inv = fleet.inventory({"web3": bare,
                           "web4": fleet.vars("web4", key=lab.encrypted_key)})
    scan = fleet.scan(inv, environ={"SSH_AUTH_SOCK": agent})
    assert {h["status"] for h in scan.run["hosts"]} == {"compliant"}
    without = fleet.scan(inv)
    assert without.kind("web3") == "auth_failed"


def test_rsa_pem_key(fleet: Fleet, lab: SshLab) -> None:
    """An RSA key in the old PEM format (rsa-sha2 signatures)."""
    scan = fleet.scan(fleet.inventory({"web3": fleet.vars("web3", key=lab.rsa_pem_key)}))
    assert scan.host("web3")["status"] == "compliant"


def test_password_from_inventory(fleet: Fleet, lab: SshLab) -> None:
    """ansible_password logs in where no key works; a wrong one is auth_failed; never shown."""
    password = lab.user("fcpw").password
    assert password
    host = {"ansible_host": lab.hosts["web3"].address, "ansible_user": "fcpw"}
    inv = fleet.inventory({"good": {**host, "ansible_password": password},
                           "bad": {**host, "ansible_password": "wrong-password"}})
    scan = fleet.scan(inv, "-vv")
    assert scan.host("good")["status"] == "compliant"
    assert scan.kind("bad") == "auth_failed"
    assert "password" in scan.host("bad")["error"]["message"]
    for text in (scan.out, scan.err, scan.text, str(scan.run), inv.read_text().replace(
            password, "")):
        assert password not in text


def test_ask_pass(fleet: Fleet, lab: SshLab) -> None:
    """-k asks for the SSH password once for hosts the inventory gives none."""
    password = lab.user("fcpw").password
    inv = fleet.inventory({"web3": {"ansible_host": lab.hosts["web3"].address,
                                    "ansible_user": "fcpw"}})
    scan = fleet.scan(inv, "-k", stdin=f"{password}\n")
    assert scan.host("web3")["status"] == "compliant"
    assert scan.code == 0


def test_unknown_user_is_auth_failed(fleet: Fleet, lab: SshLab) -> None:
    """A user the host does not have: auth_failed, listing what was tried."""
    scan = fleet.scan(fleet.inventory({"web3": fleet.vars("web3", user="nosuchuser")}))
    error = scan.host("web3")["error"]
    assert error["kind"] == "auth_failed" and "nosuchuser@" in error["message"]
    assert str(lab.key) in error["message"]


def test_identity_from_ssh_config(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """IdentityFile and User from ~/.ssh/config when the inventory names neither."""
    (fleet.home / ".ssh" / "config").write_text(
        f"Host 10.77.0.*\n  User fcops\n  IdentityFile {lab.key}\n")
    inv = fleet.inventory({"web3": {"ansible_host": lab.hosts["web3"].address}})
    scan = fleet.scan(inv)
    assert scan.host("web3")["status"] == "compliant"
