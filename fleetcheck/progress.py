"""Progress on a terminal (hosts done of total, failures, rate, time left) and -v host logs.

The progress line is drawn on stderr only when it is a terminal and not under
CI; log lines (-v) clear it, print, and let it redraw, so the two never mix.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TextIO

from fleetcheck.model import HostResult
from fleetcheck.redact import Redactor
from fleetcheck.sanitize import one_line
from fleetcheck.words import plural

REDRAW_EVERY = 0.1  # seconds


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Counts finished hosts; draws one status line when `enabled`."""

    def __init__(self, total: int, stream: TextIO, *, enabled: bool,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.done = 0
        self.failed = 0
        self._clock = clock
        self._start = clock()
        self._drawn = 0.0
        self._width = 0
        self._lock = threading.Lock()

    def host_done(self, result: HostResult) -> None:
        """Count one finished host and redraw (at most every REDRAW_EVERY seconds)."""
        with self._lock:
            self.done += 1
            if not result.checked:
                self.failed += 1
            now = self._clock()
            if self.enabled and (now - self._drawn >= REDRAW_EVERY or self.done == self.total):
                self._draw(now)

    def line(self) -> str:
        """The status text: '12/40 hosts · 1 failed · 3.1 hosts/s · 0:09 left'."""
        elapsed = max(self._clock() - self._start, 1e-6)
        rate = self.done / elapsed
        text = f"fleetcheck: {self.done}/{self.total} hosts · {self.failed} failed"
        if self.done:
            text += f" · {rate:.1f} hosts/s"
            if self.done < self.total:
                text += f" · {_clock((self.total - self.done) / rate)} left"
        return text

    def write(self, text: str) -> None:
        """Print one line above the progress line; controls and inner newlines as escapes."""
        line = one_line(text.removesuffix("\n"))
        with self._lock:
            self._clear()
            self.stream.write(line + "\n")
            if self.enabled and self.done:
                self._draw(self._clock())
            self.stream.flush()

    def close(self) -> None:
        """Remove the progress line."""
        with self._lock:
            self._clear()
            self.stream.flush()

    def _draw(self, now: float) -> None:
        text = self.line()
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)
        self._drawn = now

    def _clear(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0


def host_log_line(result: HostResult) -> str:
    """The -v line for one finished host (its outcome; never a secret, never a control)."""
    head = f"fleetcheck: {result.name} ({result.address}): {result.status.value}"
    if result.error is not None:
        line = f"{head}: {result.error.kind}: {result.error.message} [{result.duration:.2f}s]"
    else:
        open_findings = sum(1 for f in result.findings if not f.waived)
        line = (f"{head} · {result.collector} · {plural(len(result.listeners), 'listener')}"
                f" · {plural(open_findings, 'finding')} [{result.duration:.2f}s]")
    return one_line(line)


class ProgressHandler(logging.Handler):
    """A logging handler that prints through a Progress, so log lines and the bar never mix."""

    def __init__(self, progress: Progress, redact: Redactor | None = None) -> None:
        super().__init__()
        self.progress = progress
        self.redact = redact or Redactor()
        self.setFormatter(logging.Formatter("fleetcheck: %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted record: secrets masked, controls escaped (by Progress.write)."""
        try:
            self.progress.write(self.redact.text(self.format(record)))
        except Exception:
            self.handleError(record)
