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
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

_STARTED: dict[str, Callable[[], Any]] = {}
_FAILED: set[str] = set()
_TAKEN: dict[str, Any] = {}
_STOPS: list[Callable[[], None]] = []


def popen(argv: Sequence[str], background: bool, **kwargs: Any) -> subprocess.Popen[Any]:
    """`subprocess.Popen(argv, **kwargs)` in a process group of its own; `background`: in
    the idle scheduling class (it runs only on a CPU nothing else wants, whatever the
    suite's own nice value) until `hurry`, and ended by `finish` if nobody waits for it."""
    idle = ["chrt", "--idle", "0"] if background and shutil.which("chrt") else []
    proc: subprocess.Popen[Any] = subprocess.Popen([*idle, *argv], start_new_session=True,
                                                   **kwargs)
    if background:
        _STOPS.append(lambda: stop(proc))
    return proc


def hurry(proc: subprocess.Popen[Any]) -> None:
    """Give `proc` and every process of its group (the children it forked) the suite's own
    scheduling: it is waited on now. The group leader first, so what it forks from here on
    inherits it."""
    for pid in [proc.pid, *(p for p in _group(proc.pid) if p != proc.pid)]:
        # gone meanwhile, or not ours to change (raising a priority needs root, as the
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


def stop(proc: subprocess.Popen[Any]) -> None:
    """End `proc` and its process group if still running, and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


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
