"""Precedence as Ansible has it: command line > inventory variables (for their host) >
environment > ansible.cfg > default — down to the planned connection of each host.

The arguments go through the real parser and configuration step `main` uses, then the
real planner and scan options; nothing is contacted.
"""

from __future__ import annotations

import io
from pathlib import Path

from fleetcheck.cli.common import host_defaults, load_inventory
from fleetcheck.cli.config_cmd import configure
from fleetcheck.cli.env import Env
from fleetcheck.cli.main import build_parser
from fleetcheck.cli.scan_args import scan_options
from fleetcheck.engine.options import ScanOptions
from fleetcheck.plan import PlannedHost, plan

INVENTORY = """\
[web]
plain ansible_host=192.0.2.10
own ansible_host=192.0.2.11 ansible_user=inventoryuser ansible_become_user=dba

[web:vars]
unused=1

[own_only]
own ansible_ssh_common_args='-o ProxyJump=own-jump'
"""
CFG = """\
[defaults]
inventory = hosts.ini
remote_user = cfguser
private_key_file = keys/cfg_key
host_key_checking = false
forks = 25
timeout = 7
[privilege_escalation]
become = true
become_user = admin
become_method = su
[ssh_connection]
ssh_args = -o ConnectionAttempts=2
ssh_common_args = -o ProxyJump=bastion
"""


def _setup(root: Path) -> None:
    (root / "keys").mkdir()
    for key in ("cfg_key", "env_key", "cli_key"):
        (root / "keys" / key).write_text("not a real key: nothing is contacted\n")
    (root / "hosts.ini").write_text(INVENTORY)
    (root / "ansible.cfg").write_text(CFG)


def _planned(root: Path, argv: list[str], environ: dict[str, str]
             ) -> tuple[dict[str, PlannedHost], ScanOptions]:
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(),
              environ={"HOME": str(root / "home"), **environ}, cwd=root)
    args = build_parser().parse_args(["scan", *argv])
    args.settings = configure(args, env)
    hosts = plan(load_inventory(args, env), [], become=args.become, user=args.user,
                 defaults=host_defaults(args))
    hosts, options = scan_options(args, env, hosts)
    return {h.name: h for h in hosts}, options


def test_ansible_cfg_gives_hosts_what_their_inventory_does_not(tmp_path: Path) -> None:
    _setup(tmp_path)
    hosts, options = _planned(tmp_path, [], {})
    plain, own = hosts["plain"], hosts["own"]
    assert (plain.user, own.user) == ("cfguser", "inventoryuser")  # the inventory wins
    assert plain.become is not None and own.become is not None
    assert (plain.become.user, plain.become.method) == ("admin", "su")
    assert (own.become.user, own.become.method) == ("dba", "su")
    # ssh_args first (OpenSSH keeps the first value), then common args unless the host has its
    assert plain.ssh_args == ("-o", "ConnectionAttempts=2", "-o", "ProxyJump=bastion")
    assert own.ssh_args == ("-o", "ConnectionAttempts=2", "-o", "ProxyJump=own-jump")
    assert options.ssh.private_key == str(tmp_path / "keys" / "cfg_key")
    assert options.ssh.host_key_checking == "off"
    assert (options.forks, options.ssh.connect_timeout) == (25, 7.0)


def test_the_environment_beats_ansible_cfg(tmp_path: Path) -> None:
    _setup(tmp_path)
    hosts, options = _planned(tmp_path, [], {
        "ANSIBLE_REMOTE_USER": "envuser", "ANSIBLE_PRIVATE_KEY_FILE": "keys/env_key",
        "ANSIBLE_HOST_KEY_CHECKING": "true", "ANSIBLE_FORKS": "4", "ANSIBLE_BECOME": "no",
        "ANSIBLE_BECOME_METHOD": "doas", "ANSIBLE_SSH_COMMON_ARGS": "-J envjump"})
    assert (hosts["plain"].user, hosts["own"].user) == ("envuser", "inventoryuser")
    assert hosts["plain"].become is None
    assert hosts["plain"].ssh_args == ("-o", "ConnectionAttempts=2", "-J", "envjump")
    assert options.ssh.private_key == str(tmp_path / "keys" / "env_key")  # relative to cwd
    assert (options.ssh.host_key_checking, options.forks) == ("strict", 4)


def test_the_command_line_beats_the_environment(tmp_path: Path) -> None:
    _setup(tmp_path)
    hosts, options = _planned(
        tmp_path, ["-u", "cliuser", "--private-key", "keys/cli_key", "--host-key-checking",
                   "accept-new", "-f", "2", "--connect-timeout", "3"],
        {"ANSIBLE_REMOTE_USER": "envuser", "ANSIBLE_FORKS": "4"})
    assert (hosts["plain"].user, hosts["own"].user) == ("cliuser", "inventoryuser")
    assert options.ssh.private_key == str(tmp_path / "keys" / "cli_key")
    assert (options.ssh.host_key_checking, options.forks, options.ssh.connect_timeout) == \
        ("accept-new", 2, 3.0)


def test_without_any_configuration_the_defaults_hold(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    hosts, options = _planned(tmp_path, ["-i", "hosts.ini"], {})
    assert (hosts["plain"].user, hosts["plain"].become, hosts["plain"].ssh_args) == \
        (None, None, ())
    assert (options.ssh.host_key_checking, options.forks, options.ssh.connect_timeout,
            options.ssh.private_key) == ("strict", 10, None, None)
