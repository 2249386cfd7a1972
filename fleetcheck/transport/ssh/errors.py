"""Turning socket and paramiko exceptions into per-host failure kinds (and which to retry)."""

from __future__ import annotations

import errno
import socket

from fleetcheck.errors import ErrorKind, HostFailure

# Errors of the network path itself that a second attempt may well not meet
# (a dropped SYN queue, sshd's MaxStartups shedding, ephemeral ports running out).
TRANSIENT_ERRNOS = frozenset({errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.EAGAIN,
                              errno.ENOBUFS, errno.EADDRNOTAVAIL, errno.EINTR})
_NO_ROUTE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN})


class RetryableFailure(HostFailure):
    """A failure on the network path that a new attempt may not meet."""


def resolution_failure(exc: socket.gaierror, host: str) -> HostFailure:
    """getaddrinfo failed: temporary failures may be retried, 'no such name' may not."""
    message = f"cannot resolve {host!r}: {exc.strerror or exc}"
    if exc.errno == socket.EAI_AGAIN:
        return RetryableFailure(ErrorKind.NAME_RESOLUTION, message)
    return HostFailure(ErrorKind.NAME_RESOLUTION, message)


def connect_failure(exc: OSError, where: str, timeout: float) -> HostFailure:
    """A TCP connect that failed: refused, timed out, no route, or transient."""
    if isinstance(exc, ConnectionRefusedError):
        return HostFailure(ErrorKind.CONNECTION_REFUSED, f"connection refused by {where}")
    if exc.errno == errno.ENOPROTOOPT:  # ICMP protocol unreachable: the host speaks no TCP
        return HostFailure(ErrorKind.CONNECTION_REFUSED,
                           f"connection refused by {where}: {exc.strerror} (ICMP protocol "
                           "unreachable)")
    if isinstance(exc, TimeoutError | socket.timeout):
        return HostFailure(ErrorKind.CONNECT_TIMEOUT,
                           f"no TCP connection to {where} within {timeout:.1f}s")
    if exc.errno in _NO_ROUTE:
        return HostFailure(ErrorKind.NO_ROUTE, f"{where}: {exc.strerror}")
    if exc.errno in TRANSIENT_ERRNOS:
        return RetryableFailure(ErrorKind.SSH_ERROR, f"{where}: {exc.strerror}")
    return HostFailure(ErrorKind.SSH_ERROR, f"cannot connect to {where}: {exc}")


def handshake_failure(exc: BaseException | None, where: str, got_banner: bool,
                      timeout: float) -> HostFailure:
    """The SSH banner or key exchange failed or did not finish in time."""
    text = str(exc) if exc is not None else ""
    if exc is None or "timed out" in text.lower() or isinstance(exc, TimeoutError):
        if not got_banner:
            return HostFailure(ErrorKind.BANNER_TIMEOUT,
                               f"{where} accepted TCP but sent no SSH banner within "
                               f"{timeout:.1f}s")
        return HostFailure(ErrorKind.HANDSHAKE_TIMEOUT,
                           f"SSH key exchange with {where} did not finish within {timeout:.1f}s")
    if _closed(exc) or _is_transient_text(text):
        # sshd drops connections beyond MaxStartups exactly like this (a reset, or its
        # 'Exceeded MaxStartups' line and a close before any banner): worth one more try
        when = "during the SSH handshake" if got_banner else \
            "before its SSH banner (as sshd does past its MaxStartups)"
        return RetryableFailure(ErrorKind.SSH_ERROR, f"{where} closed the connection {when}"
                                                     f"{': ' + text if text else ''}")
    if "banner" in text.lower():
        return HostFailure(ErrorKind.SSH_ERROR, f"{where} did not speak SSH: {text}")
    if "no acceptable host key" in text:  # in ssh's words, as HostKeyAlgorithms can cause it
        return HostFailure(ErrorKind.SSH_ERROR, f"no matching host key type found with {where}: "
                                                "it offers none of the host key algorithms "
                                                "asked for (HostKeyAlgorithms)")
    return HostFailure(ErrorKind.SSH_ERROR, f"SSH handshake with {where} failed: {text}")


def _closed(exc: BaseException) -> bool:
    """Whether `exc` is, or was raised while handling, the peer closing the connection
    (paramiko words an EOF before the banner as 'Error reading SSH protocol banner')."""
    seen: BaseException | None = exc
    for _ in range(4):  # a short chain: paramiko wraps once
        if seen is None:
            return False
        if isinstance(seen, EOFError | ConnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_transient_text(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ("connection reset", "eof", "broken pipe",
                                             "connection aborted"))


def failure_from_text(text: str, message: str) -> HostFailure:
    """Classify a failure reported as text by another program (sshd, a ProxyCommand)."""
    lowered = text.lower()
    for words, kind in _TEXT_KINDS:
        if any(w in lowered for w in words):
            return HostFailure(kind, message)
    return HostFailure(ErrorKind.SSH_ERROR, message)


_TEXT_KINDS = (
    (("refused", "protocol not available"), ErrorKind.CONNECTION_REFUSED),
    (("timed out",), ErrorKind.CONNECT_TIMEOUT),
    (("no route", "unreachable"), ErrorKind.NO_ROUTE),
    (("name or service", "resolve"), ErrorKind.NAME_RESOLUTION),
    (("host key verification failed",), ErrorKind.HOST_KEY_UNKNOWN),
    (("permission denied",), ErrorKind.AUTH_FAILED),
)


def channel_open_failure(exc: BaseException, via: str, dest: str) -> HostFailure:
    """A jump host could not open a tunnel to `dest`; sshd says why in the failure text."""
    text = str(getattr(exc, "text", "") or exc)
    # Code 1 (administratively prohibited): the jump host's sshd forwards nothing there,
    # whatever the target's state; a user reads the setting's name, not the RFC's words.
    more = (" (its sshd forbids this forwarding: AllowTcpForwarding, DisableForwarding or "
            "PermitOpen)") if getattr(exc, "code", None) == 1 else ""
    return failure_from_text(text, f"jump host {via} could not reach {dest}: {text}{more}")
