"""Servers whose sshd or account configuration changes what the probe's exec runs or allows.

One lab of real sshd hosts: ForceCommand (a fixed command printing something plausible,
/bin/false, internal-sftp, a wrapper running $SSH_ORIGINAL_COMMAND), authorized_keys
options (command=, restrict, from=, expiry-time, environment=), login environments
(~/.ssh/rc, /etc/ssh/sshrc, .bashrc, Banner, PrintMotd, SetEnv with odd locales),
login shells (git-shell, nologin, /bin/false, rbash), a ChrootDirectory holding only
BusyBox, jump hosts that refuse forwarding, MaxSessions 0, MaxStartups and
LoginGraceTime. Where the probe could run the report holds the true listeners; where it
could not, a per-host error names the cause in the host's own words: never compliant.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.netns import Sock, in_netns
from tests.lab.prereq import require_sshd_lab
from tests.lab.sshlab import HostSpec, LabUser, SshLab
from tests.ssh.conftest import SSHD, Fleet, listeners

pytestmark = pytest.mark.lab

PLAUSIBLE = ("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\\n"
             "tcp   LISTEN 0      128    0.0.0.0:22 0.0.0.0:*\\n")
JAIL = "/run/fc-jail"  # in the host's own /run: root's all the way, as sshd demands
# The jail: BusyBox (with the libraries it needs, none when it is static) and its applets.
JAIL_SETUP = (
    f"mkdir -p {JAIL}/bin", f"cp \"$(command -v busybox)\" {JAIL}/bin/busybox",
    f"for l in $(ldd {JAIL}/bin/busybox 2>/dev/null | grep -o '/[^ ]*'); do "
    f"mkdir -p {JAIL}$(dirname $l) && cp $l {JAIL}$l; done",
    f"for a in $(busybox --list); do [ $a = busybox ] || ln -s busybox {JAIL}/bin/$a; done",
)
# The same jail with a /dev/null, as a jail made for shell sessions has.
DEV_JAIL = "/run/fc-devjail"
DEV_JAIL_SETUP = (*(line.replace(JAIL, DEV_JAIL) for line in JAIL_SETUP),
                  f"mkdir {DEV_JAIL}/dev", f"mknod -m 666 {DEV_JAIL}/dev/null c 1 3")
SSHRC = ("mount -t tmpfs -o mode=755 tmpfs /etc/ssh",  # nothing else of /etc/ssh is read
         "printf 'echo sshrc says hello\\n' > /etc/ssh/sshrc")


class ConfLab(SshLab):
    """The lab, with accounts whose authorized_keys options or login shells differ."""

    USERS = (*SshLab.USERS,
             LabUser("fckcmd", None), LabUser("fcrestrict", None), LabUser("fcfrom", None),
             LabUser("fcexpired", None), LabUser("fcenv", None), LabUser("fcnopath", None),
             LabUser("fcrc", None, shell="/bin/bash",  # noqa: S604 - lab only
                     bashrc="echo bashrc noise\n"),
             LabUser("fcgit", None, shell="/usr/bin/git-shell"),  # noqa: S604 - lab only
             LabUser("fcnologin", None, shell="/usr/sbin/nologin"),  # noqa: S604 - lab only
             LabUser("fcrbash", None, shell="/usr/bin/rbash"))  # noqa: S604 - lab only


KEY_OPTIONS = {
    "fckcmd": 'command="echo hello"',
    "fcrestrict": "restrict",
    "fcfrom": 'from="10.99.9.9"',
    "fcexpired": 'expiry-time="20200101"',
    # A PATH without /usr/sbin and /sbin (where ss and netstat live on older systems)
    # and locales that do not exist.
    "fcenv": 'environment="PATH=/usr/bin:/bin",environment="LC_ALL=xx_XX.bogus",'
             'environment="LANG=tr_TR.UTF-8"',
    "fcnopath": 'environment="PATH=/nonexistent"',
    # Accounts whose become method needs a terminal (sudo's requiretty, su) get none.
    "fctty": "no-pty",
    "fcpw": "restrict",
}
SPECS = [
    HostSpec("plain", sshd_config=("PermitUserEnvironment yes",)),
    HostSpec("fixed", sshd_config=(f"ForceCommand printf '{PLAUSIBLE}'",)),
    HostSpec("false", sshd_config=("ForceCommand /bin/false",)),
    HostSpec("sftp", sshd_config=("ForceCommand internal-sftp",)),
    HostSpec("wrap", sshd_config=('ForceCommand /bin/sh -c "$SSH_ORIGINAL_COMMAND"',)),
    # An auditing wrapper that has its say after the command.
    HostSpec("wraptail", sshd_config=('ForceCommand /bin/sh -c "$SSH_ORIGINAL_COMMAND"; '
                                      'echo "session logged by wrapper"',)),
    HostSpec("chatty", sshd_config=("Banner /etc/issue.net", "PrintMotd yes",
                                    "SetEnv LANG=xx_YY.ZZ LC_ALL=tr_TR.UTF-8"), setup=SSHRC),
    HostSpec("jail", sshd_config=(f"ChrootDirectory {JAIL}",), setup=JAIL_SETUP),
    HostSpec("devjail", sshd_config=(f"ChrootDirectory {DEV_JAIL}",), setup=DEV_JAIL_SETUP),
    HostSpec("nosession", sshd_config=("MaxSessions 0",)),
    HostSpec("nofwd", sshd_config=("AllowTcpForwarding no",)),
    HostSpec("disfwd", sshd_config=("DisableForwarding yes",)),
    HostSpec("throttled", sshd_config=("MaxStartups 1:100:1",)),
    HostSpec("grace", sshd_config=("MaxStartups 1:100:1", "LoginGraceTime 1")),
]
PLANTED = Sock("tcp", "0.0.0.0", 7411, process="confd")
ALL_SEEN = {*SSHD, ("tcp", 4, "0.0.0.0", 7411, "confd")}
# What the message says when something else than the probe ran.
INSTEAD = "a forced command (sshd's ForceCommand, an authorized_keys command=) or the " \
          "account's login shell ran instead"


@pytest.fixture(scope="module")
def conflab() -> Iterator[SshLab]:
    """The lab, its keys' options written and a listener planted on every plain host."""
    require_sshd_lab()
    with ConfLab(SPECS) as lab:
        keys = lab.root / "authorized_keys"
        pubs = (keys / "fcops").read_text().splitlines()
        for user, options in KEY_OPTIONS.items():
            (keys / user).write_text("".join(f"{options} {pub}\n" for pub in pubs))
        rc = lab.root / "home" / "fcrc" / ".ssh"
        rc.mkdir()
        (rc / "rc").write_text("echo rc says hello\necho rc on stderr >&2\n")
        os.chown(rc, lab.uid("fcrc"), -1)
        for host in ("plain", "wrap", "wraptail", "chatty", "jail"):
            lab.hold(host, [PLANTED])
        yield lab


