"""The connection, concurrency and logging options of `scan` (Ansible's and OpenSSH's words)."""

from __future__ import annotations

import argparse
import re

from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT
from fleetcheck.transport.ssh import HOST_KEY_MODES

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(value: str | int) -> int:
    """'16M', '512k', '1048576' -> bytes; ValueError for anything else."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(\d+)\s*([kmg]?)i?b?\s*", value.lower())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"--max-output: {value!r} is not a size (e.g. 16M, 512k)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Who to connect as, how to trust hosts, how many at once, how long to wait, how loud."""
    g = parser.add_argument_group("connection")
    g.add_argument("-u", "--user", help="remote user where the inventory names none")
    g.add_argument("--private-key", "--key-file", dest="private_key", metavar="FILE",
                   help="SSH private key where the inventory names none")
    g.add_argument("-k", "--ask-pass", action="store_true",
                   help="ask for the SSH password (hosts without ansible_password)")
    g.add_argument("--ask-key-passphrase", action="store_true",
                   help="ask for the passphrase of encrypted key files "
                        "(or set FLEETCHECK_KEY_PASSPHRASE)")
    g.add_argument("-F", "--ssh-config", metavar="FILE",
                   help="ssh_config file to use instead of ~/.ssh/config and "
                        "/etc/ssh/ssh_config")
    g.add_argument("--known-hosts", action="append", metavar="FILE",
                   help="known_hosts file to use instead of ~/.ssh/known_hosts (repeatable; "
                        "/etc/ssh/ssh_known_hosts is still read)")
    g.add_argument("--host-key-checking", choices=HOST_KEY_MODES, default="strict",
                   help="strict (default): only known keys; accept-new: trust and record keys "
                        "of hosts never seen; off: no checks (stated in every report)")
    g.add_argument("--connect-timeout", type=float, metavar="SECONDS",
                   help="TCP connect, then SSH banner and key exchange (default: ssh_config's "
                        "ConnectTimeout, else 10)")
    g.add_argument("--retries", type=int, default=2,
                   help="further attempts after a transient network error (default: 2)")
    b = parser.add_argument_group("privilege")
    b.add_argument("-b", "--become", action="store_true",
                   help="collect through sudo so every process's sockets are attributed")
    b.add_argument("-K", "--ask-become-pass", action="store_true",
                   help="ask for the sudo password (hosts without ansible_become_password)")
    r = parser.add_argument_group("concurrency and limits")
    r.add_argument("-f", "--forks", type=int, default=10,
                   help="hosts checked at once (default: 10)")
    r.add_argument("--workers", type=int, metavar="N",
                   help="processes sharing the forks (default: the cores available, one per "
                        "200 hosts)")
    r.add_argument("-T", "--timeout", type=float, default=60.0,
                   help="seconds a host's collection command may run (default: 60)")
    r.add_argument("--deadline", type=float, metavar="SECONDS",
                   help="seconds one host may take in all, connecting included (default: "
                        "enough for every timeout, at least 180)")
    r.add_argument("--max-output", default=DEFAULT_MAX_OUTPUT, metavar="SIZE",
                   help="most output read from one host (e.g. 16M, the default)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log each host as it finishes (-vv: connection details)")
