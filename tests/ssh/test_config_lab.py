"""ansible.cfg, ANSIBLE_* and the command line reaching real sshd hosts, with Ansible's
precedence: user, key, port, become (sudo, su, doas) and ProxyJump from ssh_common_args
come from configuration when the inventory names none; the environment beats the file,
the command line both, -e everything. What each file and environment resolves to is
checked against `ansible-config dump` for the same files and environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.config.test_ansible_cfg import dumped
from tests.conftest import run_cli
from tests.inventory.oracle import require_ansible
from tests.lab.prereq import require_doas
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import SSHD, Fleet, listeners

pytestmark = pytest.mark.lab
SUDO1 = SSHD | {("tcp", 4, "0.0.0.0", 8443, "rootsvc"), ("tcp", 4, "0.0.0.0", 8444, "usersvc")}


def _dump(fleet: Fleet, environ: dict[str, str] | None = None) -> dict[str, tuple[Any, str]]:
    """ansible-config dump's (value, origin) of every base setting, and of the ssh
    connection plugin's options (as `ssh:NAME`), in the scan's cwd and environment."""
    require_ansible()
    (fleet.home / "tmp").mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(fleet.home),
           "LC_ALL": "C.UTF-8", "ANSIBLE_LOCAL_TEMP": str(fleet.home / "tmp"), **(environ or {})}
    base, connection = dumped(fleet.tmp, env)
    found = {e["name"]: (e["value"], e["origin"]) for e in base if "name" in e}
    for block in connection:
        for option in block.get("ssh", ()):
            found[f"ssh:{option['name']}"] = (option["value"], option["origin"])
    return found


def _ours(fleet: Fleet, environ: dict[str, str] | None = None) -> dict[str, tuple[Any, str]]:
    """fleetcheck config's (value, origin) of each setting, by ansible-core's name."""
    shown = run_cli(["config", "--format", "json"], cwd=fleet.tmp,
                    environ={"HOME": str(fleet.home), **(environ or {})})
    settings = json.loads(shown.out)["settings"]
    return {**{s["ansible"]: (s["value"], s["origin"]) for s in settings if s["ansible"]},
            **{f"ssh:{s['name']}": (s["value"], s["origin"]) for s in settings}}


def _agree(fleet: Fleet, names: tuple[str, ...], environ: dict[str, str] | None = None) -> None:
    """fleetcheck resolves `names` to the values ansible-config dump shows, from the same
    place (the same file, or the same environment variable)."""
    theirs, ours = _dump(fleet, environ), _ours(fleet, environ)
    for name in names:
        value, origin = theirs[name]
        mine, where = ours[name]
        assert mine == value, (name, mine, value)
        if origin.startswith("env: "):
            assert where == f"env {origin[5:]}", name
        else:
            assert where.startswith(f"{origin}:"), (name, where, origin)


def _cfg(fleet: Fleet, text: str) -> Path:
    path = fleet.tmp / "ansible.cfg"
    path.write_text(text)
    return path


def _addresses(fleet: Fleet, lab: SshLab, *names: str) -> Path:
    """An inventory naming only where each host is (and a non-standard port)."""
    hosts = {}
    for name in names:
        host = lab.hosts[name]
        hosts[name] = {"ansible_host": host.address,
                       **({"ansible_port": host.spec.port} if host.spec.port != 22 else {})}
    return fleet.inventory(hosts)


def test_user_and_key_come_from_ansible_cfg(fleet: Fleet, lab: SshLab) -> None:
    _cfg(fleet, f"[defaults]\nremote_user = fcops\nprivate_key_file = {lab.key}\n")
    scan = fleet.scan(_addresses(fleet, lab, "web3", "p2222"))
    assert scan.host("web3")["status"] == "compliant"
    assert scan.host("p2222")["error"] is None  # checked (sshd on 2222 is a stray there)
    assert 2222 in {port for _, _, _, port, _ in listeners(scan.host("p2222"))}
    shown = run_cli(["config", "--format", "json"], cwd=fleet.tmp,
                    environ={"HOME": str(fleet.home)})
    origins = {s["name"]: s["origin"] for s in json.loads(shown.out)["settings"]}
    assert origins["remote_user"] == f"{fleet.tmp}/ansible.cfg:2 [defaults] remote_user"
    _agree(fleet, ("DEFAULT_REMOTE_USER", "DEFAULT_PRIVATE_KEY_FILE"))


def test_the_environment_beats_the_file_and_the_command_line_both(fleet: Fleet,
                                                                  lab: SshLab) -> None:
    _cfg(fleet, f"[defaults]\nremote_user = fcops\nprivate_key_file = {lab.key}\n")
    inv = _addresses(fleet, lab, "web3")
    scan = fleet.scan(inv, environ={"ANSIBLE_REMOTE_USER": "nosuchuser"})
    assert scan.kind("web3") == "auth_failed"
    assert "nosuchuser" in scan.host("web3")["error"]["message"]
    scan = fleet.scan(inv, "-u", "fcops", environ={"ANSIBLE_REMOTE_USER": "nosuchuser"})
    assert scan.host("web3")["status"] == "compliant"
    _agree(fleet, ("DEFAULT_REMOTE_USER",), {"ANSIBLE_REMOTE_USER": "nosuchuser"})


def test_become_from_ansible_cfg_sees_every_process(fleet: Fleet, lab: SshLab) -> None:
    _cfg(fleet, f"[defaults]\nremote_user = fcops\nprivate_key_file = {lab.key}\n"
                "[privilege_escalation]\nbecome = true\nbecome_method = sudo\n")
    scan = fleet.scan(_addresses(fleet, lab, "sudo1"))
    seen = listeners(scan.host("sudo1"))
    assert ("tcp", 4, "0.0.0.0", 8443, "rootsvc") in seen  # root's socket: only with sudo
    assert scan.host("sudo1")["privileged"] is True


def test_proxyjump_from_ssh_common_args(fleet: Fleet, lab: SshLab) -> None:
    """[ssh_connection] ssh_common_args = -o ProxyJump=...: inner hosts through the bastion.

    The jump host authenticates as OpenSSH's would, from ssh_config (here ~/.ssh/config).
    """
    jump = lab.hosts["jump"]
    (fleet.home / ".ssh" / "config").write_text(
        f"Host {jump.address}\n    User fcops\n    IdentityFile {lab.key}\n")
    _cfg(fleet, f"[defaults]\nremote_user = fcops\nprivate_key_file = {lab.key}\n"
                f"[ssh_connection]\nssh_common_args = -o ProxyJump=fcops@{jump.address}\n")
    scan = fleet.scan(_addresses(fleet, lab, "inner1"), "--become")
    assert scan.host("inner1")["error"] is None, scan.host("inner1")["error"]
    assert listeners(scan.host("inner1")) == SSHD | {("tcp", 4, "0.0.0.0", 1923, "innerspice")}
    _agree(fleet, ("ssh:ssh_common_args", "DEFAULT_REMOTE_USER"))


def test_port_from_ansible_cfg_and_the_environment(fleet: Fleet, lab: SshLab) -> None:
    """[defaults] remote_port reaches a host whose inventory names no port; the
    environment's ANSIBLE_REMOTE_PORT beats it (here: a port nothing listens on)."""
    _cfg(fleet, f"[defaults]\nremote_user = fcops\nprivate_key_file = {lab.key}\n"
                "remote_port = 2222\n")
    p2222 = lab.hosts["p2222"]
    inv = fleet.inventory({"p2222": {"ansible_host": p2222.address}})
    scan = fleet.scan(inv)
    assert scan.host("p2222")["error"] is None
    assert 2222 in {port for _, _, _, port, _ in listeners(scan.host("p2222"))}
    _agree(fleet, ("DEFAULT_REMOTE_PORT",))
    scan = fleet.scan(inv, environ={"ANSIBLE_REMOTE_PORT": "2299"})
    assert scan.kind("p2222") == "connection_refused"
    _agree(fleet, ("DEFAULT_REMOTE_PORT",), {"ANSIBLE_REMOTE_PORT": "2299"})


