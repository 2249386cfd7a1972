"""No shell injection through ssh_config templates: what a %-token stands for is checked first.

A template's own quotes (`bash -c '... %h ...'`, `ssh -W '%h:%p' jump`) would undo any
quoting of the value; so, as OpenSSH 9.6+ does, a host name, user, alias or port that
could carry shell syntax is refused before anything is expanded: the host is an
`inventory` error naming the value, and no command runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck.transport.ssh.known_hosts import KnownHosts
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import SSHD, Fleet, listeners

pytestmark = pytest.mark.lab

TEMPLATES = [
    "bash -c 'exec nc %h %p'",  # the value inside the template's single quotes
    "ssh -F /dev/null -W '%h:%p' fcops@{jump}",
    'sh -c "exec nc %h %p"',  # and inside double quotes
    "nc %h %p",
    "ssh -F /dev/null -l '%r' -W %h:%p {jump}",
    "sh -c 'echo %n; exec nc %h %p'",
]


def _config(fleet: Fleet, lab: SshLab, template: str) -> Path:
    path = fleet.tmp / "ssh_config"
    command = template.format(jump=lab.hosts["jump"].address)
    path.write_text(f"Host *\n    ProxyCommand {command}\n    IdentityFile {lab.key}\n")
    return path


@pytest.mark.parametrize("template", TEMPLATES)
def test_hostile_values_never_reach_a_proxycommand(fleet: Fleet, lab: SshLab,
                                                   template: str) -> None:
    """Addresses, names, users and jump hosts built to run `touch`: refused, nothing runs."""
    pwned = fleet.tmp / "pwned"
    payloads = {
        "by-address": {"ansible_host": f"127.0.0.2$(touch {pwned})"},
        "by-quote": {"ansible_host": f"127.0.0.2';touch {pwned};'"},
        "by-dquote": {"ansible_host": f'127.0.0.2";touch {pwned};"'},
        "by-backtick": {"ansible_host": f"127.0.0.2`touch {pwned}`"},
        "by-space": {"ansible_host": f"127.0.0.2 -oProxyCommand=touch {pwned}"},
        "by-dash": {"ansible_host": f"-oProxyCommand=touch {pwned}"},
        "by-user": {"ansible_host": lab.hosts["web1"].address,
                    "ansible_user": f"fcops'$(touch {pwned})'"},
        "by-jump": {"ansible_host": lab.hosts["web1"].address,
                    "ansible_ssh_common_args": f"-J 'x$(touch {pwned})'"},
        "by-hostname": {"ansible_host": lab.hosts["web1"].address,
                        "ansible_ssh_common_args": f"-o 'HostName=a|touch {pwned}'"},
        f"127.0.0.2$(touch {pwned})": {},  # the inventory name is the address (%n, %h)
    }
    scan = fleet.scan(fleet.inventory(payloads), "-F", str(_config(fleet, lab, template)))
    for name in payloads:
        error = scan.host(name)["error"]
        assert error["kind"] == "inventory", (name, error)
        assert "refused before any ssh_config %-token is expanded" in error["message"]
        assert scan.host(name)["commands"] == []
    assert not pwned.exists()
    assert scan.code == 3


def test_valid_values_keep_working_in_a_quoted_template(fleet: Fleet, lab: SshLab) -> None:
    """`ssh -W '%h:%p' jump` through the real bastion: the template's quotes are honoured."""
    config = _config(fleet, lab, "ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile="
                     f"{lab.known_hosts} -i {lab.key} -W '%h:%p' fcops@{{jump}}")
    scan = fleet.scan(fleet.inventory({"inner1": fleet.vars("inner1")}), "-F", str(config),
                      "--become")
    assert listeners(scan.host("inner1")) == SSHD | {("tcp", 4, "0.0.0.0", 1923, "innerspice")}


def test_known_hosts_names_cannot_add_entries(fleet: Fleet, lab: SshLab) -> None:
    """accept-new writes the HostKeyAlias: one with a comma or a pattern would trust the key
    for other hosts, so it is refused and known_hosts is left as it was."""
    known = fleet.tmp / "known_hosts"
    known.write_text("")
    inv = fleet.inventory({
        "comma": fleet.vars("web1", ansible_ssh_common_args="-o HostKeyAlias=web1,db.example"),
        "star": fleet.vars("web2", ansible_ssh_common_args="-o HostKeyAlias=*"),
        "newline": fleet.vars("web3", ansible_ssh_common_args="-o 'HostKeyAlias=a\nb'"),
        "fine": fleet.vars("web4", ansible_ssh_common_args="-o HostKeyAlias=web4.lab"),
    })
    scan = fleet.scan(inv, "--host-key-checking", "accept-new", known_hosts=known)
    for name in ("comma", "star", "newline"):
        assert scan.kind(name) == "inventory", name
        assert "HostKeyAlias" in scan.host(name)["error"]["message"]
    assert scan.host("fine")["status"] == "compliant"
    assert len(known.read_text().splitlines()) == 1  # fine's key, and nothing else
    index = KnownHosts.load([known])
    assert index.entries_for("web4.lab")
    assert not any(index.entries_for(n) for n in ("web1", "db.example", "a", "b", "other"))
