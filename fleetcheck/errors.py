"""Errors: bad input (exit 2, before any host is contacted) and per-host failures (data)."""

from __future__ import annotations

import enum
import errno
from typing import TYPE_CHECKING

from fleetcheck.model.enums import quick_value

if TYPE_CHECKING:
    from fleetcheck.model import TrustedKey


class ExitStatus(enum.IntEnum):
    """The process exit codes users script against (README.md, "Exit codes")."""

    OK = 0  # every host checked and compliant
    VIOLATIONS = 1  # violations at or above --fail-on
    BAD_INPUT = 2  # bad usage or input; nothing scanned
    INCOMPLETE = 3  # no violations, but some hosts could not be checked
    REPORTS_FAILED = 4  # the verdict was clean, but its reports could not be written
    INTERNAL = 70  # a bug in fleetcheck (sysexits' EX_SOFTWARE): no verdict was reached
    INTERRUPTED = 130  # Ctrl-C before anything could be written


# What each exit code means, in the words of the README's table (the man page prints these).
EXIT_MEANINGS: dict[ExitStatus, str] = {
    ExitStatus.OK: "every host checked and compliant",
    ExitStatus.VIOLATIONS: "violations at or above --fail-on",
    ExitStatus.BAD_INPUT: "bad usage or bad input (inventory, policy, waiver, configuration); "
                          "nothing scanned",
    ExitStatus.INCOMPLETE: "no violations, but some hosts could not be checked",
    ExitStatus.REPORTS_FAILED: "the verdict was clean, but a report could not be written "
                               "(named on stderr)",
    ExitStatus.INTERNAL: "internal error: a bug in fleetcheck, no verdict was reached",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C) before a verdict was reached; a scan "
                            "interrupted while checking hosts writes its reports and exits "
                            "with its verdict (3, or 1)",
}


class InputError(Exception):
    """A problem in a file or argument the user gave; rendered as one `file:line:col: msg` line."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return f"{where}{self.message}"


@quick_value
class ErrorKind(enum.StrEnum):
    """Why a host could not be checked. Each kind shows in every report as itself."""

    NAME_RESOLUTION = "name_resolution"
    CONNECTION_REFUSED = "connection_refused"
    NO_ROUTE = "no_route"
    CONNECT_TIMEOUT = "connect_timeout"
    BANNER_TIMEOUT = "banner_timeout"
    HANDSHAKE_TIMEOUT = "handshake_timeout"  # banner seen, key exchange never finished
    AUTH_TIMEOUT = "auth_timeout"
    COMMAND_TIMEOUT = "command_timeout"
    DEADLINE = "deadline"
    AUTH_FAILED = "auth_failed"
    HOST_KEY_UNKNOWN = "host_key_unknown"
    HOST_KEY_CHANGED = "host_key_changed"
    HOST_KEY_REVOKED = "host_key_revoked"
    SSH_ERROR = "ssh_error"
    BECOME_FAILED = "become_failed"
    NO_TOOL = "no_tool"
    COMMAND_FAILED = "command_failed"
    OUTPUT_TOO_LARGE = "output_too_large"
    PARSE_ERROR = "parse_error"
    # A tool listed some of the protocols or families and failed on the others, and no
    # other tool covered them: what was read is not the whole host (collect/coverage.py).
    INCOMPLETE_COLLECTION = "incomplete_collection"
    UNSUPPORTED = "unsupported"
    # ansible_connection names a plugin fleetcheck cannot use (winrm, docker, ...): never
    # silently reached over SSH instead.
    UNSUPPORTED_CONNECTION = "unsupported_connection"
    INVENTORY = "inventory"
    INTERNAL = "internal"
    INTERRUPTED = "interrupted"
    NOT_RUN = "not_run"
    INPUT_MISMATCH = "input_mismatch"  # a worker's inputs differ from the coordinator's
    # This machine ran out of threads, open files or memory while checking the host (a low
    # `ulimit -n`/`-v`, a cgroup's pids.max): the host is unchecked, not fleetcheck broken.
    LOCAL_RESOURCES = "local_resources"


# Kinds that mean "we never got to talk to the host" -> status `unreachable`;
# every other kind is status `error`.
UNREACHABLE_KINDS = frozenset({
    ErrorKind.NAME_RESOLUTION,
    ErrorKind.CONNECTION_REFUSED,
    ErrorKind.NO_ROUTE,
    ErrorKind.CONNECT_TIMEOUT,
    ErrorKind.BANNER_TIMEOUT,
    ErrorKind.HANDSHAKE_TIMEOUT,
})


def exhausted(exc: BaseException) -> str | None:
    """Which of this machine's resources `exc` (or an exception it was raised from) says
    ran out: "threads", "open files" or "memory"; None for any other failure."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, MemoryError):
            return "memory"
        if isinstance(cause, RuntimeError) and "can't start new thread" in str(cause):
            return "threads"
        if isinstance(cause, OSError) and cause.errno in (errno.EMFILE, errno.ENFILE):
            return "open files"
        if isinstance(cause, OSError) and cause.errno == errno.ENOMEM:
            return "memory"
        if isinstance(cause, ImportError) and "failed to map segment" in str(cause):
            return "memory"  # a library loaded on first use, past `ulimit -v`
        cause = cause.__cause__ or cause.__context__
    return None


class HostFailure(Exception):
    """Raised inside per-host work; the runner turns it into that host's error, not a crash."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        # Host keys trusted on first use before the failure: evidence all the same.
        self.trusted_keys: tuple[TrustedKey, ...] = ()
