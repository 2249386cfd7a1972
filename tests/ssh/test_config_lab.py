"""ansible.cfg, ANSIBLE_* and the command line reaching real sshd hosts, with Ansible's
precedence: user, key, become and ProxyJump from ssh_common_args come from configuration
when the inventory names none; the environment beats the file, the command line both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import SSHD, Fleet, listeners

pytestmark = pytest.mark.lab


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


def test_the_environment_beats_the_file_and_the_command_line_both(fleet: Fleet,
                                                                  lab: SshLab) -> None:
    _cfg(fleet, f"[defaults]\nremote_user = fcops\nprivate_key_file = {lab.key}\n")
    inv = _addresses(fleet, lab, "web3")
    scan = fleet.scan(inv, environ={"ANSIBLE_REMOTE_USER": "nosuchuser"})
    assert scan.kind("web3") == "auth_failed"
    assert "nosuchuser" in scan.host("web3")["error"]["message"]
    scan = fleet.scan(inv, "-u", "fcops", environ={"ANSIBLE_REMOTE_USER": "nosuchuser"})
    assert scan.host("web3")["status"] == "compliant"


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
