"""Interrupts: SIGTERM and SIGHUP mean what Ctrl-C means, and a worker dies with its parent.

A scheduler stopping a job (SIGTERM), a closed terminal or SSH session (SIGHUP) and
Ctrl-C (SIGINT) all end a run the same way: the runner stops taking hosts, every
running command is stopped (`transport.inflight`), and the reports of what finished
are written, marked incomplete.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType

AS_CTRL_C = (signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


@dataclass
class Caught:
    """Which signal interrupted the run, if any ('SIGTERM'; 'SIGINT' for Ctrl-C)."""

    name: str | None = None
    names: list[str] = field(default_factory=list)
    armed: bool = True  # False once the run is over: a late signal must not cut the reports


@contextlib.contextmanager
def as_ctrl_c() -> Iterator[Caught]:
    """Within this block SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread
    while `armed`; once disarmed (the run is over, its reports are being written) they are
    only recorded. A signal ignored on entry (nohup, a background job) stays ignored; outside
    the main thread (where handlers cannot be set) it changes nothing.
    """
    caught = Caught()
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        caught.names.append(signal.Signals(signum).name)
        if caught.armed:
            caught.name = caught.name or caught.names[-1]
            raise KeyboardInterrupt

    # A signal ignored when the run began stays ignored: `nohup` ignores SIGHUP so that a
    # run outlives its terminal, and a shell without job control starts a background job
    # (`fleetcheck scan &`) with SIGINT ignored so that Ctrl-C at the prompt spares it.
    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, *AS_CTRL_C)
             if signal.getsignal(sig) != signal.SIG_IGN}
    try:
        yield caught
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
