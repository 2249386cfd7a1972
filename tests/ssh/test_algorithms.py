"""HostKeyAlgorithms / PubkeyAcceptedAlgorithms values resolve to what `ssh -G` prints."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from fleetcheck.transport.ssh.algorithms import KNOWN, assemble, key_allowed, valid
from tests.lab.prereq import require

PIECES = [*KNOWN[:8], "ssh-rsa", "rsa-sha2-256", "rsa*", "*cert*", "ecdsa-sha2-nistp?84",
          "ssh-ed25519*", "nosuch-alg", "*"]


def _values(count: int) -> list[str]:
    rng = random.Random(7)  # noqa: S311 - reproducible values, not secrets
    out = []
    for _ in range(count):
        words = rng.sample(PIECES, k=rng.randint(1, 3))
        out.append(rng.choice(("", "+", "-", "^")) + ",".join(words))
    return out


@pytest.mark.parametrize("keyword", ["PubkeyAcceptedAlgorithms", "HostKeyAlgorithms"])
def test_assembled_like_ssh(keyword: str) -> None:
    """Every generated value: refused where ssh refuses it, else the same list."""
    require(shutil.which("ssh") is not None, "ssh")
    for value in _values(40):
        res = subprocess.run(["ssh", "-G", "-F", "/dev/null", "-o", f"{keyword}={value}",
                              "host"], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            assert not valid(value), (value, res.stderr)
            continue
        assert valid(value), value
        line = next(x for x in res.stdout.splitlines() if x.startswith(keyword.lower() + " "))
        assert assemble(value) == tuple(line.split(" ", 1)[1].split(",")), value


def test_rsa_keys_follow_sha2_algorithms() -> None:
    """An RSA key may be offered when an RSA SHA-2 signature algorithm is allowed."""
    assert key_allowed("ssh-rsa", assemble("rsa-sha2-256"))
    assert not key_allowed("ssh-rsa", assemble("ssh-ed25519"))
    assert key_allowed("ssh-rsa-cert-v01@openssh.com", assemble(None))
    assert not key_allowed("ssh-ed25519-cert-v01@openssh.com", assemble("-*cert*"))


@pytest.mark.parametrize("disabled", [{}, {"ciphers": ["aes128-ctr"], "keys": ["ssh-rsa"],
                                           "kex": ["diffie-hellman-group14-sha256"]}])
def test_transport_offers_what_paramiko_offers(disabled: dict[str, list[str]]) -> None:
    """fleetcheck's transport reads its algorithm lists faster, never differently."""
    import socket

    import paramiko

    from fleetcheck.transport.ssh.auth import AuthTransport

    ours_sock, theirs_sock = socket.socketpair()
    with ours_sock, theirs_sock:
        ours = AuthTransport(ours_sock, disabled_algorithms=disabled)
        theirs = paramiko.Transport(theirs_sock, disabled_algorithms=disabled)
        for kind in ("ciphers", "macs", "keys", "pubkeys", "kex", "compression"):
            assert getattr(ours, f"preferred_{kind}") == getattr(theirs, f"preferred_{kind}")
        ours.get_security_options().ciphers = ("aes128-ctr", "aes128-gcm@openssh.com")
        kept = ("aes128-gcm@openssh.com",) if disabled else ("aes128-ctr",
                                                              "aes128-gcm@openssh.com")
        assert ours.preferred_ciphers == kept
