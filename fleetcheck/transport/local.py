"""The local transport (`ansible_connection=local`): commands run on this machine via /bin/sh."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import selectors
import signal
import struct
import subprocess
import termios
import time

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT, Answer, CommandResult, PromptWatch
from fleetcheck.transport.inflight import INFLIGHT
from fleetcheck.transport.quote import sh_quote


class LocalTransport:
    """Runs each command in its own process group, with a timeout and an output cap."""

    def __init__(self, shell: str = "/bin/sh") -> None:
        self.shell = shell

    def run(self, command: str, *, timeout: float, stdin: bytes | Answer | None = None,
            max_output: int = DEFAULT_MAX_OUTPUT) -> CommandResult:
        """Run `command` with `sh -c`; HostFailure on timeout or output over `max_output`.

        An `Answer` keeps stdin open until its prompt arrives on stderr (see Transport)."""
        start = time.monotonic()
        if isinstance(stdin, Answer) and stdin.tty:
            return self._on_terminal(command, timeout, stdin, max_output, start)
        try:
            proc = subprocess.Popen(
                [self.shell, "-c", command],
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # so a timeout kills the whole pipeline
            )
        except OSError as exc:
            raise HostFailure(ErrorKind.COMMAND_FAILED,
                              f"cannot start {self.shell}: {exc}") from exc
        running = INFLIGHT.add(lambda: _killpg(proc))  # an interrupt kills its whole group
        try:
            out, err = _drain(proc, stdin, start + timeout, max_output)
        except HostFailure:
            _kill(proc)
            raise
        finally:
            INFLIGHT.discard(running)
            _close_pipes(proc)  # read with os.read: the file objects are never closed else
        if proc.stdin is not None and not proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        code = proc.wait()
        return CommandResult(out, err, code, time.monotonic() - start)

    def close(self) -> None:
        """Nothing to release for local commands."""

    def _on_terminal(self, command: str, timeout: float, answer: Answer, max_output: int,
                     start: float) -> CommandResult:
        """Run `command` in a new session on a pseudo-terminal it controls (su and doas read
        passwords from /dev/tty); everything it prints comes back as stdout."""
        master, slave = os.openpty()
        try:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            # Opening the terminal by name makes it the new session's controlling terminal.
            script = f"exec <>{sh_quote(os.ttyname(slave))} >&0 2>&0; {command}"
            proc = subprocess.Popen([self.shell, "-c", script], stdin=slave, stdout=slave,
                                    stderr=slave, start_new_session=True)
        except OSError as exc:
            os.close(master)
            raise HostFailure(ErrorKind.COMMAND_FAILED,
                              f"cannot start {self.shell} on a terminal: {exc}") from exc
        finally:
            os.close(slave)
        running = INFLIGHT.add(lambda: _killpg(proc))
        try:
            out = _drain_terminal(master, answer, start + timeout, max_output)
        except HostFailure:
            _kill(proc)
            raise
        finally:
            INFLIGHT.discard(running)
            os.close(master)
        code = proc.wait()
        return CommandResult(out, b"", code, time.monotonic() - start)


def _drain_terminal(master: int, answer: Answer, deadline: float, max_output: int) -> bytes:
    """Read the terminal until every process closed it; answer the prompt when it shows."""
    watch = PromptWatch(answer)
    chunks: list[bytes] = []
    total = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HostFailure(ErrorKind.COMMAND_TIMEOUT, "command did not finish in time"
                              f"{watch.timeout_note()}")
        ready, _, _ = select.select([master], [], [], remaining)
        if not ready:
            continue
        try:
            data = os.read(master, 65536)
        except OSError as exc:  # EIO: the last process holding the terminal closed it
            if exc.errno == errno.EIO:
                return b"".join(chunks)
            raise
        if not data:
            return b"".join(chunks)
        total += len(data)
        if total > max_output:
            raise HostFailure(ErrorKind.OUTPUT_TOO_LARGE, f"output exceeded {max_output} bytes")
        chunks.append(data)
        reply = watch.feed(data)
        if reply is not None:
            os.write(master, reply)


def _write_and_close(proc: subprocess.Popen[bytes], data: bytes) -> None:
    """Write `data` to the command's stdin, then EOF; a command that stopped reading is fine."""
    if proc.stdin is not None:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(data)
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()


def _drain(proc: subprocess.Popen[bytes], stdin: bytes | Answer | None, deadline: float,
           max_output: int) -> tuple[bytes, bytes]:
    """Read stdout and stderr until both close, enforcing the deadline and the size cap;
    an Answer is written when its prompt shows on stderr."""
    assert proc.stdout is not None and proc.stderr is not None
    watch = PromptWatch(stdin) if isinstance(stdin, Answer) else None
    if isinstance(stdin, bytes):
        _write_and_close(proc, stdin)
    chunks: dict[int, list[bytes]] = {proc.stdout.fileno(): [], proc.stderr.fileno(): []}
    total = 0
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HostFailure(ErrorKind.COMMAND_TIMEOUT, "command did not finish in time"
                                  f"{watch.timeout_note() if watch else ''}")
            for key, _ in sel.select(timeout=remaining):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                if watch is not None and key.fd == proc.stderr.fileno():
                    answer = watch.feed(data)
                    if answer is not None:
                        _write_and_close(proc, answer)
                total += len(data)
                if total > max_output:
                    raise HostFailure(ErrorKind.OUTPUT_TOO_LARGE,
                                      f"output exceeded {max_output} bytes")
                chunks[key.fd].append(data)
    return b"".join(chunks[proc.stdout.fileno()]), b"".join(chunks[proc.stderr.fileno()])


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    """Close the command's stdout and stderr pipes (ResourceWarnings otherwise)."""
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    """Kill the command's process group (its pipeline and anything it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the command's process group and reap it."""
    _killpg(proc)
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    proc.wait()