def test_become_method_su_then_doas_then_sudo_by_precedence(fleet: Fleet, lab: SshLab) -> None:
    """ansible.cfg says su (root's password from ANSIBLE_BECOME_PASS, answered on a
    terminal); ANSIBLE_BECOME_METHOD=doas beats it; --become-method sudo beats both."""
    require_doas()
    _cfg(fleet, f"[defaults]\nremote_user = fcops\nprivate_key_file = {lab.key}\n"
                "[privilege_escalation]\nbecome = true\nbecome_method = su\n")
    inv = _addresses(fleet, lab, "sudo1")
    password = {"ANSIBLE_BECOME_PASS": lab.root_password}
    used = {}
    for label, argv, environ in (("su", [], password),
                                 ("doas", [], {**password, "ANSIBLE_BECOME_METHOD": "doas"}),
                                 ("sudo", ["--become-method", "sudo"],
                                  {**password, "ANSIBLE_BECOME_METHOD": "doas"})):
        scan = fleet.scan(inv, *argv, environ=environ)
        host = scan.host("sudo1")
        assert host["error"] is None, (label, host["error"])
        assert host["privileged"] is True and listeners(host) == SUDO1, label
        used[label] = host["commands"][0]["command"].split(" -c ")[0]
        assert lab.root_password not in json.dumps(scan.run) + scan.err + scan.text
        if not argv:
            _agree(fleet, ("DEFAULT_BECOME", "DEFAULT_BECOME_METHOD"), environ)
    assert used["su"] == "env LC_ALL=C su root"
    assert used["doas"].startswith("env LC_ALL=C doas -u root sh")
    assert used["sudo"].startswith("sudo -S -p ")


