"""Ansible Vault (format 1.1 and 1.2, AES256): password files and decryption.

The envelope is a header line `$ANSIBLE_VAULT;1.1;AES256` (1.2 adds `;label`)
followed by hex text that decodes to three hex lines: salt, HMAC and ciphertext.
Keys come from PBKDF2-HMAC-SHA256 (10000 rounds, 80 bytes: AES key, HMAC key,
counter IV); the plaintext is AES-256-CTR with PKCS#7 padding.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from fleetcheck.bounded import MAX_SECRET_BYTES, read_bounded, run_checked
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen

if TYPE_CHECKING:
    from fleetcheck.inventory.values import Origin

HEADER = "$ANSIBLE_VAULT"
_KDF_ROUNDS = 10000
_KEY_LEN = 32
_IV_LEN = 16
_SCRIPT_TIMEOUT = 60.0


class VaultError(Exception):
    """A vault envelope that is malformed or that no known password opens."""


@frozen
class VaultSecret:
    """One vault password and the file it came from (the password never shows in a repr)."""

    source: str
    password: bytes = field(repr=False)


def is_vaulted(data: str | bytes) -> bool:
    """True when `data` is an Ansible Vault envelope."""
    if isinstance(data, bytes):
        return data.lstrip().startswith(HEADER.encode())
    return data.lstrip().startswith(HEADER)


def read_password_file(path: str) -> VaultSecret:
    """The password in `path` (or printed by it, when executable); InputError when unusable."""
    p = Path(path)
    if not p.exists():
        raise InputError("vault password file not found", path)
    if p.is_dir():
        raise InputError("vault password file is a directory", path)
    if os.access(p, os.X_OK):
        try:
            proc = run_checked([str(p)], "vault password script", path, timeout=_SCRIPT_TIMEOUT,
                               max_stdout=MAX_SECRET_BYTES, own_group=False)
        except OSError as exc:
            raise InputError(f"vault password script failed: {exc}", path) from None
        if proc.returncode != 0:
            raise InputError(f"vault password script exited {proc.returncode}", path)
        password = proc.stdout.strip(b"\r\n")
    else:
        password = read_bounded(path, MAX_SECRET_BYTES, "vault password file").strip()
    if not password:
        raise InputError("vault password file is empty", path)
    return VaultSecret(path, password)


@frozen
class _Envelope:
    """An Ansible vault text taken apart: header fields and payload."""

    version: str
    cipher: str
    label: str | None
    salt: bytes
    mac: bytes
    ciphertext: bytes


def _parse(text: bytes) -> _Envelope:
    """The parts of a vault envelope; VaultError when malformed or unsupported."""
    lines = text.strip().splitlines()
    if not lines:
        raise VaultError("empty vault envelope")
    header = [part.strip() for part in lines[0].split(b";")]
    if header[0] != HEADER.encode() or len(header) < 3:
        raise VaultError("malformed vault header")
    version = header[1].decode("ascii", "replace")
    cipher = header[2].decode("ascii", "replace")
    if version not in ("1.1", "1.2"):
        raise VaultError(f"unsupported vault format version {version}")
    if cipher != "AES256":
        raise VaultError(f"unsupported vault cipher {cipher}")
    label = header[3].decode("utf-8", "replace") if version == "1.2" and len(header) > 3 else None
    try:
        inner = binascii.unhexlify(b"".join(line.strip() for line in lines[1:]))
        salt_hex, mac_hex, data_hex = inner.split(b"\n", 2)
        return _Envelope(version, cipher, label, binascii.unhexlify(salt_hex),
                         binascii.unhexlify(mac_hex), binascii.unhexlify(data_hex))
    except (binascii.Error, ValueError):
        raise VaultError("vault payload is not valid hex") from None


def _open(envelope: _Envelope, password: bytes) -> bytes | None:
    """The plaintext, or None when this password does not open the envelope."""
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=2 * _KEY_LEN + _IV_LEN,
                     salt=envelope.salt, iterations=_KDF_ROUNDS)
    derived = kdf.derive(password)
    aes_key, mac_key = derived[:_KEY_LEN], derived[_KEY_LEN:2 * _KEY_LEN]
    iv = derived[2 * _KEY_LEN:]
    mac = hmac.HMAC(mac_key, hashes.SHA256())
    mac.update(envelope.ciphertext)
    try:
        mac.verify(envelope.mac)
    except InvalidSignature:
        return None
    decryptor = Cipher(algorithms.AES(aes_key), modes.CTR(iv)).decryptor()
    padded = decryptor.update(envelope.ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise VaultError("vault plaintext has invalid padding") from None


class Keyring:
    """The vault passwords of one run; decrypted envelopes are remembered (PBKDF2 is slow)."""

    __slots__ = ("_cache", "secrets")

    def __init__(self, secrets: Sequence[VaultSecret] = ()) -> None:
        self.secrets = tuple(secrets)
        self._cache: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"Keyring({len(self.secrets)} secret{'s' * (len(self.secrets) != 1)})"

    @classmethod
    def from_files(cls, paths: Sequence[str]) -> Keyring:
        """A keyring holding the password of every file in `paths`."""
        return cls([read_password_file(p) for p in paths])

    def decrypt(self, vaulttext: str | bytes, where: Origin) -> bytes:
        """The plaintext bytes of an envelope; InputError at `where` when it cannot be opened."""
        raw = vaulttext.encode() if isinstance(vaulttext, str) else vaulttext
        key = raw.decode("latin-1")
        if key in self._cache:
            return self._cache[key]
        if not self.secrets:
            raise where.error("vault-encrypted data and no vault password was given "
                              "(use --vault-password-file)")
        try:
            envelope = _parse(raw)
            # Try a secret whose file name matches a 1.2 label first, as Ansible's vault ids do.
            ordered = sorted(self.secrets,
                             key=lambda s: envelope.label is None or envelope.label not in s.source)
            for secret in ordered:
                plain = _open(envelope, secret.password)
                if plain is not None:
                    self._cache[key] = plain
                    return plain
        except VaultError as exc:
            raise where.error(f"cannot decrypt vault data: {exc}") from None
        raise where.error("cannot decrypt vault data: no vault password given opens it "
                          "(HMAC mismatch)")

    def decrypt_text(self, vaulttext: str, where: Origin) -> str:
        """The plaintext of an envelope as text (UTF-8)."""
        data = self.decrypt(vaulttext, where)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise where.error("vault plaintext is not UTF-8 text") from None
