"""Authentication against real sshd: key files (plain, encrypted, PEM), the agent, passwords."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from paramiko.common import MSG_SERVICE_REQUEST, MSG_USERAUTH_REQUEST
from paramiko.message import Message
from paramiko.packet import Packetizer

from fleetcheck.transport.ssh.auth import AuthTransport
from tests.conftest import run_cli
from tests.lab.netns import in_netns
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


def _connections(lab: SshLab, host: str) -> int:
    """TCP connections the host's sshd accepted so far (from its own log)."""
    return (lab.hosts[host].dir / "sshd.log").read_text().count("Connection from ")


def test_missing_private_key_on_the_command_line_is_bad_input(fleet: Fleet, lab: SshLab) -> None:
    """--private-key naming no file: exit 2, naming it, before any host is contacted."""
    inv = fleet.inventory({"web3": {"ansible_host": lab.hosts["web3"].address,
                                    "ansible_user": "fcops"}})
    missing = fleet.tmp / "keys" / "id_typo"
    before = _connections(lab, "web3")
    with in_netns(lab.controller.name):
        res = run_cli(["scan", "-i", str(inv), "--private-key", str(missing), "-o",
                       str(fleet.tmp / "out"), "--known-hosts", str(lab.known_hosts)],
                      cwd=fleet.tmp, environ={"HOME": str(fleet.home)})
    assert res.code == 2
    assert res.err == f"fleetcheck: error: {missing}: --private-key: key file not found\n"
    assert _connections(lab, "web3") == before
    assert not (fleet.tmp / "out").exists() or not any((fleet.tmp / "out").iterdir())


def test_missing_key_file_from_the_inventory_is_named(fleet: Fleet, lab: SshLab) -> None:
    """A typo in ansible_ssh_private_key_file (or -i in the ssh args): that host's error names
    the file, no connection is made, the other hosts are checked."""
    typo = fleet.tmp / "client_ed2551"
    inv = fleet.inventory({
        "web3": fleet.vars("web3", key=typo),
        "web4": fleet.vars("web4", ansible_ssh_common_args=f"-i {typo}-args"),
        "db1": fleet.vars("db1")})
    before = _connections(lab, "web3")
    scan = fleet.scan(inv)
    for name, path in (("web3", typo), ("web4", f"{typo}-args")):
        error = scan.host(name)["error"]
        assert error["kind"] == "inventory", error
        assert f"private key file {path} does not exist" in error["message"]
    assert _connections(lab, "web3") == before
    assert scan.host("db1")["status"] == "noncompliant"


def test_missing_identityfile_in_ssh_config_as_openssh(fleet: Fleet, lab: SshLab) -> None:
    """An explicit IdentityFile that is missing is skipped (as ssh does) and named when no
    key worked; OpenSSH's default key files are skipped silently."""
    address = lab.hosts["web3"].address
    config = fleet.tmp / "ssh_config"
    config.write_text(f"Host ok\n  HostName {address}\n  User fcops\n"
                      f"  IdentityFile {fleet.tmp}/gone\n  IdentityFile {lab.key}\n"
                      f"Host bad\n  HostName {address}\n  User fcops\n"
                      f"  IdentityFile {fleet.tmp}/gone\n"
                      f"Host defaults\n  HostName {address}\n  User fcops\n")
    scan = fleet.scan(fleet.inventory({"ok": {}, "bad": {}, "defaults": {}}), "-F", str(config))
    assert scan.host("ok")["status"] == "compliant"
    bad = scan.host("bad")["error"]
    assert bad["kind"] == "auth_failed"
    assert f"IdentityFile {fleet.tmp}/gone does not exist" in bad["message"]
    defaults = scan.host("defaults")["error"]
    assert defaults["kind"] == "auth_failed" and "does not exist" not in defaults["message"]


def test_userauth_service_asked_once_per_connection(fleet: Fleet, lab: SshLab, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """One ssh-userauth service request a connection, however many methods follow (as ssh;
    paramiko alone asks again before each, a round trip more), and no `none` request where
    a key or password is offered (a refusal names the methods): counted on the packets sent
    to real sshd hosts, with the methods a failed login names."""
    sent: dict[int, list[bytes]] = {}
    real_send = Packetizer.send_message

    def counting(self: Packetizer, data: Message) -> None:
        sent.setdefault(id(self), []).append(data.asbytes())
        real_send(self, data)

    stranger = tmp_path / "stranger"  # a key no lab host knows
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
                   check=True)
    monkeypatch.setattr(Packetizer, "send_message", counting)
    password = lab.user("fcpw").password
    assert password
    inv = fleet.inventory({
        "bykey": fleet.vars("web3"),  # the key: one request
        "bypassword": fleet.vars("web3", user="fcpw", key=stranger, ansible_password=password),
        "refused": fleet.vars("web3", user="fcpw", key=stranger,
                              ansible_password=password[::-1]),
        "nothing": {"ansible_host": lab.hosts["web3"].address, "ansible_user": "fcpw",
                    "ansible_ssh_common_args": "-o IdentityAgent=none -o IdentityFile=none"}})
    scan = fleet.scan(inv)
    assert scan.host("bykey")["status"] == scan.host("bypassword")["status"] == "compliant"
    for name in ("refused", "nothing"):
        assert scan.kind(name) == "auth_failed"
        assert "server accepts: publickey, password" in scan.host(name)["error"]["message"]
    assert len(sent) == 4
    services = [[m for m in kinds if m[0] == MSG_SERVICE_REQUEST] for kinds in sent.values()]
    assert [len(s) for s in services] == [1, 1, 1, 1]
    methods = sorted(tuple(_method(m) for m in kinds if m[0] == MSG_USERAUTH_REQUEST)
                     for kinds in sent.values())
    assert methods == sorted([("publickey",), ("publickey", "password"),
                              ("publickey", "password"), ("none",)]), methods


