"""A real redis-server for a test: its own temporary directory, a loopback port, no disk."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tests.lab.prereq import require_celery


def free_port() -> int:
    """A TCP port free on this machine's (or this namespace's) loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """redis-server on 127.0.0.1:`port`, started (and stopped) by the test."""

    def __init__(self, wrap: Callable[[list[str]], list[str]] = lambda argv: argv,
                 port: int | None = None) -> None:
        self.wrap = wrap  # e.g. a namespace's exec_argv
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="fcredis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start and wait until it answers."""
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.dir), "--save", "", "--appendonly", "no",
                "--logfile", str(self.dir / "redis.log")]
        self.proc = subprocess.Popen(self.wrap(argv), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"redis-server did not start: "
                                   f"{(self.dir / 'redis.log').read_text(errors='replace')}")
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        out = subprocess.run(self.wrap(["redis-cli", "-p", str(self.port), "ping"]),
                             capture_output=True, text=True, check=False)
        return out.stdout.strip() == "PONG"

    def cli(self, *args: str) -> str:
        """One redis-cli command's output."""
        return subprocess.run(self.wrap(["redis-cli", "-p", str(self.port), *args]),
                              capture_output=True, text=True, check=False).stdout

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def running_redis(wrap: Callable[[list[str]], list[str]] = lambda argv: argv
                  ) -> Iterator[RedisServer]:
    """A started redis-server, stopped on exit."""
    require_celery()
    server = RedisServer(wrap)
    try:
        yield server.start()
    finally:
        server.stop()


__all__: Sequence[str] = ("RedisServer", "free_port", "running_redis")
