"""What a connection asks for when it negotiates: its ciphers' and host key algorithms'
order (as OpenSSH orders them), and what it notes of the outcome for the -vv log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fleetcheck.sshlib import paramiko

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.transport.ssh.algorithms import assemble
from fleetcheck.transport.ssh.target import Target

# The key type each server host key algorithm asks for (the others name their type).
_KEY_TYPE = {"rsa-sha2-512": "ssh-rsa", "rsa-sha2-256": "ssh-rsa"}
# Ciphers asked for first. AES-GCM carries its own integrity tag, checked inside OpenSSL,
# where paramiko's first choice (aes128-ctr with hmac-sha2-256, encrypt-and-MAC) checks
# every packet's MAC in Python, byte by byte; OpenSSH's client prefers an AEAD cipher too.
# paramiko's other ciphers follow, for servers without GCM.
_AEAD_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def _to_front(first: Iterable[str], available: Sequence[str]) -> list[str]:
    """`available`, those of `first` it holds moved to the front in `first`'s order."""
    front = [a for a in dict.fromkeys(first) if a in available]
    return front + [a for a in available if a not in front]


def cipher_order(available: Sequence[str]) -> list[str]:
    """The ciphers of `available` in the order a connection asks for them (AEAD first)."""
    return _to_front(_AEAD_CIPHERS, available)


def prefer_aead(t: paramiko.Transport) -> None:
    """Offer the AEAD ciphers this paramiko has before its others."""
    opts = t.get_security_options()
    opts.ciphers = cipher_order(opts.ciphers)


def noted_kex(t: paramiko.Transport) -> list[str]:
    """The key exchange algorithms `t` agrees on, in order, for the -vv log: paramiko drops
    its kex engine once the exchange is done, so each engine's maker notes its name."""
    chosen: list[str] = []

    def noting(name: str, make: Any) -> Any:
        def build(transport: paramiko.Transport) -> Any:
            chosen.append(name)
            return make(transport)
        return build
    makers: dict[str, Any] = getattr(t, "_kex_info", {})
    noted = {name: noting(name, make) for name, make in makers.items()}
    t._kex_info = noted  # type: ignore[attr-defined]
    return chosen


def cipher_mac(t: paramiko.Transport) -> tuple[str, str]:
    """The client-to-server cipher and MAC; an AEAD cipher's MAC is `<implicit>`, as OpenSSH
    logs it (paramiko still names the MAC it agreed on, but never uses it)."""
    cipher = str(getattr(t, "local_cipher", "?"))
    aead = getattr(t, "_cipher_info", {}).get(cipher, {}).get("is_aead", False)
    return cipher, "<implicit>" if aead else str(getattr(t, "local_mac", "?"))


def host_key_order(available: Sequence[str], known: set[str]) -> list[str]:
    """OpenSSH's order_hostkeyalgs: `available` as it is when the first algorithm's key
    type is remembered, else the algorithms of remembered types first (order kept)."""
    def remembered(alg: str) -> bool:
        return _KEY_TYPE.get(alg, alg) in known
    if not available or remembered(available[0]):
        return list(available)
    return [a for a in available if remembered(a)] + [a for a in available if not remembered(a)]


def host_key_algorithms(t: paramiko.Transport, target: Target, known: set[str]) -> None:
    """The host key algorithms to ask for: HostKeyAlgorithms' (in its order) when the
    ssh_config sets it, else paramiko's with the remembered key types first, as OpenSSH
    orders its default list, so a known key is negotiated."""
    opts = t.get_security_options()
    if target.host_key_algorithms is None:
        opts.key_types = host_key_order(opts.key_types, known)
        return
    wanted = [a for a in assemble(target.host_key_algorithms) if a in opts.key_types]
    if not wanted:
        raise HostFailure(ErrorKind.SSH_ERROR,
                          f"no matching host key type: HostKeyAlgorithms "
                          f"{target.host_key_algorithms} names none that fleetcheck (paramiko) "
                          f"can use ({', '.join(opts.key_types)}; host certificates are not "
                          "supported)")
    opts.key_types = wanted
