"""The transport contract: run one command on a host and return what it printed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class Answer:
    """Stdin that waits for a prompt: `answer` is written once `prompt` appeared on the
    command's stderr, then stdin is closed. Until then nothing is written, so a host that
    never asks (an echoing shell, a method that needs no password) is never sent it."""

    prompt: bytes
    answer: bytes = field(repr=False)


NO_PROMPT = "the password prompt never appeared, so the password was not sent"


class PromptWatch:
    """Finds an Answer's prompt in a stream read piece by piece (a prompt may span reads)."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self._tail = b""
        self.answered = False

    def feed(self, data: bytes) -> bytes | None:
        """The answer to write, the first time the prompt is complete in what was read."""
        if self.answered or not data:
            return None
        seen = self._tail + data
        if self._answer.prompt in seen:
            self.answered = True
            return self._answer.answer
        self._tail = seen[-(len(self._answer.prompt) - 1):] if len(self._answer.prompt) > 1 \
            else b""
        return None

    def timeout_note(self) -> str:
        """What a timeout message adds while the prompt is still awaited."""
        return "" if self.answered else f" ({NO_PROMPT})"


class Transport(Protocol):
    """An open connection to one host. Raises `HostFailure` for anything that goes wrong."""

    def run(self, command: str, *, timeout: float, stdin: bytes | Answer | None = None,
            max_output: int = DEFAULT_MAX_OUTPUT) -> CommandResult:
        """Run `command` (already quoted for the remote shell) and wait for it to finish.

        `stdin` bytes are written at once, then EOF; an `Answer` is written only after
        its prompt appeared on stderr (and then EOF). Timeouts hold either way.
        """
        ...

    def close(self) -> None:
        """Release the connection; safe to call twice."""
        ...


class Connector(Protocol):
    """Opens a transport to a host, giving up when the host's deadline (monotonic) passes."""

    def __call__(self, host: PlannedHost, deadline: float) -> Transport:
        """An open transport to `host`; HostFailure otherwise."""
        ...

    def close(self) -> None:
        """Release what the connector shares between hosts (jump-host connections)."""
        ...


@dataclass(frozen=True, slots=True)
class TransportKind:
    """One way to reach hosts, as `ansible_connection` names it, and what it reads."""

    name: str
    host_vars: tuple[str, ...]  # the inventory variables this transport honours
    about: str


_SSH_VARS = (
    "ansible_host", "ansible_ssh_host", "ansible_port", "ansible_ssh_port", "ansible_user",
    "ansible_ssh_user", "ansible_password", "ansible_ssh_pass", "ansible_ssh_password",
    "ansible_ssh_private_key_file", "ansible_private_key_file", "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
)

# ansible_connection value (Ansible's aliases folded, see plan.connection_type) -> transport.
TRANSPORTS: dict[str, TransportKind] = {
    "ssh": TransportKind("ssh", _SSH_VARS, "OpenSSH's configuration and semantics, in paramiko"),
    "paramiko": TransportKind("paramiko", _SSH_VARS, "the same SSH transport"),
    "local": TransportKind("local", (), "this machine, commands run with /bin/sh"),
}

TransportFactory = Callable[["PlannedHost"], Transport]