@pytest.fixture
def fleet(conflab: SshLab, tmp_path: Path) -> Fleet:
    """A Fleet on this module's lab; ssh_config gives jump hosts the lab's key."""
    the_fleet = Fleet(conflab, tmp_path)
    (the_fleet.home / ".ssh" / "config").write_text(f"Host *\n  IdentityFile {conflab.key}\n")
    return the_fleet


def _error(host: dict[str, Any]) -> tuple[str, str]:
    err = host["error"]
    assert err is not None and host["status"] == "error", host
    return err["kind"], err["message"]


def test_forced_commands_and_login_shells(fleet: Fleet) -> None:
    """Whatever ran instead of the probe is an error in its own words (what it printed, or
    that it printed nothing), never compliant; the host printing something plausible too."""
    inv = fleet.inventory({
        "fixed": fleet.vars("fixed"), "false": fleet.vars("false"), "sftp": fleet.vars("sftp"),
        # Under --become too: the forced command ran, not sudo (that read as become_failed).
        "fixed-become": fleet.vars("fixed", ansible_become=True),
        "false-become": fleet.vars("false", ansible_become=True),
        **{f"as-{user}": fleet.vars("plain", user=user)
           for user in ("fckcmd", "fcnologin", "fcnoshell", "fcgit", "fcnopath")},
    })
    scan = fleet.scan(inv, "--command-timeout", "10")
    said = {h["name"]: _error(h) for h in scan.run["hosts"]}
    assert {kind for kind, _ in said.values()} == {"command_failed"}, said
    messages = {name: message for name, (_, message) in said.items()}
    printed = "probe did not run: the host printed instead"
    assert messages["fixed"] == (f"{printed} (exit code 0): Netid State  Recv-Q Send-Q Local "
                                 "Address:Port Peer Address:Port Process / tcp   LISTEN 0"
                                 f"      128    0.0.0.0:22 0.0.0.0:* ({INSTEAD})")
    assert messages["fixed-become"] == messages["fixed"]
    assert messages["false-become"] == messages["false"]
    assert messages["as-fckcmd"] == f"{printed} (exit code 0): hello ({INSTEAD})"
    assert messages["sftp"] == (f"{printed} (exit code 1): This service allows sftp "
                                f"connections only. ({INSTEAD})")
    assert messages["as-fcnologin"] == (f"{printed} (exit code 1): This account is currently "
                                        f"not available. ({INSTEAD})")
    for name in ("false", "as-fcnoshell"):
        assert messages[name] == f"probe did not run: exit code 1, no output ({INSTEAD}?)"
    assert messages["as-fcgit"].startswith("probe did not run: fatal: unrecognized command")
    assert messages["as-fcnopath"] == "probe did not run: sh: 1: sh: not found"
    assert scan.code == 3


