"""A become run's watchdog: stopped when the probe ends, on every path the probe can end by."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from fleetcheck.collect import posix_sh, watched
from fleetcheck.collect.probe import build_probe


def _group(pgid: int) -> list[int]:
    """Live processes of process group `pgid` but a `sleep` (zombies excluded): the
    watchdog's last one-second sleep may outlive it, harmlessly; the loop may not."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # bytes: any process of the machine may be named in bytes that are no UTF-8
            # (the lab's holders are, while other tests run)
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            comm = (entry / "comm").read_bytes().strip() if fields[0] != b"Z" else b""
        except OSError:  # gone meanwhile
            continue
        if comm not in (b"", b"sleep") and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("tool", [None, "proc", "nosuchtool"])
def test_the_watchdog_is_gone_when_the_probe_ends(tool: str | None) -> None:
    """Whether a listing ran or no tool worked, nothing of the probe outlives it."""
    script = build_probe("abc123", tool=tool, os="linux")
    proc = subprocess.Popen(posix_sh(watched(script, watchdog=True)),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    out, _ = proc.communicate(timeout=60)
    assert b"@@fleetcheck:abc123 os Linux" in out
    time.sleep(0.3)  # a watchdog left behind would still be in its one-second sleep
    left = _group(proc.pid)
    for pid in left:
        os.kill(pid, 9)
    assert left == []
