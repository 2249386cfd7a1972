"""How a scan reaches hosts, how long it waits, how wide it runs, and on which engine."""

from __future__ import annotations

from dataclasses import dataclass, field

from fleetcheck.model import Severity
from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT
from fleetcheck.transport.ssh.options import SshOptions


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Every setting a scan needs besides its hosts, inputs and waivers."""

    forks: int = 10
    fail_on: Severity = Severity.LOW
    command_timeout: float = 60.0
    deadline: float = 180.0  # per host, connect to last byte: no host holds the run longer
    max_output: int = DEFAULT_MAX_OUTPUT
    workers: int = 1  # processes sharing the hosts (each runs forks/workers threads)
    ssh: SshOptions = field(default_factory=SshOptions)
    log_level: int | None = None  # -v in the CLI: worker processes log at the same level
    engine: str | None = None  # "threads" | "processes" | ...; None: chosen from `workers`
    gate: str = "all"  # "new" (--fail-on-new): only new or reopened violations fail the run