def test_sessions_that_still_run_the_probe(fleet: Fleet) -> None:
    """A wrapper running $SSH_ORIGINAL_COMMAND (one printing after it: that read as a
    parse_error), restrict (no pty), rc files and .bashrc
    printing, a banner, a motd, odd locales and a PATH without /usr/sbin: the true
    listeners (the planted one a violation), under sudo as without."""
    inv = fleet.inventory({
        "wrap": fleet.vars("wrap", ansible_become=True),
        "wraptail": fleet.vars("wraptail", ansible_become=True),
        "chatty": fleet.vars("chatty", ansible_become=True),
        **{f"as-{user}": fleet.vars("plain", user=user)
           for user in ("fcrestrict", "fcrc", "fcrbash", "fcenv")},
        "as-fcops": fleet.vars("plain", ansible_become=True),
    })
    scan = fleet.scan(inv)
    for host in scan.run["hosts"]:
        assert host["error"] is None, host
    for name in ("wrap", "wraptail", "chatty", "as-fcops"):
        assert listeners(scan.host(name)) == ALL_SEEN, name
    seen = {(proto, family, address, port) for proto, family, address, port, _ in ALL_SEEN}
    for name in ("as-fcrestrict", "as-fcrc", "as-fcrbash", "as-fcenv"):  # no root: no owners
        assert {li[:4] for li in listeners(scan.host(name))} == seen, name
    for host in scan.run["hosts"]:  # the planted listener is judged on every host
        assert host["status"] == "noncompliant", host["name"]
        assert {f["port"] for f in host["findings"]} == {PLANTED.port}, host["name"]
    assert scan.code == 1
    (record,) = scan.host("as-fcrc")["commands"]  # what rc printed: evidence, not parsed
    assert "rc says hello\n" in record["stdout"].partition("@@fleetcheck:")[0]
    (record,) = scan.host("wraptail")["commands"]  # what the wrapper printed after it too
    assert record["stdout"].endswith("\nsession logged by wrapper\n")
    (record,) = scan.host("chatty")["commands"]
    assert record["stdout"].startswith("sshrc says hello\n")


def test_a_chroot_with_only_busybox(fleet: Fleet) -> None:
    """A jail without /proc (and one without /dev/null either): the sessions' network is
    the host's, but nothing in the jail can list it; each host is an error saying what was
    tried or what failed, never a host without listeners, nor an unsupported OS."""
    scan = fleet.scan(fleet.inventory({"jail": fleet.vars("jail"),
                                       "devjail": fleet.vars("devjail")}))
    assert _error(scan.host("devjail")) == (
        "no_tool", "no usable socket-listing tool; tried: busybox-netstat (exit 1); /proc is "
        "not mounted, and every Linux tool reads it (a chroot without /proc?)")
    kind, message = _error(scan.host("jail"))
    assert kind == "command_failed", message
    assert message.startswith("the probe could not tell the operating system (uname gave "
                              "nothing): sh: eval: line 0: can't create /dev/null"), message
    assert scan.code == 3


