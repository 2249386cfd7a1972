"""User authentication as OpenSSH's client does it: public keys in ssh's order
(identities.py), then keyboard-interactive and password with the password; partial
success (sshd's AuthenticationMethods) goes on to what the server asks for next.

ssh opens with a `none` request to learn the server's methods; fleetcheck learns them from
the first key's refusal instead (every failure lists them), which saves each host a round
trip (~0.2 ms of client CPU and sshd's handling of it). The one difference: where the
server takes no public keys at all, ssh offers none and fleetcheck one, which sshd counts
against MaxAuthTries. `none` is asked for before the password when no key was offered (so
no method the server lacks is tried and counted), and when there is nothing to offer.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from fleetcheck.sshlib import paramiko

from paramiko.agent import AgentSSH
from paramiko.auth_handler import AuthHandler
from paramiko.packet import Packetizer

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.frozen import frozen
from fleetcheck.transport.ssh.algorithms import assemble, key_allowed, rsa_signatures
from fleetcheck.transport.ssh.errors import RetryableFailure
from fleetcheck.transport.ssh.identities import Identity, prepare, signer
from fleetcheck.transport.ssh.keys import KeyStore
from fleetcheck.transport.ssh.target import Target

__all__ = ["AuthTransport", "Credentials", "KeyStore", "authenticate"]

log = logging.getLogger("fleetcheck.ssh")


@frozen
class Credentials:
    """Run-wide secrets: the key passphrase and the password (-k). Never shown in a repr."""

    key_passphrase: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)


class _Agent(AgentSSH):
    """One ssh-agent connection, opened for one host's authentication and closed after it."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
            self._connect(sock)  # type: ignore[attr-defined]  # paramiko's own entry point
        except BaseException:
            sock.close()
            raise

    def close(self) -> None:
        """Close the agent connection."""
        self._close()  # type: ignore[attr-defined]


def _agent_keys(path: str | None, timeout: float) -> tuple[_Agent | None, list[paramiko.PKey]]:
    if not path:
        return None, []
    try:
        agent = _Agent(path, timeout)
    except (OSError, paramiko.SSHException):
        return None, []  # no agent is not an error: keys and passwords may still work
    return agent, list(agent.get_keys())


class _ServiceOnce(AuthHandler):
    """paramiko's client side of one authentication request, asking for the ssh-userauth
    service only before the connection's first request, as ssh does (RFC 4252): paramiko
    asks before every method, a round trip more for each after `none`."""

    def _request_auth(self) -> None:
        if not getattr(self.transport, "userauth_service", False):
            super()._request_auth()  # type: ignore[misc]  # not in paramiko's stubs
            return
        accepted = paramiko.Message()
        accepted.add_string("ssh-userauth")
        accepted.rewind()
        self._parse_service_accept(accepted)  # the request paramiko sends on acceptance

    def wait_for_response(self, event: threading.Event) -> list[str]:
        """paramiko's wait for the answer, without its waking every tenth of a second."""
        # paramiko looks at the event in 0.1 s slices for a dead transport or the timeout
        # (about a wake-up a host in a loaded scan); the answer sets the event, and so do
        # the transport's end (abort) and AuthTransport.close, so one wait comes first
        if not event.wait(self.transport.auth_timeout):
            raise paramiko.AuthenticationException("Authentication timeout.")
        return super().wait_for_response(event)

    def _parse_userauth_failure(self, m: paramiko.Message) -> None:
        methods = m.get_list()
        m.rewind()
        cast("AuthTransport", self.transport).server_methods = methods
        super()._parse_userauth_failure(m)  # type: ignore[misc]  # not in paramiko's stubs

    def _parse_service_accept(self, m: paramiko.Message) -> None:
        service = m.get_text()
        m.rewind()
        if service == "ssh-userauth":
            cast("AuthTransport", self.transport).userauth_service = True
        super()._parse_service_accept(m)  # type: ignore[misc]  # not in paramiko's stubs


