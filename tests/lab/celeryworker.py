"""Real `fleetcheck worker` processes for a test: started in a namespace, logged to a file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


class WorkerProcess:
    """`python -m fleetcheck worker ARGV` in its own session; its log in `log`."""

    def __init__(self, argv: Sequence[str], *, cwd: Path, log: Path,
                 wrap: Callable[[list[str]], list[str]] = lambda argv: argv,
                 environ: Mapping[str, str] | None = None) -> None:
        self.log = log
        self._terminated = False
        env = {**os.environ, "PYTHONPATH": str(REPO), **(environ or {})}
        with log.open("wb") as out:
            self.proc = subprocess.Popen(wrap([sys.executable, "-m", "fleetcheck", "worker",
                                               *argv]),
                                         cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    @property
    def pid(self) -> int:
        """The worker's main process."""
        return self.proc.pid

    def text(self) -> str:
        """What the worker logged so far."""
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        """Wait until the log shows `text` (AssertionError with the log if it never does)."""
        end = time.monotonic() + timeout
        while text not in self.text():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise AssertionError(f"worker never logged {text!r} (exit {self.proc.poll()}):"
                                     f"\n{self.text()[-3000:]}")
            time.sleep(0.1)

    def ready(self) -> WorkerProcess:
        """Wait until Celery says the worker consumes its queues."""
        self.wait_for(" ready.")
        return self

    def kill9(self) -> None:
        """SIGKILL to the main process only, as when its machine or the OOM killer strikes."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def terminate(self) -> None:
        """SIGTERM to the worker's session (a warm shutdown), once; `stop` waits for it."""
        if self.proc.poll() is None and not self._terminated:
            self._terminated = True
            os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self) -> None:
        """End the worker and every process of its session (pool processes included)."""
        deadline = time.monotonic() + 10
        self.terminate()
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        # A pool process stops its shard on SIGTERM (and so the commands it has running on
        # hosts) and may outlive the main process by a moment: SIGKILL only what is left.
        while _running_in_group(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # orphaned pool processes, if any
        if self.proc.poll() is None:
            self.proc.wait()


def stop_all(workers: Iterable[WorkerProcess]) -> None:
    """Stop several workers: each told first, so that their warm shutdowns overlap."""
    workers = list(workers)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.stop()


def _running_in_group(pgid: int) -> bool:
    """Whether a process of group `pgid` still runs (zombies, which no one here may reap,
    do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_bytes().rpartition(b")")[2].split()  # a comm: any bytes
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            return True
    return False
