"""Slow oracle work started at collection, in the background, for the modules that offer it.

A test module may define `ask_ahead(root: Path) -> Callable[[], T]`: it writes its inputs
under `root`, starts its ansible-core oracle (`Oracle.start(..., background=True)`) and
returns what collects the answers into its fixture's value. When the module is collected,
`start` (called once collection is done) runs its ask_ahead, so the oracle's processes compute
on whatever CPU the tests before the module leave idle (they run at the lowest priority
until the answers are asked for); the module's fixture then calls `take`, which falls back to
running ask_ahead there and then (one module run alone, or ask_ahead failing: its error is then
the fixture's, reported on the tests). The answers are the same either way: the same jobs,
the same processes, only started earlier.
"""

from __future__ import annotations

import contextlib
import importlib.util
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
    """`subprocess.Popen(argv, **kwargs)` in a process group of its own; `background`: at
    the lowest priority (until `hurry`), and ended by `finish` if nobody waits for it."""
    nice = ["nice", "-n", "19"] if background and shutil.which("nice") else []
    proc: subprocess.Popen[Any] = subprocess.Popen([*nice, *argv], start_new_session=True,
                                                   **kwargs)
    if background:
        _STOPS.append(lambda: stop(proc))
    return proc


def hurry(proc: subprocess.Popen[Any]) -> None:
    """Give `proc` and every process of its group (children forked since) the suite's own
    priority: it is waited on now (raising a priority needs root, as the lab does)."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PGRP, proc.pid, os.getpriority(os.PRIO_PROCESS, 0))


def stop(proc: subprocess.Popen[Any]) -> None:
    """End `proc` and its process group if still running, and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def start(modules: Iterable[Any], factory: pytest.TempPathFactory) -> None:
    """Run the ask_ahead of each module that has one (at most once each)."""
    if importlib.util.find_spec("ansible") is None:
        return  # the fixtures say so (a skip, or a failure under CI=true)
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
