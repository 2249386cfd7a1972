"""Parsing counts against a host's deadline: a host whose output is read past it is `deadline`.

The probe and its shell are real; `ss` is a stand-in on PATH printing 3,000 listening
rows (a host can print far more). The transport hands the output back only
when the host's deadline is 50 ms away, as a slow host would, so reading it ends past
the deadline however fast the machine is.
"""

from __future__ import annotations

import time
from pathlib import Path

from fleetcheck.engine.check import Job, check_host
from fleetcheck.engine.options import ScanOptions
from fleetcheck.errors import ErrorKind
from fleetcheck.model import HostResult
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT, Answer, CommandResult
from fleetcheck.transport.local import LocalTransport

ROWS = 3_000
SS = ("#!/bin/sh\nawk 'BEGIN { print \"Netid State Recv-Q Send-Q Local Address:Port Peer "
      "Address:Port Process\"; for (i = 0; i < " + str(ROWS) + "; i++) printf \"tcp LISTEN 0 "
      "128 10.%d.%d.1:1923 0.0.0.0:* users:((\\\"spiced\\\",pid=%d,fd=3)) ino:%d sk:1\\n\", "
      "i / 256, i % 256, i + 2, i + 100 }'\n")


class Late(LocalTransport):
    """The local transport with the stand-ins first on PATH, answering only just in time."""

    def __init__(self, directory: Path, answer_at: float | None) -> None:
        super().__init__()
        self.directory = directory
        self.answer_at = answer_at

    def run(self, command: str, *, timeout: float, stdin: bytes | Answer | None = None,
            max_output: int = DEFAULT_MAX_OUTPUT) -> CommandResult:
        """Run `command`, then wait until `answer_at` (monotonic) before returning. The
        command is given a minute whatever the host's deadline leaves it: on a loaded
        machine the probe may take longer than the late host's deadline, and what is
        checked here is output handed back late, not a command's timeout."""
        result = super().run(f"PATH={self.directory}:$PATH; export PATH; {command}",
                             timeout=max(timeout, 60.0), stdin=stdin, max_output=max_output)
        if self.answer_at is not None:
            time.sleep(max(0.0, self.answer_at - time.monotonic()))
        return result


class Connector:
    """Gives each host a `Late` transport that answers 50 ms before its deadline (or at once)."""

    def __init__(self, directory: Path, late: bool) -> None:
        self.directory, self.late = directory, late

    def __call__(self, host: PlannedHost, deadline: float) -> Late:
        return Late(self.directory, deadline - 0.05 if self.late else None)

    def close(self) -> None:
        """Nothing shared."""


# The late host's deadline: the transport holds its answer until just before it, so the
# test lasts that long (and longer where the probe itself runs past it: see Late.run).
LATE_DEADLINE = 1.0


def _check(tmp_path: Path, *, late: bool) -> HostResult:
    """The life of one host (check_host, without the runner's own watchdog around it)."""
    stand_in = tmp_path / "ss"
    stand_in.write_text(SS)
    stand_in.chmod(0o755)
    host = PlannedHost(name="busy", address="localhost", groups=(), policies=(),
                       connection="local")
    deadline = LATE_DEADLINE if late else 6.0
    return check_host(host, Connector(tmp_path, late), Job(ScanOptions(deadline=deadline)))


def test_output_read_past_the_deadline_is_a_deadline_error(tmp_path: Path) -> None:
    result = _check(tmp_path, late=True)
    error = result.error
    assert error is not None and error.kind == ErrorKind.DEADLINE.value, error
    assert "deadline passed while its output was read" in error.message
    assert result.listeners == () and result.status.value == "error"
    stdout = result.commands[0].stdout  # the evidence stays
    assert stdout.count("\ntcp LISTEN") == ROWS


def test_the_same_output_in_time_is_judged(tmp_path: Path) -> None:
    result = _check(tmp_path, late=False)
    assert result.error is None and len(result.listeners) == ROWS
