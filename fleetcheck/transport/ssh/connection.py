"""Opening SSH connections: TCP, jump hosts or ProxyCommand, handshake, host key, auth, retries."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fleetcheck.sshlib import paramiko

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.frozen import frozen
from fleetcheck.model import TrustedKey
from fleetcheck.transport.ssh.auth import AuthTransport, Credentials, KeyStore, authenticate
from fleetcheck.transport.ssh.errors import (
    RetryableFailure,
    channel_open_failure,
    connect_failure,
    failure_from_text,
    handshake_failure,
    resolution_failure,
)
from fleetcheck.transport.ssh.known_hosts import KnownHostsStore, Verdict, known_elsewhere
from fleetcheck.transport.ssh.negotiate import (
    cipher_mac,
    host_key_algorithms,
    noted_kex,
    prefer_aead,
)
from fleetcheck.transport.ssh.proxy import ProxyCommandSocket
from fleetcheck.transport.ssh.target import Target
from fleetcheck.words import plural

_PARAMIKO_GRACE = 5.0  # seconds paramiko's banner/handshake timers outlast ours
log = logging.getLogger("fleetcheck.ssh")
# paramiko logs every failed connection with a traceback from its own thread; a
# failed host is already reported as data, so without -vvv that noise goes nowhere.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

# Failures the target's own sshd reported: a ProxyCommand's stderr cannot explain them better.
_REMOTE_KINDS = frozenset({ErrorKind.AUTH_FAILED, ErrorKind.AUTH_TIMEOUT,
                           ErrorKind.HOST_KEY_CHANGED, ErrorKind.HOST_KEY_UNKNOWN,
                           ErrorKind.HOST_KEY_REVOKED, ErrorKind.DEADLINE})


@frozen
class Limits:
    """Run-wide connection limits."""

    connect_timeout: float = 10.0  # TCP connect, then the SSH banner and key exchange
    auth_timeout: float = 30.0
    retries: int = 2  # further attempts after a transient network failure
    host_key_checking: str = "strict"
    host_key_forced: bool = False  # given on the command line: hosts' StrictHostKeyChecking yields


def fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


class Opener:
    """Opens authenticated paramiko transports; shares one connection per jump host."""

    def __init__(self, limits: Limits, credentials: Credentials,
                 known: KnownHostsStore | None = None) -> None:
        self.limits = limits
        self.credentials = credentials
        self.known = known or KnownHostsStore()
        self.keys = KeyStore(credentials.key_passphrase)
        self._jumps: dict[Target, paramiko.Transport] = {}
        self._jump_failures: dict[Target, HostFailure] = {}
        self._jump_locks: dict[Target, threading.Lock] = {}
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------

    def open(self, target: Target, deadline: float, *, password: str | None = None,
             jump: bool = False, trusted: list[TrustedKey] | None = None,
             ) -> tuple[paramiko.Transport, Callable[[], None] | None]:
        """An authenticated transport to `target` (with retries) and what to clean up after;
        keys trusted on first use on the way (jump hosts too) are added to `trusted`."""
        attempt = 0
        while True:
            try:
                return self._attempt(target, deadline, password, jump, trusted)
            except RetryableFailure as exc:
                attempt += 1
                pause = min(2.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random())  # noqa: S311
                if attempt > self.limits.retries or time.monotonic() + pause >= deadline:
                    tries = plural(attempt, "attempt")
                    raise HostFailure(exc.kind, f"{exc.message} (after {tries})") from None
                log.debug("%s: %s; retrying in %.2fs", target.describe(), exc.message, pause)
                time.sleep(pause)

    def close(self) -> None:
        """Close the shared jump host connections."""
        with self._lock:
            jumps, self._jumps = list(self._jumps.values()), {}
        for t in jumps:
            with contextlib.suppress(Exception):
                t.close()

    # -- one attempt --------------------------------------------------------------------------

    def _attempt(self, target: Target, deadline: float, password: str | None, jump: bool,
                 trusted: list[TrustedKey] | None,
                 ) -> tuple[paramiko.Transport, Callable[[], None] | None]:
        sock, cleanup = self._socket(target, deadline, trusted)
        try:
            t = self._handshake(sock, target, deadline, trusted, keepalive=jump)
            try:
                authenticate(t, target, self.keys, deadline=deadline,
                             password=password if password is not None
                             else self.credentials.password,
                             timeout=self.limits.auth_timeout, jump=jump)
            except BaseException:
                t.close()
                raise
        except HostFailure as exc:
            if isinstance(sock, ProxyCommandSocket) and exc.kind not in _REMOTE_KINDS:
                tail = sock.stderr_tail()
                exc = failure_from_text(tail, f"ProxyCommand {sock.command!r} failed: "
                                              f"{tail or exc.message}")
            self._discard(sock, cleanup)
            raise exc from None
        except BaseException:
            self._discard(sock, cleanup)
            raise
        return t, cleanup

    @staticmethod
    def _discard(sock: socket.socket | paramiko.Channel | ProxyCommandSocket,
                 cleanup: Callable[[], None] | None) -> None:
        with contextlib.suppress(Exception):
            sock.close()
        if cleanup is not None:
            cleanup()

    def _connect_timeout(self, target: Target, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HostFailure(ErrorKind.DEADLINE, f"the host's deadline passed before "
                              f"connecting to {target.describe()}")
        return min(target.connect_timeout or self.limits.connect_timeout, remaining)

    def _socket(self, target: Target, deadline: float, trusted: list[TrustedKey] | None,
                ) -> tuple[socket.socket | paramiko.Channel | ProxyCommandSocket,
                           Callable[[], None] | None]:
        """A byte stream to the target's sshd: a jump host tunnel, a ProxyCommand or TCP."""
        timeout = self._connect_timeout(target, deadline)
        where = f"{target.hostname}:{target.port}"
        if target.via is not None:
            jump = self._jump(target.via, deadline, trusted)
            log.debug("%s: tunnel to %s through jump host %s", target.describe(), where,
                      target.via.describe())
            try:
                chan = jump.open_channel("direct-tcpip", (target.hostname, target.port),
                                         ("127.0.0.1", 0), timeout=timeout)
            except paramiko.ChannelException as exc:
                raise channel_open_failure(exc, target.via.describe(), where) from None
            except (paramiko.SSHException, OSError, EOFError) as exc:
                self._forget_jump(target.via, jump)
                if "timeout" in str(exc).lower():
                    raise HostFailure(ErrorKind.CONNECT_TIMEOUT,
                                      f"jump host {target.via.describe()} opened no tunnel to "
                                      f"{where} within {timeout:.1f}s") from None
                raise RetryableFailure(ErrorKind.SSH_ERROR,
                                       f"connection to jump host {target.via.describe()} "
                                       f"failed: {exc}") from None
            return chan, None
        if target.proxy_command is not None:
            log.debug("%s: through ProxyCommand %r", target.describe(), target.proxy_command)
            proxy = ProxyCommandSocket(target.proxy_command)
            return proxy, proxy.release
        try:
            infos = socket.getaddrinfo(target.hostname, target.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise resolution_failure(exc, target.hostname) from None
        except UnicodeError:
            raise HostFailure(ErrorKind.NAME_RESOLUTION,
                              f"{target.hostname!r} is not a valid host name") from None
        failure: HostFailure | None = None
        for family, kind, proto, _, addr in infos:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(self._connect_timeout(target, deadline))
            started = time.monotonic()
            try:
                sock.connect(addr)
            except OSError as exc:
                sock.close()
                failure = connect_failure(exc, where, timeout)
                log.debug("%s: TCP to %s: %s", target.describe(), addr[0], failure.message)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            log.debug("%s: TCP connected to %s port %s in %s", target.describe(), addr[0],
                      addr[1], _ms(started))
            return sock, None
        assert failure is not None
        raise failure

    def _handshake(self, sock: socket.socket | paramiko.Channel | ProxyCommandSocket,
                   target: Target, deadline: float,
                   trusted: list[TrustedKey] | None = None, *,
                   keepalive: bool = False) -> paramiko.Transport:
        """Banner and key exchange within the connect timeout, then the host key check."""
        timeout = self._connect_timeout(target, deadline)
        where = target.describe()
        index = self.known.get(target.known_hosts_files)
        name = target.known_hosts_name
        t = AuthTransport(sock, keepalive=keepalive)
        # paramiko's banner timer (only a connection whose socket has a timeout, a jump
        # host's, has one; none starts a handshake timer) runs a little longer than our wait,
        # so a silent port is always our timeout (banner_timeout) and never paramiko's "Error
        # reading SSH protocol banner", which it also says when the peer closes.
        t.banner_timeout = timeout + _PARAMIKO_GRACE
        try:
            host_key_algorithms(t, target, index.known_types(name))
        except HostFailure:
            t.close()
            raise
        prefer_aead(t)
        # only for the -vv log line below: no host pays for noting names nobody reads
        kex = noted_kex(t) if log.isEnabledFor(logging.DEBUG) else None
        done = threading.Event()
        started = time.monotonic()
        try:
            t.start_client(event=done)
            finished = done.wait(timeout)
            if not finished or not t.is_active():
                got_banner = bool(t.remote_version)
                exc = t.get_exception()
                t.close()
                raise handshake_failure(exc if finished else None, where, got_banner, timeout)
            key = t.get_remote_server_key()
        except HostFailure:
            raise
        except (paramiko.SSHException, OSError, EOFError) as exc:
            t.close()
            raise handshake_failure(exc, where, bool(t.remote_version), timeout) from None
        if kex is not None:
            log.debug("%s: SSH handshake in %s with %s: kex %s, host key %s %s, cipher %s, "
                      "mac %s", where, _ms(started), t.remote_version,
                      kex[-1] if kex else "?", key.get_name(), fingerprint(key.asbytes()),
                      *cipher_mac(t))
        try:
            self._verify(target, name, key, trusted)
        except BaseException:
            t.close()
            raise
        return t

    def _verify(self, target: Target, name: str, key: paramiko.PKey,
                trusted: list[TrustedKey] | None = None) -> None:
        """OpenSSH host key rules; accept-new appends, off accepts (but never a revoked key).
        A key the host's own StrictHostKeyChecking `no` accepts is recorded in `trusted`."""
        mode = target.host_key_mode(self.limits.host_key_checking, self.limits.host_key_forced)
        index = self.known.get(target.known_hosts_files)
        key_type, blob = key.get_name(), key.asbytes()
        check = index.check_host(name, target.known_hosts_fallback, key_type, blob)
        if check.verdict is Verdict.KNOWN:
            return
        if check.verdict is Verdict.REVOKED:
            raise HostFailure(ErrorKind.HOST_KEY_REVOKED,
                              check.explain(name, key_type, fingerprint(blob)))
        if mode == "off":
            log.debug("%s: host key not checked (%s)", name, check.verdict.value)
            if mode != self.limits.host_key_checking and trusted is not None:
                why = (f"StrictHostKeyChecking {target.strict_host_key_checking} for this host; "
                       + ("no key known for it" if check.verdict is Verdict.UNKNOWN
                          else "known_hosts holds another key for it"))
                trusted.append(TrustedKey(name, key_type, fingerprint(blob), "", why))
            return
        if check.verdict is Verdict.UNKNOWN and mode == "accept-new" and target.user_known_hosts:
            try:
                check = index.accept(name, key_type, blob, Path(target.user_known_hosts),
                                     hashed=target.hash_known_hosts)
            except OSError as exc:  # a directory, a read-only home: trusted only if recorded
                raise HostFailure(ErrorKind.HOST_KEY_UNKNOWN, check.explain(
                    name, key_type, fingerprint(blob)) + f"; accept-new could not record it in "
                    f"{target.user_known_hosts}: {exc.strerror or exc}") from None
            if check.verdict is Verdict.KNOWN:
                if check.added:
                    log.info("%s: added %s key %s to %s", name, key_type, fingerprint(blob),
                             target.user_known_hosts)
                    if trusted is not None:
                        trusted.append(TrustedKey(name, key_type, fingerprint(blob),
                                                  target.user_known_hosts))
                return
        # Only keys of other types known: ssh says the host key changed, and so it is here.
        kind = ErrorKind.HOST_KEY_CHANGED if check.verdict in (Verdict.CHANGED,
                                                               Verdict.OTHER_TYPE) \
            else ErrorKind.HOST_KEY_UNKNOWN
        message = check.explain(name, key_type, fingerprint(blob))
        if check.verdict is Verdict.UNKNOWN:
            message += known_elsewhere(index.holders(blob))
        raise HostFailure(kind, message)

    # -- jump hosts ----------------------------------------------------------------------------

    def _jump(self, target: Target, deadline: float,
              trusted: list[TrustedKey] | None = None) -> paramiko.Transport:
        """The shared connection to a jump host: opened once, reused by every host behind it."""
        with self._lock:
            lock = self._jump_locks.setdefault(target, threading.Lock())
        if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise HostFailure(ErrorKind.CONNECT_TIMEOUT,
                              f"jump host {target.describe()} was not connected before the "
                              "host's deadline")
        try:
            failed = self._jump_failures.get(target)
            if failed is not None:
                raise HostFailure(failed.kind, failed.message)
            t = self._jumps.get(target)
            if t is not None and t.is_active():
                return t
            try:
                t, _ = self.open(target, deadline, jump=True, trusted=trusted)
            except HostFailure as exc:
                failure = HostFailure(exc.kind, f"via jump host {target.describe()}: "
                                                f"{exc.message}")
                if exc.kind is not ErrorKind.DEADLINE:
                    self._jump_failures[target] = failure
                raise failure from None
            t.set_keepalive(30)
            self._jumps[target] = t
            return t
        finally:
            lock.release()

    def _forget_jump(self, target: Target, t: paramiko.Transport) -> None:
        with self._lock:
            if self._jumps.get(target) is t:
                del self._jumps[target]
        with contextlib.suppress(Exception):
            t.close()


def _ms(started: float) -> str:
    """Milliseconds since `started` (a monotonic time), for -vv timings."""
    return f"{(time.monotonic() - started) * 1000:.0f} ms"
