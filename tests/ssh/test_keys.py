"""Key files read as OpenSSH reads them: every format `ssh-keygen` writes, checked against
`ssh-keygen -y` (the public key ssh derives from the same file), with and without a
passphrase; the public half ssh offers for an identity; certificates."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from fleetcheck.evidence import sshsig
from fleetcheck.transport.ssh.keys import (
    KeyStore,
    load_certificate,
    load_public,
    plain_blob,
    same_key,
)
from tests.lab.prereq import require

PASSPHRASE = "keys-pass-4Rt"  # noqa: S105 - throwaway test keys
# (type, bits, format): ECDSA keys with an empty comment several times, as half of them
# need no padding in the OpenSSH format (which paramiko's own reader misread).
KINDS = [("ed25519", None, None), *[("ecdsa", b, None) for b in (256, 384, 521) * 3],
         ("rsa", 2048, None), ("rsa", 2048, "PEM"), ("rsa", 2048, "PKCS8"),
         ("ecdsa", 256, "PEM"), ("ecdsa", 384, "PKCS8")]


def _keygen(path: Path, kind: str, bits: int | None, fmt: str | None, passphrase: str) -> Path:
    argv = ["ssh-keygen", "-q", "-a", "2", "-t", kind, "-N", passphrase, "-C", "", "-f", str(path)]
    argv += ["-b", str(bits)] if bits else []
    argv += ["-m", fmt] if fmt else []
    subprocess.run(argv, check=True, capture_output=True)
    return path


def _ssh_public(path: Path, passphrase: str) -> bytes:
    out = subprocess.run(["ssh-keygen", "-y", "-P", passphrase, "-f", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return base64.b64decode(out.split()[1])


@pytest.mark.parametrize("encrypted", [False, True])
def test_every_format_reads_as_ssh_reads_it(tmp_path: Path, encrypted: bool) -> None:
    """The private key fleetcheck reads is the one ssh-keygen -y derives, in every format."""
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen")
    passphrase = PASSPHRASE if encrypted else ""
    store = KeyStore(PASSPHRASE if encrypted else None)
    for i, (kind, bits, fmt) in enumerate(KINDS):
        path = _keygen(tmp_path / f"k{i}", kind, bits, fmt, passphrase)
        key = store.get(str(path))
        assert not isinstance(key, str | None), (kind, bits, fmt, key)
        assert key.asbytes() == _ssh_public(path, passphrase), (kind, bits, fmt)
        signing = sshsig.load_signing_key(path, passphrase=passphrase or None)
        assert signing.key.asbytes() == key.asbytes()
    without = KeyStore(None).get(str(tmp_path / "k0"))
    assert without == (f"key {tmp_path / 'k0'} is encrypted and no passphrase was given "
                       "(--ask-key-passphrase or FLEETCHECK_KEY_PASSPHRASE)") if encrypted \
        else not isinstance(without, str)


def test_public_half_and_certificates(tmp_path: Path) -> None:
    """ssh's public key for an identity: the file itself (a .pub), its .pub, or an OpenSSH
    key's own public section (an encrypted key's too); a certificate certifies its key."""
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen")
    key = _keygen(tmp_path / "id", "ed25519", None, None, PASSPHRASE)
    public = _ssh_public(key, PASSPHRASE)
    assert load_public(str(key)) == public
    assert load_public(f"{key}.pub") == public
    Path(f"{key}.pub").rename(tmp_path / "elsewhere.pub")
    assert load_public(str(key)) == public  # from the (encrypted) key file's public section
    ca = _keygen(tmp_path / "ca", "ecdsa", 256, None, "")
    subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", "x", "-n", "u",
                    str(tmp_path / "elsewhere.pub")], check=True, capture_output=True)
    cert = load_certificate(str(tmp_path / "elsewhere-cert.pub"))
    assert cert is not None and plain_blob(cert) == public
    assert same_key(cert, public) and not same_key(cert, _ssh_public(ca, ""))
    assert load_certificate(str(tmp_path / "elsewhere.pub")) is None
    rsa = _keygen(tmp_path / "rsa", "rsa", 2048, "PEM", "")
    assert load_public(str(rsa)) == _ssh_public(rsa, "")  # from rsa.pub
