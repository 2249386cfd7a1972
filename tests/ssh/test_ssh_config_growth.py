"""Looking up every host of a run in an ssh_config with a block per host costs linear time.

Found: each lookup walked every block of the file, so a generated config with a `Host`
block for each of 4,000 hosts cost 15 s of CPU over a run's lookups (ssh, run once per
host, pays one walk). Blocks naming hosts literally are now indexed by name; OpenSSH's
`ssh -G` says what every alias gets from such a file, blocks of other hosts, patterns,
`Match` and an Include inside a named block among them.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from fleetcheck.transport.ssh.config import SshConfig
from tests.growth import FACTOR, LIMIT, growth
from tests.lab.prereq import require

CONFIG = """\
Compression yes
Host web1 web1.example
    Port 2201
    Include {inc}
Host Web2
    Port 2202
Host db?
    User db-any
Host web2
    HostName 10.0.0.2
Host !web1 web*
    User web-other
Match host 10.0.0.2
    Port 2299
Host plain
    Port 2204
Match final host 10.0.0.3
    User final-user
Host web3
    HostName 10.0.0.3
# web3 resolves to 10.0.0.3: the final pass reads the block named 10.0.0.3
Host 10.0.0.3
    Port 2203
Host *
    User last
"""
ALIASES = ["web1", "web1.example", "Web2", "web2", "web3", "db1", "plain", "10.0.0.3",
           "nothing"]


def _ssh_g(config: Path, alias: str) -> dict[str, str]:
    out = subprocess.run(["ssh", "-G", "-F", str(config), alias], capture_output=True,
                         text=True, check=True, stdin=subprocess.DEVNULL).stdout
    return dict(line.partition(" ")[::2] for line in out.splitlines())


def test_named_blocks_apply_as_openssh_applies_them(tmp_path: Path) -> None:
    require(shutil.which("ssh") is not None, "OpenSSH client (ssh -G)")
    (tmp_path / "inc.conf").write_text("HostName 192.0.2.1\nHost web1\n    User in-include\n")
    path = tmp_path / "config"
    path.write_text(CONFIG.format(inc=tmp_path / "inc.conf"))
    config = SshConfig.load([path], include_base=tmp_path)
    for alias in ALIASES:
        ours, ssh = config.lookup(alias), _ssh_g(path, alias)
        assert (ours["hostname"], ours.get("user"), ours.get("port", "22"), ours["compression"]) \
            == (ssh["hostname"], ssh["user"], ssh["port"], ssh["compression"]), alias


def _fleet(tmp_path: Path, n: int) -> Callable[[], None]:
    """A config with a block for each of n hosts (and a pattern block); every host looked up."""
    path = tmp_path / f"config{n}"
    path.write_text("".join(f"Host h{i} h{i}.example\n    HostName 10.0.{i >> 8}.{i & 255}\n"
                            f"    User u{i}\n" for i in range(n))
                    + "Host h1*\n    Port 2222\nHost *\n    Port 22\n")
    config = SshConfig.load([path], include_base=tmp_path)

    def look_up_all() -> None:
        for i in range(n):
            options = config.lookup(f"h{i}")
            assert options["user"] == f"u{i}"
    return look_up_all


def test_a_block_per_host_costs_linear_time(tmp_path: Path) -> None:
    assert growth(_fleet(tmp_path, 200), _fleet(tmp_path, 200 * FACTOR)) < LIMIT
