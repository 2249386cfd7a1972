"""How a scan reaches hosts, how long it waits, how wide it runs, and on which engine."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from fleetcheck.model import Severity
from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT
from fleetcheck.transport.ssh.options import SshOptions

# Fewest waiting hosts worth a worker process of their own: its start costs ~0.2 s of CPU.
MIN_SHARE = 100


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Every setting a scan needs besides its hosts, inputs and waivers."""

    forks: int = 10
    fail_on: Severity = Severity.LOW
    command_timeout: float = 60.0
    deadline: float = 180.0  # per host, connect to last byte: no host holds the run longer
    max_output: int = DEFAULT_MAX_OUTPUT
    workers: int = 1  # processes sharing the hosts (each runs forks/workers threads)
    grow: bool = False  # `workers` is a ceiling: a process is added while this one is CPU-bound
    ssh: SshOptions = field(default_factory=SshOptions)
    log_level: int | None = None  # -vv in the CLI: worker processes log at the same level
    library_log: bool = False  # -vvv: paramiko's own records too
    engine: str | None = None  # "threads" | "processes" | ...; None: chosen from `workers`
