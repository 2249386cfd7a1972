"""ProxyCommand: a local command whose stdin/stdout carry the SSH connection (as in OpenSSH)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile


class ProxyCommandSocket:
    """Runs `sh -c 'exec COMMAND'` on one end of a socket pair; paramiko uses the other end.

    The command's %-tokens were already expanded, each value quoted as one shell
    word (see `target.expand_tokens`), so an inventory value cannot add shell syntax.
    """

    def __init__(self, command: str) -> None:
        self.command = command
        ours, theirs = socket.socketpair()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        try:
            self._proc = subprocess.Popen(["/bin/sh", "-c", f"exec {command}"],
                                          stdin=theirs.fileno(), stdout=theirs.fileno(),
                                          stderr=self._stderr,
                                          start_new_session=True, close_fds=True)
        except OSError:
            ours.close()
            self._stderr.close()
            raise
        finally:
            theirs.close()
        self._sock = ours

    # The socket methods paramiko's Packetizer uses.
    def send(self, data: bytes) -> int:
        """Send bytes to the command's stdin."""
        return self._sock.send(data)

    def recv(self, size: int) -> bytes:
        """Read bytes the command printed."""
        return self._sock.recv(size)

    def settimeout(self, timeout: float | None) -> None:
        """Socket timeout for reads and writes."""
        self._sock.settimeout(timeout)

    def shutdown(self, how: int) -> None:
        """Shut our end down: a reader waiting on it sees the end of the stream."""
        self._sock.shutdown(how)

    def fileno(self) -> int:
        """The socket's descriptor (for select)."""
        return self._sock.fileno()

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self._sock.fileno() < 0

    def stderr_tail(self) -> str:
        """The last line the command wrote to stderr (why it failed, usually)."""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 2048))
            lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1] if lines else ""
        return ""

    def close(self) -> None:
        """Close our end and stop the command (paramiko calls this); safe to call twice."""
        with contextlib.suppress(OSError):
            self._sock.close()
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self._proc.pid, 15)
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(self._proc.pid, 9)
                self._proc.wait()

    def release(self) -> None:
        """`close`, and drop what the command wrote to stderr."""
        self.close()
        with contextlib.suppress(OSError):
            self._stderr.close()
