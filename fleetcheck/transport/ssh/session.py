"""One open SSH connection to a host: run a command in one exec, read stdout and stderr apart."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from fleetcheck.sshlib import paramiko

from paramiko.common import cMSG_CHANNEL_REQUEST

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.model import TrustedKey
from fleetcheck.transport.alarms import arm
from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT, Answer, CommandResult, PromptWatch
from fleetcheck.transport.inflight import INFLIGHT

_CHUNK = 1 << 16
_WATCHDOG_GRACE = 0.25  # seconds: the reading loop's own timeout comes first, and says more


class SshSession:
    """An authenticated connection (implements the Transport contract)."""

    def __init__(self, transport: paramiko.Transport, where: str,
                 cleanup: Callable[[], None] | None = None,
                 trusted_keys: tuple[TrustedKey, ...] = ()) -> None:
        self._t = transport
        self.where = where
        self._cleanup = cleanup
        self.trusted_keys = trusted_keys  # host keys trusted on first use to open it

    def run(self, command: str, *, timeout: float, stdin: bytes | Answer | None = None,
            max_output: int = DEFAULT_MAX_OUTPUT) -> CommandResult:
        """Exec `command` on one channel; HostFailure on timeout or output over `max_output`.

        An `Answer` keeps stdin open until its prompt arrives on stderr (see Transport)."""
        start = time.monotonic()
        deadline = start + timeout
        try:
            chan = self._t.open_session(timeout=max(0.1, timeout))
        except paramiko.ChannelException as exc:  # the server said no
            # OpenSSH answers 'connect failed' when its MaxSessions allows no (further)
            # session on a connection: name the setting, not paramiko's exception.
            why = exc.text or f"code {exc.code}"
            more = " (sshd's MaxSessions allows none?)" if exc.code == 2 else ""
            raise HostFailure(ErrorKind.COMMAND_FAILED, f"{self.where} refused a session "
                              f"channel: {why}{more}") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if "timeout" in str(exc).lower():  # unanswered: a stalled link or server
                raise HostFailure(ErrorKind.COMMAND_TIMEOUT, f"{self.where} opened no session "
                                  f"channel within {timeout:.1f}s") from None
            if not self._t.is_active():  # nothing was refused: the connection is gone
                raise HostFailure(ErrorKind.COMMAND_FAILED, f"the connection to {self.where} "
                                  f"was lost before the command ran: {exc}") from None
            raise HostFailure(ErrorKind.COMMAND_FAILED,
                              f"{self.where} refused a session channel: {exc}") from None
        running = INFLIGHT.add(lambda: _kill(chan))  # an interrupt stops it on the host too
        # paramiko waits without limit for the answer to exec and pty requests and for window
        # to send stdin: a server that never answers or never opens its window would hold
        # the host past every timeout. Closing the channel at the deadline wakes those waits.
        watchdog = arm(deadline - time.monotonic() + _WATCHDOG_GRACE, lambda: _kill(chan))
        started, watch = False, None
        try:
            if isinstance(stdin, Answer) and stdin.tty:
                # A terminal for the method that reads its password from one (su, doas):
                # stdout and stderr then arrive merged as stdout, where the prompt shows.
                _terminal(chan, self.where, lambda: watchdog.fired or not self._t.is_active())
            chan.exec_command(command)
            started = True
            watch = PromptWatch(stdin) if isinstance(stdin, Answer) else None
            if not isinstance(stdin, Answer):
                if stdin:
                    _send(chan, stdin)
                chan.shutdown_write()  # EOF: nothing the command reads can block on us
            out, err = _drain(chan, deadline, max_output, timeout, watch)
            remaining = deadline - time.monotonic()
            if not chan.status_event.wait(max(0.0, remaining)) or watchdog.fired:
                _kill(chan)
                raise _timed_out(timeout, started, watch, "finish" if watchdog.fired else "exit")
            status = chan.recv_exit_status()
            if status < 0 and not self._t.is_active():
                # The connection died (a reset, a peer gone) before the command's exit status
                # came: what was read is a fragment, whatever the become method makes of it.
                lost = self._t.get_exception()
                raise HostFailure(ErrorKind.COMMAND_FAILED,
                                  f"the connection to {self.where} was lost while the command "
                                  f"ran{': ' + str(lost) if lost else ''}")
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if watchdog.fired:
                raise _timed_out(timeout, started, watch, "finish") from None
            if not started:  # the exec (or pty) request was refused, or the channel closed
                raise HostFailure(ErrorKind.COMMAND_FAILED, f"{self.where} did not run the "
                                  f"command: {exc}") from None
            raise HostFailure(ErrorKind.COMMAND_FAILED,
                              f"the connection to {self.where} failed while the command "
                              f"ran: {exc}") from None
        finally:
            watchdog.cancel()
            INFLIGHT.discard(running)
            with contextlib.suppress(Exception):  # a connection already lost: nothing to close
                chan.close()
        return CommandResult(out, err, status if status >= 0 else None,
                             time.monotonic() - start)

    def close(self) -> None:
        """Close the connection (and its proxy, if any); safe to call twice."""
        with contextlib.suppress(Exception):
            self._t.close()
        if self._cleanup is not None:
            cleanup, self._cleanup = self._cleanup, None
            with contextlib.suppress(Exception):
                cleanup()


def _send(chan: paramiko.Channel, data: bytes) -> None:
    """Write `data` to the command's stdin. A command that ended without reading it (a
    Windows shell refusing `sh`, a forced command) has closed the channel: what it printed
    and its exit status say what happened, so that is no failure of the connection."""
    try:
        chan.sendall(data)
    except OSError:
        if not chan.closed:
            raise


def _terminal(chan: paramiko.Channel, where: str, closed: Callable[[], bool]) -> None:
    """Ask for the terminal a become method needs; HostFailure naming what refuses one
    (`closed`: whether the channel was closed by us or the connection lost meanwhile)."""
    try:
        chan.get_pty(term="dumb", width=80, height=24)  # as ss sizes a pipe
    except paramiko.SSHException:
        if closed():
            raise  # the deadline's watchdog, or a lost connection: not a refusal
        # paramiko closes the channel on the refusal and says only 'Channel closed.'
        raise HostFailure(ErrorKind.COMMAND_FAILED, f"{where} refused a terminal (pty), which "
                          "the become method needs (su, doas with a password, sudo's "
                          "requiretty): the key's authorized_keys options (no-pty, restrict) "
                          "or sshd's PermitTTY no") from None


def _timed_out(timeout: float, started: bool, watch: PromptWatch | None,
               verb: str) -> HostFailure:
    """The COMMAND_TIMEOUT of a command that did not `verb` in time (or never started)."""
    if not started:
        return HostFailure(ErrorKind.COMMAND_TIMEOUT, f"the host did not start the command "
                                                      f"within {timeout:.1f}s")
    return HostFailure(ErrorKind.COMMAND_TIMEOUT, f"command did not {verb} within "
                       f"{timeout:.1f}s{watch.timeout_note() if watch else ''}")


def _drain(chan: paramiko.Channel, deadline: float, max_output: int,
           timeout: float, watch: PromptWatch | None = None) -> tuple[bytes, bytes]:
    """Read both streams until EOF, enforcing the deadline and the size cap while reading;
    answer `watch`'s prompt (then EOF) when it shows on stderr."""
    out: list[bytes] = []
    err: list[bytes] = []
    total = 0
    news = _News()
    chan.in_buffer.set_event(news)  # stdout's data and EOF
    chan.in_stderr_buffer.set_event(news)  # stderr's
    while True:
        news.reset()  # before looking: what comes after wakes the wait below
        before_out, before_err = len(out), len(err)
        got = _take(chan.recv_ready, chan.recv, out)
        got_err = _take(chan.recv_stderr_ready, chan.recv_stderr, err)
        if watch is not None:
            tty = watch.tty
            fresh = out[before_out:] if tty else err[before_err:]
            answer = watch.feed(b"".join(fresh)) if fresh else None
            if answer is not None:
                _answer(chan, answer, eof=not tty)
        got += got_err
        total += got
        if total > max_output:
            _kill(chan)
            raise HostFailure(ErrorKind.OUTPUT_TOO_LARGE,
                              f"output exceeded {max_output} bytes; stopped reading")
        if got and time.monotonic() < deadline:  # a steady trickle must not outlast it
            continue
        if not got and (chan.eof_received or chan.closed):
            return b"".join(out), b"".join(err)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _kill(chan)
            raise HostFailure(ErrorKind.COMMAND_TIMEOUT,
                              f"command did not finish within {timeout:.1f}s"
                              f"{watch.timeout_note() if watch else ''}")
        news.wait(min(remaining, 1.0))


