"""The worked examples' fleet as real sshd hosts: one namespace per host, listeners planted.

Each host the page lists gets a lab host (a real OpenSSH daemon in its own network
namespace); every row of its listener table is a real socket: the SSH daemon's own
two sockets (TCP 22 on 0.0.0.0 and ::) and, for every other row, a socket held by a
process carrying the row's name. Where the table says port 22 is held by another
name (dropbear), the host's SSH daemon runs under that name: fleetcheck still logs
in through it, and the tools on the host show that name.

The user's side is laid out as a user would have it: `HOME/.ssh/config` says how to
reach each host by its inventory name, `HOME/.ssh/known_hosts` holds their keys, and
the page's files are written under a working directory, so commands run as printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import CliResult, listed_reports, run_cli
from tests.lab.netns import Sock, in_netns
from tests.lab.prereq import require_sshd_lab
from tests.lab.sshlab import HostSpec, SshLab, running_lab
from tests.policy.lab import give_addresses
from tests.policy_lab.docexamples import Fleet, Listening

SSH_PORT = 22
DAEMON_ADDRESSES = ("0.0.0.0", "::")  # the lab's daemons listen on both, separately


def daemon_name(host: str, rows: Sequence[Listening]) -> str:
    """The name of the process the table says holds TCP 22 on 0.0.0.0 and :: (the daemon)."""
    names = {r.address: r.process for r in rows
             if (r.proto, r.port) == ("tcp", SSH_PORT) and not r.dual_stack}
    assert sorted(names) == sorted(DAEMON_ADDRESSES) and len(set(names.values())) == 1, \
        f"{host}: the table must show the SSH daemon on TCP 22 of 0.0.0.0 and ::, once each"
    return names["0.0.0.0"]


def planted(rows: Sequence[Listening]) -> list[Sock]:
    """The sockets to open for a table: every row but the SSH daemon's own."""
    return [Sock(r.proto, r.address, r.port, process=r.process, v6only=not r.dual_stack)
            for r in rows if not ((r.proto, r.port) == ("tcp", SSH_PORT)
                                  and r.address in DAEMON_ADDRESSES and not r.dual_stack)]


def inventory_hosts(inventory: str) -> set[str]:
    """Every host name an `all: children: GROUP: hosts:` YAML inventory lists."""
    data = yaml.safe_load(inventory)
    return {h for group in data["all"]["children"].values() for h in group["hosts"]}


@dataclass
class FleetLab:
    """The running lab, the user's home and the working directory holding the page's files."""

    lab: SshLab
    home: Path
    work: Path

    def cli(self, argv: Sequence[str], **environ: str) -> CliResult:
        """Run `fleetcheck ARGV` from the controller namespace, in the working directory."""
        with in_netns(self.lab.controller.name):
            return run_cli(list(argv), cwd=self.work, environ={"HOME": str(self.home), **environ})

    def report(self, res: CliResult) -> tuple[Path, dict[str, Any]]:
        """The JSON report a scan says (on stderr) it wrote, and its content."""
        paths = [p for p in listed_reports(res.out, res.err) if p.endswith(".json")]
        assert len(paths) == 1, f"exit {res.code}: {res.err}"
        path = self.work / paths[0]
        return path, json.loads(path.read_text())


def _ssh_setup(lab: SshLab, home: Path) -> None:
    """~/.ssh/config reaching every lab host by its name, and known_hosts with its keys."""
    ssh = home / ".ssh"
    ssh.mkdir(parents=True)
    blocks = [f"Host {name}\n  HostName {host.address}\n" for name, host in lab.hosts.items()]
    blocks.append(f"Host *\n  User fcops\n  IdentityFile {lab.key}\n  IdentitiesOnly yes\n")
    (ssh / "config").write_text("".join(blocks))
    (ssh / "known_hosts").write_text("".join(lab.known_hosts_lines(*lab.hosts)))


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Write each file of the page under `root` at the path the page names."""
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content)


@contextmanager
def fleet_lab(fleet: Fleet, tmp: Path) -> Iterator[FleetLab]:
    """The fleet the page describes, running; everything is removed on exit."""
    require_sshd_lab()
    listening = fleet.listening()
    assert inventory_hosts(fleet.intro.files["inventory.yml"]) == set(listening), \
        "every inventory host needs a listener table, and every table a host"
    specs = [HostSpec(host, daemon_name=daemon_name(host, rows))
             for host, rows in listening.items()]
    with running_lab(specs) as lab:
        for host, rows in listening.items():
            socks = planted(rows)
            give_addresses(lab.hosts[host].ns, socks)
            lab.hold(host, socks)
        home, work = tmp / "home", tmp / "work"
        _ssh_setup(lab, home)
        write_files(work, fleet.all_files())
        yield FleetLab(lab, home, work)