class _Packetizer(Packetizer):
    """paramiko's packetizer without the timer thread it starts for each handshake:
    fleetcheck waits for the handshake itself and closes the connection at its deadline."""

    def start_handshake(self, timeout: float) -> None:
        """Start no timer (paramiko's would be one more thread a host)."""


class AuthTransport(paramiko.Transport):
    """paramiko's Transport, remembering why the server hung up (sshd says "Too many
    authentication failures" when its MaxAuthTries is reached), signing RSA keys with
    the algorithms the ssh_config allows, and asking for the userauth service once."""

    disconnect_reason: str | None = None
    userauth_service = False  # the server accepted the ssh-userauth service request
    server_methods: list[str] | None = None  # what its last refusal said may continue
    _handler: AuthHandler | None = None

    def __init__(self, sock: Any, *, keepalive: bool = False,  # any socket-like object
                 **options: Any) -> None:
        # paramiko's reading thread gives its socket a timeout (0.1 s) to wake and see
        # whether the transport was closed or a keepalive is due: ten wake-ups a second
        # while a host thinks, and a poll() before every recv and send (CPython waits for a
        # timeout socket before each call), each a hand-over of the GIL among fifty
        # connections. close() below wakes the thread itself and fleetcheck's own waits
        # keep every deadline, so a host's connection blocks until data comes; one that
        # sends keepalives (a jump host's, every 30 s) looks once a second.
        self._active_check_timeout = 1.0 if keepalive else None
        super().__init__(sock, packetizer_class=_Packetizer, **options)

    def close(self) -> None:
        """Close the connection; the reading thread leaves now, not at its next check."""
        # a tunnel through a jump host (a Channel) wakes its reader when closed; a socket,
        # or a ProxyCommand's, needs shutting down first: closing it leaves recv waiting
        if not isinstance(self.sock, paramiko.Channel):
            shutdown = getattr(self.sock, "shutdown", None)
            if shutdown is not None:
                with contextlib.suppress(OSError):
                    shutdown(socket.SHUT_RDWR)
        super().close()
        if self._handler is not None:  # a wait for the server's answer ends now
            self._handler.abort()

    @property
    def auth_handler(self) -> AuthHandler | None:
        """The handler of the authentication request in progress (paramiko's attribute)."""
        return self._handler

    @auth_handler.setter
    def auth_handler(self, handler: AuthHandler | None) -> None:
        # paramiko makes a plain AuthHandler for every auth_* call: ours asks once
        self._handler = _ServiceOnce(self) if type(handler) is AuthHandler else handler

    def _parse_disconnect(self, m: paramiko.Message) -> None:
        m.get_int()
        self.disconnect_reason = m.get_text()
        log.debug("server disconnected: %s", self.disconnect_reason)

    def _filter_algorithm(self, type_: str) -> tuple[str, ...]:
        # paramiko filters each list by disabled_algorithms on every read (~16 reads a
        # login, a few microseconds each); fleetcheck disables none, it sets the lists
        if not self.disabled_algorithms:
            return tuple(getattr(self, "_preferred_" + type_))
        return cast("tuple[str, ...]", super()._filter_algorithm(type_))  # type: ignore[misc]

    def _parse_debug(self, m: paramiko.Message) -> None:
        # sshd sends a debug message on every key login (its key options); paramiko
        # escapes it byte by byte (~40 us a host) even when nobody logs it
        m.get_boolean()  # always_display
        text = m.get_string()
        m.get_string()  # language
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("Debug msg: %r", paramiko.util.safe_string(text))

    def use_pubkey_algorithms(self, algorithms: Sequence[str]) -> None:
        """The signature algorithms an RSA key may use, in order (PubkeyAcceptedAlgorithms)."""
        current: tuple[str, ...] = tuple(getattr(self, "_preferred_pubkeys", ()))
        others = [a for a in current if not a.startswith(("rsa-", "ssh-rsa"))]
        self._preferred_pubkeys = (*others, *algorithms)


@dataclass
class _State:
    """What one host's authentication went through, for the message when it fails."""

    tried: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    allowed: list[str] | None = None  # the methods the server said it accepts
    partial: list[str] = field(default_factory=list)  # methods that succeeded partially