def test_connections_wake_only_for_data_and_end_when_closed(
        fleet: Fleet, lab: SshLab, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host's connection blocks in recv until data comes (paramiko's socket timeout woke
    it ten times a second, and made CPython poll before every recv and send), starts no
    timer thread for its handshake, and ends its thread at once when closed; a jump host's
    connection, which sends keepalives, keeps a second's slices. Counted in the packetizer
    and the threads started, on hosts whose command stalls until the command timeout."""
    slices: list[int] = []  # the packetizer of each wake-up
    lingering: list[bool] = []
    timeouts: list[tuple[str | None, float | None, int]] = []  # peer, timeout, packetizer
    timers: list[threading.Thread] = []
    real_close, real_start = AuthTransport.close, threading.Thread.start
    real_keepalive = Packetizer._check_keepalive  # type: ignore[attr-defined]  # not in its stubs

    def keepalive(self: Packetizer) -> None:
        slices.append(id(self))  # paramiko checks keepalives each time a timeout ends a wait
        real_keepalive(self)

    def close(self: AuthTransport) -> None:
        direct = isinstance(self.sock, socket.socket)  # not a tunnel through the jump host
        timeouts.append((self.sock.getpeername()[0] if direct else None,
                         self.sock.gettimeout(), id(self.packetizer)))
        real_close(self)
        self.join(0.3)  # closing alone leaves the thread in recv until its timeout
        lingering.append(self.is_alive())

    def start(self: threading.Thread) -> None:
        if isinstance(self, threading.Timer):
            timers.append(self)
        real_start(self)

    monkeypatch.setattr(Packetizer, "_check_keepalive", keepalive)
    monkeypatch.setattr(AuthTransport, "close", close)
    monkeypatch.setattr(threading.Thread, "start", start)
    jump = lab.hosts["jump"].address
    # a jump host is reached with ssh_config's and the agent's keys: give it one
    (fleet.home / ".ssh" / "config").write_text(f"Host {jump}\n  IdentityFile {lab.key}\n")
    inv = fleet.inventory({
        **{f"web3-{i}": fleet.vars("web3") for i in range(3)},
        **{f"hang-{i}": fleet.vars("hang") for i in range(2)},
        "inner": fleet.vars("inner2", ansible_ssh_common_args=f"-o ProxyJump=fcops@{jump}")})
    scan = fleet.scan(inv, "--command-timeout", "1.5")
    assert [scan.kind(f"web3-{i}") for i in range(3)] == [None] * 3
    assert [scan.kind(f"hang-{i}") for i in range(2)] == ["command_timeout"] * 2
    assert scan.kind("inner") is None
    assert lingering == [False] * 7  # six hosts and the jump host
    assert timers == []
    # the jump host's keepalives are due every 30 s: it alone wakes while idle
    assert [t for peer, t, _ in timeouts if peer == jump] == [1.0]
    assert [t for peer, t, _ in timeouts if peer != jump] == [None] * 6
    jumps = {p for peer, _, p in timeouts if peer == jump}
    assert [p for p in slices if p not in jumps] == [], "wake-ups of idle host connections"


def _method(request: bytes) -> str:
    """The method named by a USERAUTH_REQUEST (user, service, method: three strings)."""
    m = Message(request[1:])
    m.get_text()
    m.get_text()
    return m.get_text()


def test_server_debug_message_escaped_only_when_logged(fleet: Fleet, lab: SshLab,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """sshd sends a debug message on a key login (the key's options): escaped and shown as
    paramiko logs it with -vvv, not escaped at all without."""
    import paramiko.util

    escaped: list[bytes] = []
    real = paramiko.util.safe_string

    def counting(text: bytes) -> bytes:
        escaped.append(text)
        return real(text)

    monkeypatch.setattr(paramiko.util, "safe_string", counting)
    inv = fleet.inventory({"web3": fleet.vars("web3")})
    assert fleet.scan(inv).host("web3")["status"] == "compliant"
    assert escaped == []
    loud = fleet.scan(inv, "-vvv")
    assert loud.host("web3")["status"] == "compliant"
    assert any(b"key options" in text for text in escaped), escaped
    shown = [line for line in loud.err.splitlines() if "Debug msg: " in line]
    assert len(shown) == len(escaped)
    assert all(line.endswith(f"Debug msg: {real(t)!r}")
               for line, t in zip(shown, escaped, strict=True))
