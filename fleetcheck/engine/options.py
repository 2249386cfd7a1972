"""How a scan reaches hosts, how long it waits, how wide it runs, and on which engine."""

from __future__ import annotations

import os
from dataclasses import field

from fleetcheck.frozen import frozen
from fleetcheck.model import Severity
from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT
from fleetcheck.transport.ssh.options import SshOptions

# Fewest waiting hosts worth a worker process of their own: its start costs ~0.2 s of CPU.
MIN_SHARE = 100
# Below this many hosts per process, extra worker processes cost more than they give.
HOSTS_PER_WORKER = 200


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def worker_ceiling(hosts: int) -> int:
    """The most processes a run of `hosts` grows to without --workers: the cores, and one
    per HOSTS_PER_WORKER hosts."""
    return min(default_workers(), max(1, hosts // HOSTS_PER_WORKER))


@frozen
class ScanOptions:
    """Every setting a scan needs besides its hosts, inputs and waivers."""

    forks: int = 10
    fail_on: Severity = Severity.LOW
    command_timeout: float = 60.0
    deadline: float = 180.0  # per host, connect to last byte: no host holds the run longer
    max_output: int = DEFAULT_MAX_OUTPUT
    workers: int = 1  # processes sharing the hosts (a ceiling when `grow`), forks shared out
    grow: bool = False  # `workers` is a ceiling: a process is added while this one is CPU-bound
    ssh: SshOptions = field(default_factory=SshOptions)
    log_level: int | None = None  # -vv in the CLI: worker processes log at the same level
    library_log: bool = False  # -vvv: paramiko's own records too
    engine: str | None = None  # "threads" | "processes" | ...; None: chosen from `workers`
