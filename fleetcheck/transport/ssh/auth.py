"""User authentication: key files (decrypted once per run), the ssh-agent, then a password."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import paramiko
from paramiko.agent import AgentSSH

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.transport.ssh.target import Target

log = logging.getLogger("fleetcheck.ssh")


@dataclass(frozen=True, slots=True)
class Credentials:
    """Run-wide secrets: the key passphrase and the password (-k). Never shown in a repr."""

    key_passphrase: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)


class KeyStore:
    """Private keys by path, each read (and decrypted: bcrypt KDF is slow) once per run."""

    def __init__(self, passphrase: str | None) -> None:
        self._passphrase = passphrase
        self._keys: dict[str, paramiko.PKey | str | None] = {}
        self._lock = threading.Lock()

    def get(self, path: str) -> paramiko.PKey | str | None:
        """The key at `path`, None when there is no such file, or why it cannot be used."""
        with self._lock:
            if path not in self._keys:
                self._keys[path] = self._load(path)
            return self._keys[path]

    def _load(self, path: str) -> paramiko.PKey | str | None:
        if not Path(path).is_file():
            return None
        try:
            return _read_key(path, self._passphrase)
        except (paramiko.SSHException, ValueError, TypeError, OSError) as exc:
            if not _needs_passphrase(exc):
                if self._passphrase is not None and _encrypted(path):
                    return f"cannot decrypt key {path} with the passphrase given"
                return f"cannot use key {path}: {exc}"
        return (f"key {path} is encrypted and no passphrase was given "
                "(--ask-key-passphrase or FLEETCHECK_KEY_PASSPHRASE)")


def _read_key(path: str, passphrase: str | None) -> paramiko.PKey:
    # cryptography wants the passphrase as bytes, whatever paramiko's hint says
    secret = passphrase.encode() if passphrase is not None else None
    return paramiko.PKey.from_path(path, secret)  # type: ignore[arg-type]


def _needs_passphrase(exc: BaseException) -> bool:
    """paramiko and cryptography say 'encrypted, give a passphrase' in two ways."""
    return isinstance(exc, paramiko.PasswordRequiredException) or (
        isinstance(exc, TypeError) and "password" in str(exc).lower())


def _encrypted(path: str) -> bool:
    try:
        _read_key(path, None)
    except (paramiko.SSHException, ValueError, TypeError, OSError) as exc:
        return _needs_passphrase(exc)
    return False


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


def _fingerprint(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


def authenticate(t: paramiko.Transport, target: Target, keys: KeyStore, *, password: str | None,
                 deadline: float, timeout: float, jump: bool = False) -> None:
    """Try key files, agent keys, then the password (OpenSSH's order); AUTH_FAILED if none works."""
    tried: list[str] = []
    problems: list[str] = []
    allowed: list[str] = []
    agent, agent_keys = (None, []) if not target.pubkey_auth else _agent_keys(target.agent, timeout)
    try:
        for label, key in _candidates(target, keys, agent_keys, problems):
            ok, said = _try(t, target, deadline, timeout,
                            partial(t.auth_publickey, target.user, key))
            if ok:
                return
            allowed = said or allowed
            if said is not None and "publickey" not in said:
                break
            tried.append(label)
        if password is not None and target.password_auth:
            ok, said = _try(t, target, deadline, timeout,
                            partial(t.auth_password, target.user, password))
            if ok:
                return
            allowed = said or allowed
            tried.append("password")
    finally:
        if agent is not None:
            agent.close()
    if not tried and not problems:
        problems.append("no key file, agent key or password was available"
                        f"{' (a jump host uses ssh_config and the agent)' if jump else ''}")
    detail = "; ".join([f"tried {', '.join(tried) if tried else 'nothing'}", *problems])
    if allowed:
        detail += f"; server accepts: {', '.join(allowed)}"
    raise HostFailure(ErrorKind.AUTH_FAILED,
                      f"authentication failed for {target.describe()} ({detail})")


def _try(t: paramiko.Transport, target: Target, deadline: float, timeout: float,
         attempt: Callable[[], object]) -> tuple[bool, list[str] | None]:
    """One authentication attempt: accepted?, and the methods the server allows if it said."""
    _set_timeout(t, deadline, timeout)
    try:
        attempt()
    except paramiko.BadAuthenticationType as exc:
        return False, list(exc.allowed_types)
    except paramiko.AuthenticationException as exc:
        _raise_if_timeout(exc, target, timeout)
        return False, None
    except paramiko.SSHException as exc:
        raise _transport_lost(target, exc) from None
    return True, None


def _candidates(target: Target, keys: KeyStore, agent_keys: list[paramiko.PKey],
                problems: list[str]) -> Iterator[tuple[str, paramiko.PKey]]:
    """Key files in order, then the agent's other keys (not with IdentitiesOnly)."""
    if not target.pubkey_auth:
        return
    seen: set[bytes] = set()
    by_blob = {k.asbytes(): k for k in agent_keys}
    for path in target.identity_files:
        key = keys.get(path)
        if isinstance(key, str):
            # An encrypted key may still be usable through the agent that holds it.
            pub = _public_blob(path)
            if pub is not None and pub in by_blob:
                seen.add(pub)
                yield f"agent key for {path}", by_blob[pub]
            else:
                problems.append(key)
            continue
        if key is None:
            if not target.default_identities:  # OpenSSH names an explicit one, skips a default
                log.info("%s: no such identity: %s", target.describe(), path)
                problems.append(f"IdentityFile {path} does not exist")
            continue
        if key.asbytes() in seen:
            continue
        seen.add(key.asbytes())
        yield f"key {path} ({key.get_name()})", key
    if target.identities_only:
        return
    for key in agent_keys:
        if key.asbytes() not in seen:
            seen.add(key.asbytes())
            yield f"agent key {_fingerprint(key)}", key


def _public_blob(path: str) -> bytes | None:
    """The public half of a key file from its .pub companion, if there is one."""
    try:
        fields = Path(path + ".pub").read_text().split()
        import base64

        return base64.b64decode(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def _set_timeout(t: paramiko.Transport, deadline: float, timeout: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise HostFailure(ErrorKind.DEADLINE, "the host's deadline passed during authentication")
    t.auth_timeout = min(timeout, remaining)


def _raise_if_timeout(exc: Exception, target: Target, timeout: float) -> None:
    if "timeout" in str(exc).lower():
        raise HostFailure(ErrorKind.AUTH_TIMEOUT,
                          f"{target.describe()} did not answer authentication within "
                          f"{timeout:.1f}s") from None
    if "transport shut down" in str(exc).lower():
        raise _transport_lost(target, exc) from None


def _transport_lost(target: Target, exc: Exception) -> HostFailure:
    return HostFailure(ErrorKind.AUTH_FAILED,
                       f"{target.describe()} closed the connection during authentication "
                       f"({exc})")