def authenticate(t: paramiko.Transport, target: Target, keys: KeyStore, *, password: str | None,
                 deadline: float, timeout: float, jump: bool = False) -> None:
    """Authenticate as OpenSSH would with these keys, agent and password; AUTH_FAILED
    (naming what was tried and why it failed) when the server does not accept them."""
    state = _State()
    agent, agent_keys = (None, []) if not target.pubkey_auth else _agent_keys(target.agent, timeout)
    started = time.monotonic()
    log.debug("%s: authenticating as %s (key files: %s; agent keys: %d)", target.describe(),
              target.user, ", ".join(target.identity_files) or "none", len(agent_keys))
    try:
        if target.pubkey_auth and _publickey(t, target, keys, agent_keys, state, deadline,
                                             timeout):
            log.debug("%s: authenticated in %.0f ms", target.describe(),
                      (time.monotonic() - started) * 1000)
            return
        if password is not None and _password(t, target, password, state, deadline, timeout):
            return
        if not state.tried and not state.partial and state.allowed is None and _step(
                t, target, state, deadline, timeout, "none", partial(t.auth_none, target.user)):
            return  # nothing to offer: a server may still let the user in as it is
    finally:
        if agent is not None:
            agent.close()
    raise HostFailure(ErrorKind.AUTH_FAILED, f"authentication failed for {target.describe()} "
                                             f"({_explain(target, state, jump)})")


def _publickey(t: paramiko.Transport, target: Target, keys: KeyStore,
               agent_keys: list[paramiko.PKey], state: _State, deadline: float,
               timeout: float) -> bool:
    algorithms = assemble(target.pubkey_algorithms)
    if isinstance(t, AuthTransport):
        t.use_pubkey_algorithms(rsa_signatures(algorithms))
    identities = prepare(target.identity_files, target.certificate_files, agent_keys,
                         target.identities_only, target.default_identities, keys)
    for identity in identities:
        if state.allowed is not None and "publickey" not in state.allowed:
            break
        key = _usable(identity, identities, keys, algorithms, target, state)
        if key is None:
            continue
        label = identity.label
        if identity.agent is None:  # an agent key's label names its type already
            label += f" ({key.public_blob.key_type if key.public_blob else key.get_name()})"
        if _step(t, target, state, deadline, timeout, label,
                 partial(t.auth_publickey, target.user, key)):
            return True
    return False


def _usable(identity: Identity, identities: list[Identity], keys: KeyStore,
            algorithms: tuple[str, ...], target: Target, state: _State) -> paramiko.PKey | None:
    """The key to sign with for `identity`, if ssh would offer it (its type allowed)."""
    offered = identity.key_type()
    if offered is not None and not key_allowed(offered, algorithms):
        log.debug("%s: skipping %s: %s is not in PubkeyAcceptedAlgorithms", target.describe(),
                  identity.label, offered)
        return None
    key = signer(identity, identities, keys, state.problems)
    if key is None:
        return None
    kind = key.public_blob.key_type if key.public_blob else key.get_name()
    if not key_allowed(kind, algorithms):
        log.debug("%s: skipping %s: %s is not in PubkeyAcceptedAlgorithms", target.describe(),
                  identity.label, kind)
        return None
    if "rsa" in kind and not rsa_signatures(algorithms):
        state.problems.append(f"{identity.label}: PubkeyAcceptedAlgorithms allows only ssh-rsa "
                              "(SHA-1) signatures, which fleetcheck (paramiko) cannot make")
        return None
    return key


