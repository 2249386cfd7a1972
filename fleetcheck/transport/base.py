"""The transport contract: run one command on a host and return what it printed."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Protocol

from fleetcheck.frozen import frozen

if TYPE_CHECKING:
    from fleetcheck.plan import PlannedHost

# A host may print at most this much before we stop reading: a runaway or
# hostile host must not exhaust the client's memory.
DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024


@frozen
class CommandResult:
    """What one command printed (stdout and stderr kept apart) and how it exited."""

    stdout: bytes
    stderr: bytes
    exit_code: int | None  # None: killed or the exit status never arrived
    duration: float


@frozen
class Answer:
    """Stdin that waits for a prompt: `answer` is written once `prompt` appeared on the
    command's stderr, then stdin is closed. Until then nothing is written, so a host that
    never asks (an echoing shell, a method that needs no password) is never sent it.

    `prompt` is literal bytes, or a pattern for a method whose prompt names things only the
    host knows (doas names the host); a pattern counts only where it ends what was read so
    far (a method that asks then waits), so text merely quoting it is no prompt. With `tty`
    the command reads the answer from a terminal (su, doas): the transport runs it on a
    pseudo-terminal, where stdout and stderr arrive merged as stdout, and looks for the
    prompt there.
    """

    prompt: bytes | re.Pattern[bytes]
    answer: bytes = field(repr=False)
    tty: bool = False

    def find(self, data: bytes) -> tuple[int, int] | None:
        """Where the prompt is in `data` (start, end), None when it is not."""
        if isinstance(self.prompt, bytes):
            at = data.find(self.prompt)
            return (at, at + len(self.prompt)) if at >= 0 else None
        last = None
        for m in self.prompt.finditer(data):
            last = m
        return last.span() if last is not None and last.end() == len(data) else None


NO_PROMPT = "the password prompt never appeared, so the password was not sent"
_PATTERN_TAIL = 4096  # what a pattern prompt may span across reads
_TERMINAL_EOF = b"\x04"  # ^D at the start of a line: end-of-file on a terminal


class PromptWatch:
    """Finds an Answer's prompt in a stream read piece by piece (a prompt may span reads)."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self._tail = b""
        self.answered = False
        self._refused = False
        self.tty = answer.tty  # the prompt shows on the terminal (stdout), not on stderr

    def feed(self, data: bytes) -> bytes | None:
        """The answer to write, the first time the prompt is complete in what was read; on a
        terminal, end-of-file (^D) the second time: the answer was refused and the method
        asks again (sudo asks three times), which must end rather than wait for input."""
        if self._refused or not data or (self.answered and not self.tty):
            return None  # off a terminal stdin is closed once answered: nothing to watch for
        seen = self._tail + data
        if self._answer.find(seen) is not None:
            if self.answered:
                self._refused = True
                return _TERMINAL_EOF
            self.answered = True
            self._tail = b""  # a later prompt is a new one, not this one read again
            return self._answer.answer
        prompt = self._answer.prompt
        keep = len(prompt) - 1 if isinstance(prompt, bytes) else _PATTERN_TAIL
        self._tail = seen[-keep:] if keep > 0 else b""
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
        its prompt appeared on stderr (and then EOF). A `tty` Answer runs the command on a
        pseudo-terminal: everything it prints arrives as stdout (stderr stays empty), the
        prompt is looked for there. Timeouts hold either way.
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


@frozen
class TransportKind:
    """One way to reach hosts, as `ansible_connection` names it, and the inventory variables
    it reads for each of its settings."""

    name: str
    # setting -> its variables in ansible-core's order: where several are set, the LAST wins
    # (ansible-core reads a plugin's `vars` list in order and keeps the last one defined).
    variables: Mapping[str, tuple[str, ...]]
    about: str

    @property
    def host_vars(self) -> tuple[str, ...]:
        """Every inventory variable this transport honours."""
        return tuple(v for names in self.variables.values() for v in names)


# The ssh connection plugin's variables (ansible-core 2.19), which paramiko_ssh extends.
_SSH_VARS: dict[str, tuple[str, ...]] = {
    "host": ("ansible_host", "ansible_ssh_host"),
    "port": ("ansible_port", "ansible_ssh_port"),
    "user": ("ansible_user", "ansible_ssh_user"),
    "password": ("ansible_password", "ansible_ssh_pass", "ansible_ssh_password"),
    "private_key_file": ("ansible_private_key_file", "ansible_ssh_private_key_file"),
    "timeout": ("ansible_ssh_timeout",),
    "ssh_args": ("ansible_ssh_args",),
    "ssh_common_args": ("ansible_ssh_common_args",),
    "ssh_extra_args": ("ansible_ssh_extra_args",),
}
_PARAMIKO_VARS = {
    **_SSH_VARS,
    "host": (*_SSH_VARS["host"], "ansible_paramiko_host"),
    "port": (*_SSH_VARS["port"], "ansible_paramiko_port"),
    "user": (*_SSH_VARS["user"], "ansible_paramiko_user"),
    "password": (*_SSH_VARS["password"], "ansible_paramiko_pass", "ansible_paramiko_password"),
    "private_key_file": (*_SSH_VARS["private_key_file"], "ansible_paramiko_private_key_file"),
    "timeout": (*_SSH_VARS["timeout"], "ansible_paramiko_timeout"),
}

# ansible_connection value (Ansible's aliases folded, see plan.variables.connection_type)
# -> transport.
TRANSPORTS: dict[str, TransportKind] = {
    "ssh": TransportKind("ssh", _SSH_VARS, "OpenSSH's configuration and semantics, in paramiko"),
    "paramiko": TransportKind("paramiko", _PARAMIKO_VARS, "the same SSH transport"),
    "local": TransportKind("local", {"host": _SSH_VARS["host"]},
                           "this machine, commands run with /bin/sh"),
}

TransportFactory = Callable[["PlannedHost"], Transport]
