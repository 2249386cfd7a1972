"""The environment a command runs in, injected so the whole CLI can run in-process in tests."""

from __future__ import annotations

import codecs
import errno
import io
import os
import sys
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TextIO

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen, replace
from fleetcheck.sanitize import printable

# The standard descriptors (0, 1, 2) that were closed when fleetcheck started (`<&-`,
# `>&-`, `2>&-`); filled by `closed_at_start`.
_CLOSED_AT_START: set[int] = set()
# The working directory of a process whose own was removed (or cannot be read): the
# kernel's link to it, under which nothing can be found or made.
LOST_CWD = Path("/proc/self/cwd")


def _json_escapes(exc: UnicodeError) -> tuple[str, int]:
    """What an encoding cannot hold, written as JSON writes it: `\\u00e9`, a UTF-16 pair
    above U+FFFF. Python's own `\\xe9` and `\\U0001f525` are no JSON: a JSON document
    printed to an ASCII stdout (PYTHONIOENCODING=ascii) must stay one, with the same data."""
    assert isinstance(exc, UnicodeEncodeError)
    out = []
    for char in exc.object[exc.start:exc.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), exc.end


JSON_ESCAPES = "fleetcheck.json-escapes"
codecs.register_error(JSON_ESCAPES, _json_escapes)


def closed_at_start(fds: frozenset[int]) -> None:
    """Record the standard descriptors that were closed when fleetcheck started (now on
    /dev/null, see `launch.claim_standard_fds`): their streams say they could not be
    written, as a full disk's do."""
    _CLOSED_AT_START.update(fds)


def _standard(fd: int) -> TextIO:
    """sys.stdin/stdout/stderr, or one that says it could not be written when the
    descriptor was closed at the start."""
    stream: TextIO | None = (sys.stdin, sys.stdout, sys.stderr)[fd]
    if stream is None:  # in-process use with a stream set to None
        stream = io.StringIO()
    if fd and fd in _CLOSED_AT_START:
        closed = GuardedStream(stream)
        closed.error = OSError(errno.EBADF, os.strerror(errno.EBADF))
        return closed  # type: ignore[return-value]
    return stream


def working_directory() -> Path:
    """The working directory, or LOST_CWD when it was removed or cannot be read."""
    try:
        return Path.cwd()
    except OSError:
        return LOST_CWD


@frozen(slots=False)
class Env:
    """Streams, variables and the working directory of one CLI invocation."""

    stdout: TextIO = field(default_factory=lambda: _standard(1))
    stderr: TextIO = field(default_factory=lambda: _standard(2))
    stdin: TextIO = field(default_factory=lambda: _standard(0))
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=working_directory)

    @property
    def stdout_isatty(self) -> bool:
        """True when stdout is an interactive terminal."""
        isatty = getattr(self.stdout, "isatty", None)
        return bool(isatty and isatty())

    @property
    def stderr_isatty(self) -> bool:
        """True when stderr is an interactive terminal."""
        isatty = getattr(self.stderr, "isatty", None)
        return bool(isatty and isatty())

    @property
    def color(self) -> bool:
        """Colour only on a terminal, never under NO_COLOR (set and not empty, as no-color.org
        says) or TERM=dumb."""
        return (self.stdout_isatty and not self.environ.get("NO_COLOR")
                and self.environ.get("TERM") != "dumb")

    @property
    def in_ci(self) -> bool:
        """True under a CI system (CI=true), where progress displays stay off."""
        return self.environ.get("CI", "").lower() in ("1", "true", "yes")

    def path(self, value: str) -> Path:
        """A user-given path, relative to this invocation's working directory (InputError
        for a relative one when that directory was removed)."""
        p = Path(os.path.expanduser(value))  # '~nosuchuser' stays as written, as in a shell
        if p.is_absolute():
            return p
        if self.cwd == LOST_CWD:
            raise InputError(f"{value}: a relative path, but the working directory no longer "
                             "exists (it was removed, or cannot be read)")
        return self.cwd / p


