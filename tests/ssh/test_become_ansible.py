"""--become where Ansible succeeds (or fails) on the same real host: a login whose .bashrc
prints before anything runs, sudo's `lecture=always`, sudo flags starting a login shell
(-i, -s); a refusal keeps its end in the message; no password is shown anywhere.

Each case was first run against ansible-core (`ansible -m raw -a 'id -u' --become`) on
such hosts: Ansible ignores a login's chatter and passes -i through, so fleetcheck must too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.lab.sshlab import SshLab
from tests.ssh.conftest import SSHD, Fleet, Scan, listeners

pytestmark = pytest.mark.lab

SUDO1 = SSHD | {("tcp", 4, "0.0.0.0", 8443, "rootsvc"), ("tcp", 4, "0.0.0.0", 8444, "usersvc")}


def _nowhere(scan: Scan, *secrets: str) -> None:
    for text in (scan.out, scan.err, scan.text, json.dumps(scan.run)):
        for secret in secrets:
            assert secret not in text


def test_a_chatty_login_and_sudos_lecture_do_not_hide_a_single_owner(fleet: Fleet,
                                                                      lab: SshLab) -> None:
    """fcbash's .bashrc prints on stdout before sudo runs, and sudo lectures before asking:
    every listener, with its owner, and the .bashrc's line kept as the command's output."""
    password = lab.user("fcbash").password
    assert password
    inv = fleet.inventory({"sudo1": fleet.vars("sudo1", user="fcbash", ansible_become=True,
                                               ansible_become_password=password)})
    scan = fleet.scan(inv, "-vv")
    host = scan.host("sudo1")
    assert host["error"] is None, host["error"]
    assert host["privileged"] is True and listeners(host) == SUDO1
    assert host["commands"][0]["stdout"].startswith("welcome to this host\n")
    _nowhere(scan, password)


def test_a_chatty_login_without_become_is_still_scanned(fleet: Fleet, lab: SshLab) -> None:
    inv = fleet.inventory({"sudo1": fleet.vars("sudo1", user="fcbash")})
    host = fleet.scan(inv).host("sudo1")
    assert host["error"] is None and host["privileged"] is False
    assert {li["port"] for li in host["listeners"]} == {22, 8443, 8444}


def test_a_lectured_wrong_password_still_says_incorrect(fleet: Fleet, lab: SshLab) -> None:
    """sudo's lecture comes first and is long: the message keeps its start and its end."""
    message = _refused(fleet, lab, "fcbash", "not-fcbash-pw-Wq3")
    # the login's own stderr line, then the lecture's start ... and sudo's last words
    assert message.startswith("probe did not run: rc on stderr / We trust you have")
    assert " \u2026 " in message
    assert message.endswith("sudo: 1 incorrect password attempt")


def _refused(fleet: Fleet, lab: SshLab, user: str, wrong: str) -> str:
    """Scan sudo1 as `user` becoming with a wrong password: its become_failed message, after
    checking that the host failed (exit 3, no listener) and no password shows anywhere."""
    real = lab.user(user).password
    assert real
    inv = fleet.inventory({"sudo1": fleet.vars("sudo1", user=user, ansible_become=True,
                                               ansible_become_password=wrong)})
    scan = fleet.scan(inv)
    error = scan.host("sudo1")["error"]
    assert error["kind"] == "become_failed", error
    assert scan.code == 3 and scan.host("sudo1")["listeners"] == []
    _nowhere(scan, real, wrong)
    return str(error["message"])


@pytest.mark.parametrize("flags", ["-i", "-H -i", "-Hi", "--login", "-s"])
def test_sudo_flags_starting_a_shell_still_run_the_probe(fleet: Fleet, lab: SshLab,
                                                         flags: str) -> None:
    """Ansible passes -i on and its command runs; fleetcheck's probe (full of `$` that such
    a shell would expand) runs too, as root, without it."""
    inv = fleet.inventory({"sudo1": fleet.vars("sudo1", ansible_become=True,
                                               ansible_become_flags=flags)})
    host = fleet.scan(inv).host("sudo1")
    assert host["error"] is None, host["error"]
    assert host["privileged"] is True and listeners(host) == SUDO1


@pytest.mark.parametrize("user", ["fctty", "fcttyn"])
def test_sudo_that_requires_a_tty_runs_the_probe_on_one(fleet: Fleet, lab: SshLab,
                                                        user: str) -> None:
    """`Defaults requiretty` refuses sudo without a terminal, with a password or without one;
    Ansible asks for a terminal and runs. fleetcheck runs the probe once more on a terminal:
    every listener with its owner, the refusal kept as the first command's evidence."""
    password = lab.user(user).password
    become: dict[str, Any] = {"ansible_become": True} | (
        {"ansible_become_password": password} if password else {})
    inv = fleet.inventory({"sudo1": fleet.vars("sudo1", user=user, **become)})
    scan = fleet.scan(inv, "-vv")
    host = scan.host("sudo1")
    assert host["error"] is None, host["error"]
    assert host["privileged"] is True and listeners(host) == SUDO1
    first, second = host["commands"]
    assert "you must have a tty to run sudo" in first["stderr"]
    assert second["stdout"].startswith("@@fleetcheck:")  # the probe's output, CR LF-free
    assert "\r" not in second["stdout"]
    if password:
        _nowhere(scan, password)


def test_sudo_that_requires_a_tty_with_a_wrong_password_says_so(fleet: Fleet,
                                                                lab: SshLab) -> None:
    """sudo asks again on a terminal: answered with ^D, it gives up at once (no timeout)."""
    assert "incorrect password" in _refused(fleet, lab, "fctty", "not-fctty-pw-Pq8")
