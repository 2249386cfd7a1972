"""The transport contract: run one command on a host and return what it printed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fleetcheck.plan import PlannedHost

# A host may print at most this much before we stop reading: a runaway or
# hostile host must not exhaust the client's memory.
DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What one command printed (stdout and stderr kept apart) and how it exited."""

    stdout: bytes
    stderr: bytes
    exit_code: int | None  # None: killed or the exit status never arrived
    duration: float


class Transport(Protocol):
    """An open connection to one host. Raises `HostFailure` for anything that goes wrong."""

    def run(self, command: str, *, timeout: float, stdin: bytes | None = None,
            max_output: int = DEFAULT_MAX_OUTPUT) -> CommandResult:
        """Run `command` (already quoted for the remote shell) and wait for it to finish."""
        ...

    def close(self) -> None:
        """Release the connection; safe to call twice."""
        ...


TransportFactory = Callable[["PlannedHost"], Transport]
