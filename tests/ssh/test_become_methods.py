"""--become-method su and doas through real sshd hosts: real su (PAM, the lab's own shadow
with a root password) and real OpenDoas (the lab's doas.conf); passwords answered on a
real terminal (SSH pty-req), never shown; refusals in the methods' own words; methods and
connections fleetcheck cannot serve refused without a session on the host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.lab.prereq import require_doas
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import SSHD, Fleet, Scan, listeners

pytestmark = pytest.mark.lab

SUDO1 = SSHD | {("tcp", 4, "0.0.0.0", 8443, "rootsvc"), ("tcp", 4, "0.0.0.0", 8444, "usersvc")}


def _becoming(fleet: Fleet, method: str, user: str = "fcops", **extra: Any) -> dict[str, Any]:
    return fleet.vars("sudo1", user=user, ansible_become=True, ansible_become_method=method,
                      **extra)


def _nowhere(scan: Scan, *secrets: str) -> None:
    """None of `secrets` in anything the run printed or wrote."""
    for text in (scan.out, scan.err, scan.text, json.dumps(scan.run)):
        for secret in secrets:
            assert secret not in text


def test_su_with_roots_password_on_a_terminal(fleet: Fleet, lab: SshLab) -> None:
    """su reads root's password from the terminal it is given; the probe's output comes
    back through it unaltered (no CR), and the password appears nowhere."""
    inv = fleet.inventory({"sudo1": _becoming(fleet, "su",
                                              ansible_become_password=lab.root_password)})
    _root_through_a_terminal(fleet, inv, "env LC_ALL=C su root -c 'sh -c ", lab.root_password)


def _root_through_a_terminal(fleet: Fleet, inventory: Path, start: str, secret: str) -> None:
    """sudo1 scanned as root, its probe's output unaltered by the terminal (no CR), the
    method's prompt no evidence, `secret` nowhere."""
    scan = fleet.scan(inventory, "-vv")
    host = scan.host("sudo1")
    assert host["error"] is None, host["error"]
    assert host["privileged"] is True and listeners(host) == SUDO1
    (record,) = host["commands"]
    assert record["command"].startswith(start)
    assert "\r" not in record["stdout"] + record["stderr"]
    assert "assword" not in record["stderr"]
    _nowhere(scan, secret)


def test_su_to_another_user_with_that_users_password(fleet: Fleet, lab: SshLab) -> None:
    password = lab.user("fcpw").password
    assert password
    inv = fleet.inventory({"sudo1": _becoming(fleet, "su", ansible_become_user="fcpw",
                                              ansible_become_password=password)})
    host = fleet.scan(inv).host("sudo1")
    assert host["error"] is None and host["privileged"] is False  # fcpw, not root
    assert {(li["proto"], li["port"]) for li in host["listeners"]} == \
        {(p, port) for p, _, _, port, _ in SUDO1}


@pytest.mark.parametrize(("password", "said"), [
    ("not-roots-pw", "su: Authentication failure"),
    (None, "su: Authentication failure"),  # no terminal, no password: fails, never hangs
])
def test_refused_su_is_become_failed_in_its_words(fleet: Fleet, lab: SshLab,
                                                  password: str | None, said: str) -> None:
    extra = {"ansible_become_password": password} if password else {}
    inv = fleet.inventory({"sudo1": _becoming(fleet, "su", **extra)})
    scan = fleet.scan(inv, "--command-timeout", "20")
    host = scan.host("sudo1")
    assert host["error"] == {"kind": "become_failed", "message": f"probe did not run: {said}"}
    assert host["listeners"] == [] and scan.code == 3


def test_doas_without_a_password(fleet: Fleet, lab: SshLab) -> None:
    """`permit nopass fcops as root`: doas -n, no terminal."""
    require_doas()
    scan = fleet.scan(fleet.inventory({"sudo1": _becoming(fleet, "doas")}))
    host = scan.host("sudo1")
    assert host["privileged"] is True and listeners(host) == SUDO1
    assert host["commands"][0]["command"].startswith("env LC_ALL=C doas -n -u root sh -c ")


