"""HostKeyAlgorithms and PubkeyAcceptedAlgorithms as OpenSSH assembles them (kex.c).

A value replaces the default list, or with `+` appends to it, `-` removes from it, `^`
puts in front of it; names may be `*`/`?` patterns, each standing for every algorithm it
matches, in OpenSSH's order. The default and the known names are OpenSSH 9's
(`ssh -G`, `ssh -Q HostKeyAlgorithms`); the two keywords share them.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

_CERT = "-cert-v01@openssh.com"
KNOWN = (
    "ssh-ed25519", f"ssh-ed25519{_CERT}", "sk-ssh-ed25519@openssh.com",
    f"sk-ssh-ed25519{_CERT}", "ecdsa-sha2-nistp256", f"ecdsa-sha2-nistp256{_CERT}",
    "ecdsa-sha2-nistp384", f"ecdsa-sha2-nistp384{_CERT}", "ecdsa-sha2-nistp521",
    f"ecdsa-sha2-nistp521{_CERT}", "sk-ecdsa-sha2-nistp256@openssh.com",
    f"sk-ecdsa-sha2-nistp256{_CERT}", "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss", f"ssh-dss{_CERT}", "ssh-rsa", f"ssh-rsa{_CERT}", "rsa-sha2-256",
    f"rsa-sha2-256{_CERT}", "rsa-sha2-512", f"rsa-sha2-512{_CERT}",
)
_PLAIN_DEFAULT = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                  "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
                  "sk-ecdsa-sha2-nistp256@openssh.com", "rsa-sha2-512", "rsa-sha2-256")
DEFAULT = (*(f"{a.removesuffix('@openssh.com')}{_CERT}" for a in _PLAIN_DEFAULT
             if not a.startswith("rsa-")), f"rsa-sha2-512{_CERT}", f"rsa-sha2-256{_CERT}",
           *_PLAIN_DEFAULT)
ALGORITHM_KEYWORDS = frozenset({"hostkeyalgorithms", "pubkeyacceptedalgorithms"})


def valid(value: str) -> bool:
    """Whether ssh accepts `value` for these keywords (checked on every line, as ssh
    does): names it knows, or patterns; `-` may name anything (it only removes)."""
    if value.startswith("-"):
        return True
    body = value[1:] if value[:1] in "+^" else value
    for name in body.split(","):
        if not name or name.startswith("!"):
            return False
        if not any(c in name for c in "*?") and name not in KNOWN:
            return False
    return True


def assemble(value: str | None) -> tuple[str, ...]:
    """The algorithms a value stands for, in order (None: the default)."""
    if value is None:
        return DEFAULT
    if value.startswith("-"):
        patterns = value[1:].split(",")
        return tuple(a for a in DEFAULT if not any(fnmatchcase(a, p) for p in patterns))
    if value.startswith("+"):
        wanted = [*DEFAULT, *value[1:].split(",")]
    elif value.startswith("^"):
        wanted = [*value[1:].split(","), *DEFAULT]
    else:
        wanted = value.split(",")
    out: list[str] = []
    for pattern in wanted:  # each pattern stands for the names it matches, in KNOWN's order
        out += [a for a in KNOWN if fnmatchcase(a, pattern) and a not in out]
    return tuple(out)


def key_allowed(key_type: str, algorithms: tuple[str, ...]) -> bool:
    """OpenSSH's key_type_allowed_by_config: a key (or certificate) of `key_type` may be
    offered; an RSA key also when an RSA SHA-2 signature algorithm is listed."""
    if key_type in algorithms:
        return True
    if key_type == "ssh-rsa":
        return any(a in algorithms for a in ("rsa-sha2-512", "rsa-sha2-256"))
    if key_type == f"ssh-rsa{_CERT}":
        return any(a in algorithms for a in (f"rsa-sha2-512{_CERT}", f"rsa-sha2-256{_CERT}"))
    return False


def rsa_signatures(algorithms: tuple[str, ...]) -> tuple[str, ...]:
    """The RSA signature algorithms an RSA key may sign with, in the configured order: the
    SHA-2 ones (paramiko makes no `ssh-rsa` SHA-1 signatures, which OpenSSH 8.8 and later
    refuse by default too)."""
    plain = [a.removesuffix(_CERT) for a in algorithms
             if a.removesuffix(_CERT) in ("rsa-sha2-512", "rsa-sha2-256")]
    return tuple(dict.fromkeys(plain))