def test_extra_vars_win_over_the_inventory_on_real_hosts(fleet: Fleet, lab: SshLab) -> None:
    """The inventory names a user that does not exist and no become; -e gives the user, a
    port (as text, as Ansible's key=value does) and su with root's password (a YAML file)."""
    p2222 = lab.hosts["p2222"]
    inv = fleet.inventory({"p2222": {"ansible_host": p2222.address, "ansible_user": "nobody1",
                                     "ansible_port": 22, "ansible_become": False,
                                     "ansible_ssh_private_key_file": str(lab.key)}})
    scan = fleet.scan(inv)
    assert scan.kind("p2222") == "connection_refused"  # nothing on 22 there
    (fleet.tmp / "become.yml").write_text(
        "ansible_become: true\nansible_become_method: su\n"
        f"ansible_become_password: {lab.root_password}\n")
    scan = fleet.scan(inv, "-e", "ansible_user=fcops ansible_port=2222", "-e", "@become.yml")
    host = scan.host("p2222")
    assert host["error"] is None, host["error"]
    assert host["privileged"] is True
    assert host["commands"][0]["command"].startswith("env LC_ALL=C su root -c ")
    assert lab.root_password not in json.dumps(scan.run) + scan.err + scan.text


def test_proxyjump_from_the_command_line_beats_ansible_cfg(fleet: Fleet, lab: SshLab) -> None:
    jump = lab.hosts["jump"]
    (fleet.home / ".ssh" / "config").write_text(
        f"Host {jump.address}\n    User fcops\n    IdentityFile {lab.key}\n")
    _cfg(fleet, f"[defaults]\nremote_user = fcops\nprivate_key_file = {lab.key}\n"
                "[ssh_connection]\nssh_common_args = -o ProxyJump=fcops@192.0.2.1\n")
    scan = fleet.scan(_addresses(fleet, lab, "inner2"),
                      f"--ssh-common-args=-o ProxyJump=fcops@{jump.address}")
    assert scan.host("inner2")["error"] is None, scan.host("inner2")["error"]
    assert ("udp", 161) in {(li["proto"], li["port"]) for li in scan.host("inner2")["listeners"]}


def test_a_hosts_own_ssh_config_file_reaches_it_through_its_jump_host(fleet: Fleet,
                                                                       lab: SshLab) -> None:
    """ansible_ssh_common_args '-F site.conf' (relative: from the working directory, as for
    ssh): that file alone gives the host's address, user, key and jump host, and the jump
    host's own; ~/.ssh/config, which would send both elsewhere, is not read for it."""
    jump, inner = lab.hosts["jump"], lab.hosts["inner1"]
    (fleet.home / ".ssh" / "config").write_text("Host *\n    Port 2299\n    User nosuchuser\n")
    (fleet.tmp / "site.conf").write_text(
        f"Host inner1\n    HostName {inner.address}\n    ProxyJump bastion\n"
        f"Host bastion\n    HostName {jump.address}\n"
        f"Host *\n    User fcops\n    IdentityFile {lab.key}\n")
    scan = fleet.scan(fleet.inventory({"inner1": {"ansible_ssh_common_args": "-F site.conf"}}),
                      "--become")
    assert scan.host("inner1")["error"] is None, scan.host("inner1")["error"]
    assert listeners(scan.host("inner1")) == SSHD | {("tcp", 4, "0.0.0.0", 1923, "innerspice")}
    assert "ignores" not in scan.err and scan.run["meta"]["warnings"] == []