def _password(t: paramiko.Transport, target: Target, password: str, state: _State,
              deadline: float, timeout: float) -> bool:
    """keyboard-interactive, then password (ssh's PreferredAuthentications order)."""
    def answer(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        # A password prompt gets the password; anything else (a one-time code) cannot be
        # answered and gets nothing, as sshpass answers only password prompts.
        return [password if "password" in text.lower() else "" for text, _ in prompts]
    methods: list[tuple[str, bool, Callable[[], object]]] = [
        ("keyboard-interactive", target.kbd_auth,
         partial(t.auth_interactive, target.user, answer)),
        ("password", target.password_auth,
         partial(t.auth_password, target.user, password, fallback=False)),
    ]
    if state.allowed is None and _step(t, target, state, deadline, timeout, "none",
                                       partial(t.auth_none, target.user)):
        return True  # no refusal told the methods yet: ask as ssh does, not a counted guess
    for method, enabled, attempt in methods:
        if enabled and (state.allowed is None or method in state.allowed) and \
                _step(t, target, state, deadline, timeout, method, attempt):
            return True
    return False


def _step(t: paramiko.Transport, target: Target, state: _State, deadline: float, timeout: float,
          label: str, attempt: Callable[[], Any]) -> bool:
    """One request: True when it completed authentication; a partial success (the server
    wants another method too) and a refusal update `state`."""
    _set_timeout(t, deadline, timeout)
    try:
        more = attempt()
    except paramiko.BadAuthenticationType as exc:
        state.allowed = list(exc.allowed_types)
        if label != "none":
            state.tried.append(label)
        return False
    except paramiko.AuthenticationException as exc:
        _raise_if_lost(t, exc, target, timeout, state)
        state.tried.append(label)
        methods = getattr(t, "server_methods", None)
        if methods is not None:  # a refusal names the methods that may continue
            state.allowed = list(methods)
        return False
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise _transport_lost(t, target, exc, state) from None
    if more:  # partial success: authentication continues with these methods
        log.debug("%s: %s accepted; the server asks for %s too", target.describe(), label,
                  ",".join(more))
        state.partial.append(label)
        state.allowed = list(more)
        return False
    log.debug("%s: %s accepted", target.describe(), label)
    return True


def _explain(target: Target, state: _State, jump: bool) -> str:
    if not state.tried and not state.problems and not state.partial:
        looked = (f" (looked for {', '.join(target.identity_files)}: none exists)"
                  if target.default_identities and target.identity_files else "")
        state.problems.append("no key file, agent key or password was available"
                              f"{' (a jump host uses ssh_config and the agent)' if jump else ''}"
                              f"{looked}")
    parts = [f"tried {', '.join(state.tried) if state.tried else 'nothing'}"]
    if state.partial:
        parts.append(f"accepted {', '.join(state.partial)} but the server also asks for "
                     f"{' or '.join(state.allowed or ['more'])}")
    detail = "; ".join([*parts, *state.problems])
    if state.allowed and not state.partial:
        detail += f"; server accepts: {', '.join(state.allowed)}"
    return detail


def _set_timeout(t: paramiko.Transport, deadline: float, timeout: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise HostFailure(ErrorKind.DEADLINE, "the host's deadline passed during authentication")
    t.auth_timeout = min(timeout, remaining)


def _raise_if_lost(t: paramiko.Transport, exc: Exception, target: Target, timeout: float,
                   state: _State) -> None:
    if "timeout" in str(exc).lower():
        raise HostFailure(ErrorKind.AUTH_TIMEOUT,
                          f"{target.describe()} did not answer authentication within "
                          f"{timeout:.1f}s") from None
    if "transport shut down" in str(exc).lower() or not t.is_active():
        raise _transport_lost(t, target, exc, state) from None


def _transport_lost(t: paramiko.Transport, target: Target, exc: Exception,
                    state: _State) -> HostFailure:
    reason = getattr(t, "disconnect_reason", None)
    if reason is not None:  # sshd said why: "Too many authentication failures" (MaxAuthTries)
        return HostFailure(ErrorKind.AUTH_FAILED,
                           f"authentication failed for {target.describe()}: the server "
                           f"disconnected: {reason or '(no reason given)'} "
                           f"(tried {', '.join(state.tried) or 'nothing'})")
    # No reason given: the connection was lost (a reset, a peer gone), not refused. ssh says
    # so too ("Connection reset by peer"); like a handshake cut short, it is worth a retry.
    cause = t.get_exception() or exc
    return RetryableFailure(ErrorKind.SSH_ERROR,
                            f"the connection to {target.describe()} was lost during "
                            f"authentication ({str(cause) or type(cause).__name__})")
