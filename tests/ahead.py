"""Slow work started at collection, in background processes, for the modules that offer it.

A test module may define `ask_ahead(root: Path) -> Callable[[], T]`: it writes its inputs
under `root`, starts the processes that compute its answers (an ansible-core oracle,
`Oracle.start(..., background=True)`; a large report rendered) with `popen` and returns
what collects those answers into its fixture's value. Once collection is done, `start`
runs the ask_ahead of every collected module, so those processes compute on whatever CPU
the tests before the module leave idle (in the idle scheduling class until their answers
are asked for, `hurry`); the module's fixture then calls `take`, which runs ask_ahead
there and then when it was not started (a module run alone, or ask_ahead failing: its
error is then the fixture's, reported on its tests). The answers are the same either way:
the same jobs in the same processes, only started earlier.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

_STARTED: dict[str, Callable[[], Any]] = {}
_FAILED: set[str] = set()
_TAKEN: dict[str, Any] = {}
_STOPS: list[Callable[[], None]] = []
_QUEUE: queue.SimpleQueue[Job] = queue.SimpleQueue()
_RUNNER: threading.Thread | None = None


class Job:
    """A process to run: started at once, or (`background`) queued behind the other
    background jobs and run in the idle scheduling class, so it computes only on a CPU
    nothing else wants whatever the suite's own nice value, one job at a time (each more
    process alive slows every probe that lists the machine's processes). `wait` starts a
    queued job at once and gives a started one the suite's own scheduling."""

    def __init__(self, argv: Sequence[str], stdin: Path | None, stdout: Path, stderr: Path,
                 **kwargs: Any) -> None:
        self.argv, self.kwargs = list(argv), kwargs
        self.files = (stdin, stdout, stderr)
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopped = False
        self._lock = threading.Lock()

    def launch(self, idle: bool) -> subprocess.Popen[bytes] | None:
        """Start the process unless started or stopped (idle: in the idle class)."""
        with self._lock:
            if self.proc is None and not self.stopped:
                stdin, stdout, stderr = self.files
                chrt = ["chrt", "--idle", "0"] if idle and shutil.which("chrt") else []
                with open(stdin or os.devnull, "rb") as given, open(stdout, "wb") as out, \
                        open(stderr, "ab") as err:
                    self.proc = subprocess.Popen([*chrt, *self.argv], stdin=given, stdout=out,
                                                 stderr=err, start_new_session=True,
                                                 **self.kwargs)
            return self.proc

    def wait(self, timeout: float) -> int:
        """The exit code, the process started now if it was still queued (then stopped)."""
        proc = self.launch(idle=False)
        assert proc is not None, "stopped before it was waited on"
        _hurry(proc.pid)
        try:
            return proc.wait(timeout=timeout)
        finally:
            self.stop()

    def stop(self) -> None:
        """End the process and its group if still running and reap it (or never start)."""
        with self._lock:
            self.stopped = True
            proc = self.proc
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run(argv: Sequence[str], background: bool, stdin: Path | None, stdout: Path,
        stderr: Path, **kwargs: Any) -> Job:
    """`argv` as a Job in a process group of its own, its stdin read from and its stdout
    and stderr written to those files (stderr appended to: it may be stdout's file)."""
    global _RUNNER  # noqa: PLW0603 - one thread for the session, started on demand
    job = Job(argv, stdin, stdout, stderr, **kwargs)
    if not background:
        job.launch(idle=False)
        return job
    _STOPS.append(job.stop)
    _QUEUE.put(job)
    if _RUNNER is None:
        _RUNNER = threading.Thread(target=_run_queue, name="ahead", daemon=True)
        _RUNNER.start()
    return job


def _run_queue() -> None:
    """Run the queued background jobs one after another, each to its end."""
    while True:
        job = _QUEUE.get()
        proc = job.launch(idle=True)
        if proc is not None:
            proc.wait()


def _hurry(pgid: int) -> None:
    """Give the process group `pgid` the suite's own scheduling, its leader first (what it
    forks from here on inherits it)."""
    for pid in [pgid, *(p for p in _group(pgid) if p != pgid)]:
        # gone meanwhile, or not ours to change (leaving the idle class needs root, as the
        # lab does): it still runs, only on idle CPU
        with contextlib.suppress(OSError):
            os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))


def _group(pgid: int) -> list[int]:
    """The processes of process group `pgid` (from /proc; none where it cannot be read)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # the fields after the command name (which may hold spaces and parentheses)
            fields = stat.read_bytes().rsplit(b")", 1)[1].split()
            if int(fields[2]) == pgid:
                pids.append(int(stat.parent.name))
    return pids


def start(modules: Iterable[Any], factory: pytest.TempPathFactory) -> None:
    """Run the ask_ahead of each module that has one (at most once each)."""
    for module in modules:
        ahead = getattr(module, "ask_ahead", None)
        name = getattr(module, "__name__", "")
        if ahead is None or name in _STARTED or name in _FAILED:
            continue
        try:
            _STARTED[name] = ahead(factory.mktemp(f"ahead-{name.rsplit('.', 1)[-1]}"))
        except Exception:  # the fixture runs it again, and its error is reported there
            _FAILED.add(name)


def finish() -> None:
    """End what was started in the background and never collected (a session cut short)."""
    while _STOPS:
        _STOPS.pop()()


def take(name: str, factory: pytest.TempPathFactory,
         ahead: Callable[[Path], Callable[[], Any]]) -> Any:
    """The answers of module `name`'s ask_ahead: the ones started at collection, else fresh."""
    if name not in _TAKEN:  # kept: a module's fixtures may share one ask_ahead
        collect = _STARTED.pop(name, None)
        if collect is None:
            collect = ahead(factory.mktemp(f"ahead-{name.rsplit('.', 1)[-1]}"))
        _TAKEN[name] = collect()
    return _TAKEN[name]