def test_doas_with_a_password_on_a_terminal(fleet: Fleet, lab: SshLab) -> None:
    """`permit fcpw as root`: doas asks `doas (fcpw@host) password:` on the terminal."""
    require_doas()
    password = lab.user("fcpw").password
    assert password
    inv = fleet.inventory({"sudo1": _becoming(fleet, "doas", user="fcpw", key=None,
                                              ansible_password=password,
                                              ansible_become_password=password)})
    _root_through_a_terminal(fleet, inv, "env LC_ALL=C doas -u root sh -c 'stty -echo -opost",
                             password)


@pytest.mark.parametrize(("user", "password", "said"), [
    ("fcpw", "not-fcpws-pw", "doas: Authentication failed"),
    ("fcpw", None, "doas: Authentication required"),  # doas -n: never asks
    ("fcplain", None, "doas: Operation not permitted"),  # no rule for fcplain
])
def test_refused_doas_is_become_failed_in_its_words(fleet: Fleet, lab: SshLab, user: str,
                                                    password: str | None, said: str) -> None:
    require_doas()
    extra: dict[str, Any] = {"ansible_become_password": password} if password else {}
    if user == "fcpw":
        extra["ansible_password"] = lab.user("fcpw").password
    inv = fleet.inventory({"sudo1": _becoming(fleet, "doas", user=user,
                                              key=None if user == "fcpw" else lab.key,
                                              **extra)})
    host = fleet.scan(inv).host("sudo1")
    assert host["error"] == {"kind": "become_failed", "message": f"probe did not run: {said}"}


def test_become_user_method_exe_and_flags_from_the_command_line(fleet: Fleet,
                                                                lab: SshLab) -> None:
    """--become-method/--become-user for hosts whose inventory names none; the inventory's
    ansible_become_exe and ansible_become_flags reach the real sudo."""
    require_doas()
    inv = fleet.inventory({
        "sudo1": fleet.vars("sudo1"),
        "viasudo": fleet.vars("sudo1", ansible_become_method="sudo",
                              ansible_become_exe="/usr/bin/sudo", ansible_become_flags="-H"),
    })
    scan = fleet.scan(inv, "-b", "--become-method", "doas", "--become-user", "fcpw")
    doas, sudo = scan.host("sudo1"), scan.host("viasudo")
    assert doas["commands"][0]["command"].startswith("env LC_ALL=C doas -n -u fcpw sh -c ")
    assert doas["error"] is None, doas["error"]
    assert doas["privileged"] is False, {k: v for k, v in doas.items() if k != "commands"}
    assert sudo["commands"][0]["command"].startswith("/usr/bin/sudo -H -n -u fcpw -- sh -c ")
    assert sudo["error"] is None and sudo["privileged"] is False


def test_flags_with_shell_syntax_reach_sudo_as_words(fleet: Fleet, lab: SshLab) -> None:
    marker = lab.root / "flags-ran"
    inv = fleet.inventory({"sudo1": fleet.vars("sudo1", ansible_become=True,
                                               ansible_become_flags=f"'-H;touch {marker}'")})
    host = fleet.scan(inv).host("sudo1")
    assert host["error"]["kind"] == "become_failed"
    assert not marker.exists()


def test_a_host_that_never_prompts_is_never_sent_the_su_password(fleet: Fleet,
                                                                 lab: SshLab) -> None:
    """An echoing login shell on a terminal prints what it is sent, and asks nothing: the
    password is never written, the command times out saying so."""
    password = lab.user("fcecho").password
    assert password
    inv = fleet.inventory({"echoer": fleet.vars("meta", user="fcecho",
                                                ansible_become=True, ansible_become_method="su",
                                                ansible_become_password=password)})
    scan = fleet.scan(inv, "--command-timeout", "3")
    host = scan.host("echoer")
    assert host["error"]["kind"] == "command_timeout"
    assert "the password prompt never appeared, so the password was not sent" in \
        host["error"]["message"]
    _nowhere(scan, password)


