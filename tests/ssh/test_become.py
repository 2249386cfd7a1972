"""--become through real sudo: NOPASSWD, a password fed on stdin, refusals; unprivileged marks."""

from __future__ import annotations

import pytest

from tests.lab.sshlab import SshLab
from tests.ssh.conftest import SSHD, Fleet, listeners

pytestmark = pytest.mark.lab

SUDO1 = SSHD | {("tcp", 4, "0.0.0.0", 8443, "rootsvc"), ("tcp", 4, "0.0.0.0", 8444, "usersvc")}


def test_nopasswd_sudo_sees_every_owner(fleet: Fleet, lab: SshLab) -> None:
    """sudo -n as root: privileged, and processes of root and of other users are named."""
    scan = fleet.scan(fleet.inventory({"sudo1": fleet.vars("sudo1")}), "--become")
    host = scan.host("sudo1")
    assert host["privileged"] is True
    assert listeners(host) == SUDO1
    assert host["notes"] == []
    (record,) = host["commands"]
    assert record["command"].startswith("sudo -n -u root -- sh -c ")


def test_without_privilege_owners_are_marked_not_dropped(fleet: Fleet, lab: SshLab) -> None:
    """As a plain user: every listener is still there, owners unknown, and the report says so."""
    scan = fleet.scan(fleet.inventory({"sudo1": fleet.vars("sudo1")}))
    host = scan.host("sudo1")
    assert host["privileged"] is False
    assert {(li["proto"], li["port"]) for li in host["listeners"]} == \
        {(p, port) for p, _, _, port, _ in SUDO1}
    assert all(li["process"] is None for li in host["listeners"])
    assert any("--become" in note for note in host["notes"])
    assert "--become" in scan.text


def test_sudo_password_from_inventory_never_shown(fleet: Fleet, lab: SshLab) -> None:
    """ansible_become_password goes to sudo -S on stdin: not on a command line, not in reports."""
    password = lab.user("fcpw").password
    assert password
    inv = fleet.inventory({"sudo1": fleet.vars("sudo1", user="fcpw", ansible_password=password,
                                               ansible_become=True,
                                               ansible_become_password=password)})
    scan = fleet.scan(inv, "-vv")
    host = scan.host("sudo1")
    assert host["privileged"] is True and listeners(host) == SUDO1
    command = host["commands"][0]["command"]
    assert command.startswith("sudo -S -p '[fleetcheck ")
    assert "%%] password: ' -u root -- sh -c 'exec </dev/null; " in command
    assert "[fleetcheck" not in host["commands"][0]["stderr"]  # the prompt is not evidence
    for text in (scan.out, scan.err, scan.text, str(scan.run)):
        assert password not in text


def test_ask_become_pass(fleet: Fleet, lab: SshLab) -> None:
    """-K asks once (here on stdin) for hosts whose inventory gives no become password."""
    password = lab.user("fcpw").password
    inv = fleet.inventory({"sudo1": fleet.vars("sudo1", user="fcpw",
                                               ansible_password=password)})
    scan = fleet.scan(inv, "--become", "-K", stdin=f"{password}\n")
    assert scan.host("sudo1")["privileged"] is True


@pytest.mark.parametrize(("user", "password", "said"), [
    ("fcplain", None, "not allowed to execute"),  # sudoers lets it run /usr/bin/true only
    ("fcpw", None, "password is required"),  # sudo -n, and sudo wants a password
    ("fcpw", "wrong-password", "incorrect password"),
])
def test_refused_sudo_is_become_failed_with_sudos_words(fleet: Fleet, lab: SshLab, user: str,
                                                        password: str | None, said: str) -> None:
    """A refusal is become_failed, carrying sudo's own message; nothing is judged."""
    extra = {"ansible_password": lab.user("fcpw").password} if user == "fcpw" else {}
    if password:
        extra["ansible_become_password"] = password
    key = None if user == "fcpw" else lab.key
    inv = fleet.inventory({"sudo1": fleet.vars("sudo1", user=user, key=key, **extra)})
    scan = fleet.scan(inv, "--become")
    host = scan.host("sudo1")
    assert host["error"]["kind"] == "become_failed", host["error"]
    assert said in host["error"]["message"]
    assert host["listeners"] == [] and host["status"] == "error"
    assert scan.code == 3


def test_become_user_is_quoted(fleet: Fleet, lab: SshLab) -> None:
    """ansible_become_user reaches sudo as one word, even with shell syntax in it."""
    marker = lab.root / "become-user-ran"
    inv = fleet.inventory({"sudo1": fleet.vars(
        "sudo1", ansible_become=True, ansible_become_user=f"root;touch {marker}")})
    scan = fleet.scan(inv)
    assert scan.host("sudo1")["error"]["kind"] == "become_failed"
    assert "unknown user" in scan.host("sudo1")["error"]["message"]
    assert not marker.exists()