class _News(threading.Event):
    """The event paramiko's stream buffers set when data or EOF arrives, one for both.

    paramiko also clears a buffer's event when that buffer is read empty, which would drop
    the other stream's news in between: only the reader clears this one (`reset`), before
    it looks at both buffers. (The channel's `fileno` does the same through an OS pipe and
    needs a selector: a pipe, an epoll descriptor and a write and a read a wake-up.)"""

    def clear(self) -> None:
        """A buffer was read empty (paramiko's call): ignored, see the class."""

    def reset(self) -> None:
        """The reader is about to look at both buffers: news from now on counts."""
        super().clear()


def _answer(chan: paramiko.Channel, answer: bytes, *, eof: bool = True) -> None:
    """Write the answer, then EOF (not on a terminal, where EOF means nothing to the command
    and ^D would be typed input); a command that already stopped reading is no error."""
    with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
        chan.sendall(answer)
        if eof:
            chan.shutdown_write()


def _take(ready: Callable[[], bool], recv: Callable[[int], bytes], sink: list[bytes]) -> int:
    """Move what one stream has buffered into `sink`; the number of bytes moved."""
    moved = 0
    while ready():
        data = recv(_CHUNK)
        if not data:
            break
        sink.append(data)
        moved += len(data)
    return moved


def _kill(chan: paramiko.Channel) -> None:
    """Ask sshd to KILL the command (RFC 4254 'signal'), then close the channel.

    Closing alone leaves a command that prints nothing (say, a hung tool) running
    on the host; OpenSSH 7.9+ honours the signal request. In the middle of a key
    re-exchange any message would wait for its end (paramiko allows 30 s): a host that
    started one and went quiet has its whole connection closed instead.
    """
    t = chan.transport
    if t is not None and not t.clear_to_send.is_set():
        with contextlib.suppress(Exception):
            t.close()
        return
    with contextlib.suppress(Exception):
        m = paramiko.Message()
        m.add_byte(cMSG_CHANNEL_REQUEST)
        m.add_int(chan.remote_chanid)
        m.add_string("signal")
        m.add_boolean(False)
        m.add_string("KILL")
        chan.transport._send_user_message(m)  # type: ignore[union-attr]
    with contextlib.suppress(Exception):
        chan.close()
