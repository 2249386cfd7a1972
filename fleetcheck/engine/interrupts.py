"""Interrupts: SIGTERM and SIGHUP mean what Ctrl-C means, and a worker dies with its parent.

A scheduler stopping a job (SIGTERM), a closed terminal or SSH session (SIGHUP) and
Ctrl-C (SIGINT) all end a run the same way: the runner stops taking hosts, every
running command is stopped (`transport.inflight`), and the reports of what finished
are written, marked incomplete. Outside a run (any command, or a scan loading its
inputs) they end the command as Ctrl-C does: exit 130, no temporary file left behind.
"""

from __future__ import annotations

import contextlib
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

    def disarm(self) -> None:
        """From now on a signal is only noted (the run is over; its reports are written)."""
        self.armed = False


_WINDING_DOWN = threading.Event()  # set once a signal outside a run raised KeyboardInterrupt
RAISED = threading.Event()  # set once any signal here raised KeyboardInterrupt (see launch)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    if not _WINDING_DOWN.is_set():  # a second Ctrl-C must not cut the cleanup of the first
        _WINDING_DOWN.set()
        RAISED.set()
        raise KeyboardInterrupt


def stop_signals_interrupt() -> None:
    """For the whole process: SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt in the main
    thread (the first of them; later ones are ignored while the command winds down), so
    that every command ends through its cleanup (a report's temporary file removed, a
    history transaction rolled back, exit 130) instead of dying where it stands. A signal
    ignored at start stays ignored; a run under way has its own handler (`as_ctrl_c`)."""
    for sig in (signal.SIGINT, *AS_CTRL_C):
        if signal.getsignal(sig) not in (signal.SIG_IGN, None):
            signal.signal(sig, _interrupt)


@contextlib.contextmanager
def as_ctrl_c(*, armed: bool = True) -> Iterator[Caught]:
    """Within this block SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread
    once, while `armed`: the first one disarms it, so a second Ctrl-C (or a SIGTERM after
    it) while the run winds down cannot cut short the reports of what finished. Disarmed
    (the run is over, its reports are being written) they are only recorded. A signal
    ignored on entry (nohup, a background job) stays ignored; outside the main thread
    (where handlers cannot be set) it changes nothing. Not `armed`: a block whose work is
    done whole once begun (a merged run's history entry and reports), signals only noted.
    """
    caught = Caught(armed=armed)
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        caught.names.append(signal.Signals(signum).name)
        if caught.armed:
            caught.name = caught.name or caught.names[-1]
            caught.armed = False  # the run winds down now: once is enough
            RAISED.set()
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
    import ctypes  # here: every command's start loads this module (stop_signals_interrupt)

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