def test_refusals_name_the_setting(fleet: Fleet, conflab: SshLab) -> None:
    """MaxSessions 0 is a refused session channel naming it; jump hosts that forbid
    forwarding fail every host behind them with the jump host's refusal."""
    jumps = {"nofwd": conflab.hosts["nofwd"].address, "disfwd": conflab.hosts["disfwd"].address}
    inv = fleet.inventory({
        "nosession": fleet.vars("nosession"),
        **{f"{jump}-{n}": fleet.vars(target, ansible_ssh_common_args=f"-o ProxyJump=fcops@{at}")
           for jump, at in jumps.items() for n, target in enumerate(("plain", "wrap"))},
    })
    scan = fleet.scan(inv)
    kind, message = _error(scan.host("nosession"))
    assert (kind, message) == ("command_failed", f"fcops@{conflab.hosts['nosession'].address}"
                               ":22 refused a session channel: Connect failed (sshd's "
                               "MaxSessions allows none?)")
    for jump, at in jumps.items():
        for n, target in enumerate(("plain", "wrap")):
            kind, message = _error(scan.host(f"{jump}-{n}"))
            assert (kind, message) == ("ssh_error", f"jump host fcops@{at}:22 could not reach "
                                       f"{conflab.hosts[target].address}:22: Administratively "
                                       "prohibited (its sshd forbids this forwarding: "
                                       "AllowTcpForwarding, DisableForwarding or PermitOpen)")
    assert scan.code == 3


def test_no_terminal_for_a_become_method_that_needs_one(fleet: Fleet, conflab: SshLab) -> None:
    """no-pty or restrict: sudo with requiretty and su get no terminal, and the error says
    so (it read 'did not run the command: Channel closed.'); keys not accepted from here
    (from=) or expired are authentication failures."""
    inv = fleet.inventory({
        "requiretty": fleet.vars("plain", user="fctty", ansible_become=True,
                                 ansible_become_password=conflab.user("fctty").password),
        "su": fleet.vars("plain", user="fcpw", ansible_become=True, ansible_become_method="su",
                         ansible_become_password=conflab.root_password),
        "from": fleet.vars("plain", user="fcfrom"),
        "expired": fleet.vars("plain", user="fcexpired"),
    })
    scan = fleet.scan(inv)
    address = conflab.hosts["plain"].address
    for name, user in (("requiretty", "fctty"), ("su", "fcpw")):
        assert _error(scan.host(name)) == (
            "command_failed", f"{user}@{address}:22 refused a terminal (pty), which the become "
            "method needs (su, doas with a password, sudo's requiretty): the key's "
            "authorized_keys options (no-pty, restrict) or sshd's PermitTTY no")
    for name in ("from", "expired"):
        assert _error(scan.host(name))[0] == "auth_failed"
    assert scan.code == 3


def _held(lab: SshLab, name: str) -> socket.socket:
    """A TCP connection to `name`'s sshd that never says a word: sshd counts it as a
    connection not yet authenticated (MaxStartups) until LoginGraceTime ends it."""
    with in_netns(lab.controller.name):
        return socket.create_connection((lab.hosts[name].address, 22), timeout=5)


def test_max_startups_drops_are_retried_and_named(fleet: Fleet, conflab: SshLab) -> None:
    """Past MaxStartups sshd says 'Exceeded MaxStartups' and closes before its banner: a
    transient failure, retried (-vv tells each retry); when every attempt is dropped the
    error names MaxStartups and the attempts. LoginGraceTime 1 ends the connection that
    held the slot, and a later attempt gets in."""
    held = [_held(conflab, "throttled"), _held(conflab, "grace")]
    try:
        inv = fleet.inventory({"throttled": fleet.vars("throttled"),
                               "grace": fleet.vars("grace")})
        # Backoff: at least 0.125 + 0.25 + 0.5 + 1 s before the fifth attempt, past the grace.
        scan = fleet.scan(inv, "--retries", "5", "-vv")
    finally:
        for sock in held:
            sock.close()
    kind, message = _error(scan.host("throttled"))
    address = conflab.hosts["throttled"].address
    assert kind == "ssh_error", message
    assert message.startswith(f"fcops@{address}:22 closed the connection before its SSH "
                              "banner (as sshd does past its MaxStartups)"), message
    assert message.endswith("(after 6 attempts)"), message
    assert f"fcops@{address}:22 closed the connection" in scan.err and "retrying in" in scan.err
    grace = scan.host("grace")
    assert grace["error"] is None and listeners(grace) >= {(*li[:4], None) for li in SSHD}
    assert scan.code == 3