def test_a_host_faking_sus_prompt_gets_it_and_shows_it_masked(fleet: Fleet,
                                                              lab: SshLab) -> None:
    """A login shell that prints `Password: ` on the terminal is answered as su would be;
    what it prints back (and the terminal's echo) is [REDACTED] everywhere."""
    password = lab.user("fcsuphish").password
    assert password
    inv = fleet.inventory({"phisher": fleet.vars("meta", user="fcsuphish",
                                                 ansible_become=True,
                                                 ansible_become_method="su",
                                                 ansible_become_password=password)})
    scan = fleet.scan(inv, "--format", "all", "-vv", "--command-timeout", "10")
    host = scan.host("phisher")
    assert host["error"]["kind"] == "become_failed", host["error"]
    assert "you typed: [REDACTED]" in host["error"]["message"]
    _nowhere(scan, password)


def test_unservable_method_and_connection_open_no_session(fleet: Fleet, lab: SshLab) -> None:
    """pbrun and winrm are errors naming them, decided before any connection: the host's
    sshd serves no session for them."""
    before = len(lab.sessions("sudo1"))
    inv = fleet.inventory({
        "pb": fleet.vars("sudo1", ansible_become=True, ansible_become_method="pbrun"),
        "win": fleet.vars("sudo1", ansible_connection="winrm"),
        "kube": fleet.vars("sudo1", ansible_connection="kubernetes.core.kubectl"),
    })
    scan = fleet.scan(inv)
    assert scan.host("pb")["error"]["kind"] == "unsupported"
    assert "'pbrun'" in scan.host("pb")["error"]["message"]
    assert scan.host("win")["error"]["kind"] == "unsupported_connection"
    assert scan.host("kube")["error"]["message"].startswith(
        "ansible_connection=kubernetes.core.kubectl is not supported")
    assert len(lab.sessions("sudo1")) == before
    assert scan.code == 3


def test_list_hosts_contacts_no_host(fleet: Fleet, lab: SshLab) -> None:
    before = {n: len(lab.sessions(n)) for n in ("sudo1", "meta")}
    inv = fleet.inventory({"sudo1": fleet.vars("sudo1"), "meta": fleet.vars("meta"),
                           "win": fleet.vars("meta", ansible_connection="psrp")})
    from tests.conftest import run_cli
    from tests.lab.netns import in_netns

    with in_netns(lab.controller.name):
        res = run_cli(["scan", "-i", str(inv), "--list-hosts", "--known-hosts",
                       str(lab.known_hosts)], cwd=fleet.tmp, environ={"HOME": str(fleet.home)})
    assert (res.code, res.out) == (0, "sudo1\nmeta\n")
    assert "win would not be contacted: ansible_connection=psrp" in res.err
    assert {n: len(lab.sessions(n)) for n in before} == before


def test_become_refusals_are_told_apart_under_their_cause(fleet: Fleet, lab: SshLab) -> None:
    """One become_failed cause, but the hint (give a password, or allow without one) fits
    only some refusals: each is named with its hosts, in the methods' own words as real
    sudo, su and doas print them."""
    require_doas()
    pw = lab.user("fcpw").password
    assert pw is not None
    wrong = "not-it-9"  # a wrong password on purpose
    inv = fleet.inventory({
        "nopw": _becoming(fleet, "sudo", user="fcpw"),
        "wrong": _becoming(fleet, "sudo", user="fcpw", ansible_become_password=wrong),
        "doaswrong": _becoming(fleet, "doas", user="fcpw", ansible_become_password=wrong),
        "subad": _becoming(fleet, "su", ansible_become_password=pw),  # the login's, not root's
        "barred": _becoming(fleet, "sudo", user="fcplain"),  # sudoers: /usr/bin/true only
    })
    scan = fleet.scan(inv)
    assert {h["error"]["kind"] for h in scan.run["hosts"]} == {"become_failed"}, scan.err
    out = " ".join(scan.out.split())
    for line in ("a password is required and none was given (nopw)",
                 "the become password given was wrong (doaswrong, wrong)",
                 "su needs the become user's own password, not the login's: none or a wrong "
                 "one was given (subad)",
                 "the user may not run the probe as the become user at all (sudoers, "
                 "doas.conf): a password will not help (barred)"):
        assert line in out, out
    _nowhere(scan, pw, wrong)