class GuardedStream:
    """A text stream whose write errors are recorded instead of raised.

    A closed pipe (`fleetcheck scan | head`), a full disk or a vanished terminal must
    not turn a run's verdict into a traceback or a different exit code: the command
    asks `failed` afterwards and decides (see `cli.output.final_status`). After the
    first error nothing more is written; where the stream is a real file descriptor it
    is pointed at /dev/null, so the interpreter's own flush at exit cannot fail again.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.error: OSError | None = None
        self.told = False  # the error was named on stderr (once per command)

    @property
    def failed(self) -> bool:
        """True once a write or flush failed."""
        return self.error is not None

    def write(self, text: str) -> int:
        """Write `text` (nothing once failed); always reports it all as written."""
        if self.error is None:
            try:
                self._stream.write(text)
            except UnicodeEncodeError:  # PYTHONIOENCODING=ascii, a C locale's console
                self._write_escaped(text)
            except OSError as exc:
                self._fail(exc)
        return len(text)

    def _write_escaped(self, text: str) -> None:
        """Write `text` with what the stream's encoding cannot hold as `\\u00b7` escapes."""
        encoding = getattr(self._stream, "encoding", None) or "ascii"
        try:
            self._stream.write(text.encode(encoding, JSON_ESCAPES).decode(encoding))
        except (OSError, UnicodeError) as exc:  # an encoding that cannot even hold escapes
            self._fail(exc if isinstance(exc, OSError) else OSError(errno.EILSEQ, str(exc)))

    def write_utf8(self, text: str) -> None:
        """Write `text` as UTF-8 bytes whatever the stream's encoding (nothing once failed);
        a stream with no bytes beneath it (in-process tests) takes the text."""
        buffer = getattr(self._stream, "buffer", None)
        if buffer is None or _is_utf8(getattr(self._stream, "encoding", None)):
            self.write(text)
            return
        if self.error is None:
            try:
                self._stream.flush()  # what the text layer holds goes first
                # "replace" touches only lone surrogates, which no report text holds
                buffer.write(text.encode("utf-8", "replace"))
                buffer.flush()
            except OSError as exc:
                self._fail(exc)

    def flush(self) -> None:
        """Flush, recording a failure."""
        if self.error is None:
            try:
                self._stream.flush()
            except OSError as exc:
                self._fail(exc)

    def isatty(self) -> bool:
        """Whether the stream is a terminal."""
        isatty = getattr(self._stream, "isatty", None)
        return bool(isatty and isatty())

    def fileno(self) -> int:
        """The underlying descriptor (OSError/ValueError when there is none)."""
        return self._stream.fileno()

    def _fail(self, exc: OSError) -> None:
        self.error = exc
        try:
            fd = self._stream.fileno()
        except (OSError, ValueError, AttributeError):
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)


def _is_utf8(encoding: str | None) -> bool:
    try:
        return encoding is not None and codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def write_data(env: Env, text: str) -> None:
    """Write a data document (JSON, CSV, XML, a host list) to stdout: on a terminal as
    `printable` text in the terminal's encoding; on a pipe or into a file as the UTF-8
    bytes a report file holds, whatever the locale says.

    JSON and XML are UTF-8 by their specifications and say so; a script reading
    `fleetcheck ... | jq` must get the same bytes under LANG=de_DE.ISO-8859-1 or
    PYTHONIOENCODING=ascii as anywhere else.
    """
    if env.stdout_isatty:
        env.stdout.write(printable(text))
    elif isinstance(env.stdout, GuardedStream):
        env.stdout.write_utf8(text)
    else:
        env.stdout.write(text)


def guarded(env: Env) -> Env:
    """`env` with stdout and stderr guarded (see GuardedStream); idempotent."""
    def wrap(stream: TextIO) -> TextIO:
        return stream if isinstance(stream, GuardedStream) else GuardedStream(stream)  # type: ignore[return-value]

    return replace(env, stdout=wrap(env.stdout), stderr=wrap(env.stderr))


def stream_failed(stream: object) -> OSError | None:
    """The error a guarded stream met, None if none (or not guarded)."""
    return stream.error if isinstance(stream, GuardedStream) else None


def tell_lost_stdout(env: Env) -> bool:
    """Whether standard output was lost (a full disk, a closed descriptor; not a reader
    that went away, as `| head` does); the first time, say so on stderr."""
    stream = env.stdout
    stream.flush()
    error = stream_failed(stream)
    if error is None or isinstance(error, BrokenPipeError):
        return False
    assert isinstance(stream, GuardedStream)  # only a guarded stream records an error
    if not stream.told:
        stream.told = True
        env.stderr.write(f"fleetcheck: error: standard output: {error.strerror or error}\n")
    return True
