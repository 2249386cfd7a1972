"""Real cgroup (v2) directories for the lab: a lab host's own root, containers beneath it."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def cgroup2_root() -> Path | None:
    """Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified
    on a hybrid (v1 controllers) machine; None without one."""
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return Path("/sys/fs/cgroup")
    hybrid = Path("/sys/fs/cgroup/unified")
    return hybrid if (hybrid / "cgroup.procs").exists() else None


def make_cgroup(name: str, parent: Path | None = None) -> Path:
    """A new cgroup directory `name` (a relative path: parents are made too)."""
    base = parent or cgroup2_root()
    if base is None:
        raise RuntimeError("no cgroup v2 hierarchy is mounted")
    path = base / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def move(pid: int, cgroup: Path) -> None:
    """Put process `pid` into `cgroup`."""
    (cgroup / "cgroup.procs").write_text(f"{pid}\n")


def _procs(cgroup: Path) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
    return []


def remove_cgroup(cgroup: Path) -> None:
    """Kill what is left in `cgroup` and below, then remove the directories, deepest first."""
    if not cgroup.exists():
        return
    dirs = sorted((Path(d) for d, _, _ in os.walk(cgroup)), key=lambda p: -len(p.parts))
    for d in dirs:
        for pid in _procs(d):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for d in dirs:
        deadline = time.monotonic() + 5
        while True:
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:  # processes take a moment to leave a cgroup once killed
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
