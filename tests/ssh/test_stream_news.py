"""The event a command's two streams share while it runs (`session._News`), driven by
paramiko's own stream buffers: no news is lost between the reader's looks."""

from __future__ import annotations

import threading
import time

from paramiko.buffered_pipe import BufferedPipe

from fleetcheck.transport.ssh.session import _News


def _streams() -> tuple[_News, BufferedPipe[bytes], BufferedPipe[bytes]]:
    news = _News()
    out: BufferedPipe[bytes] = BufferedPipe()
    err: BufferedPipe[bytes] = BufferedPipe()
    out.set_event(news)
    err.set_event(news)
    return news, out, err


def test_a_stream_read_empty_keeps_the_other_streams_news() -> None:
    """paramiko clears a buffer's event when the buffer is read empty: with one event for
    both streams that would hide data the other stream got meanwhile."""
    news, out, err = _streams()
    assert not news.is_set()  # nothing yet (set_event cleared it)
    news.reset()
    err.feed(b"warning\n")
    out.feed(b"row\n")
    assert out.read(100) == b"row\n"  # stdout read empty: paramiko's clear comes here
    assert news.is_set() and err.read_ready()
    assert err.read(100) == b"warning\n"
    news.reset()
    assert not news.wait(0)  # read up: no news until something comes


def test_data_and_end_of_file_wake_a_waiting_reader() -> None:
    """A reader waiting after its look wakes for data on either stream and for EOF."""
    news, out, err = _streams()
    for arrive in (lambda: err.feed(b"e"), lambda: out.feed(b"o"), out.close):
        news.reset()
        timer = threading.Timer(0.05, arrive)
        timer.start()
        started = time.monotonic()
        assert news.wait(5.0)
        assert time.monotonic() - started < 5.0
        timer.join()
    assert out.read(10) == b"o" and err.read(10) == b"e"
    late = _News()
    out.set_event(late)  # a buffer closed already says so at once
    assert late.is_set()
