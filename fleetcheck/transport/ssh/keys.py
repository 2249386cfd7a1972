"""Key files as OpenSSH reads them: private keys (OpenSSH, PEM and PKCS#8; decrypted once
per run), public halves (`X`, `X.pub`, or the OpenSSH key file's own public section), and
user certificates (`X-cert.pub`, CertificateFile).

Private keys are read with `cryptography` and handed to paramiko as key objects: paramiko's
own reader takes no PKCS#8 RSA or ECDSA key, and misreads an unencrypted OpenSSH-format
key whose private section needs no padding (as an ECDSA key with an empty comment often
does) as having none.
"""

from __future__ import annotations

import base64
import copy
import struct
import threading
from pathlib import Path

from fleetcheck.sshlib import paramiko

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from paramiko.pkey import PublicBlob

from fleetcheck.bounded import MAX_KEY_BYTES, open_no_wait

CERT_SUFFIX = "-cert-v01@openssh.com"
_OPENSSH_BEGIN = b"-----BEGIN OPENSSH PRIVATE KEY-----"
_OPENSSH_MAGIC = b"openssh-key-v1\x00"


class KeyStore:
    """Private keys by path, each read (and decrypted: bcrypt KDF is slow) once per run;
    the public halves and certificates ssh offers, each read once per run too (every host
    would otherwise read the same two or three files again)."""

    def __init__(self, passphrase: str | None) -> None:
        self._passphrase = passphrase
        self._keys: dict[str, paramiko.PKey | str | None] = {}
        self._public: dict[tuple[str, bool], bytes | None] = {}
        self._lock = threading.Lock()

    def public(self, path: str) -> bytes | None:
        """`load_public(path)`, read once per run."""
        return self._memo(path, False)

    def certificate(self, path: str) -> bytes | None:
        """`load_certificate(path)`, read once per run."""
        return self._memo(path, True)

    def _memo(self, path: str, certificate: bool) -> bytes | None:
        key = (path, certificate)
        if key not in self._public:  # a race reads the file twice, to the same result
            self._public[key] = load_certificate(path) if certificate else load_public(path)
        return self._public[key]

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
            return read_key(path, self._passphrase)
        except EncryptedKey:
            return (f"key {path} is encrypted and no passphrase was given "
                    "(--ask-key-passphrase or FLEETCHECK_KEY_PASSPHRASE)")
        except (ValueError, TypeError, OSError, paramiko.SSHException,
                UnsupportedAlgorithm) as exc:
            if self._passphrase is not None and encrypted_key_file(path):
                return f"cannot decrypt key {path} with the passphrase given"
            return f"cannot use key {path}: {key_problem(exc)}"


def key_problem(exc: Exception) -> str:
    """Why a key file did not read, in words about the file (not the reading library's)."""
    if isinstance(exc, UnicodeDecodeError):  # paramiko reads an Ed25519 key file as text
        return "it holds bytes that are not UTF-8 text, which no key file does"
    text = str(exc)
    if "Unable to load PEM file" in text:  # cryptography's words, and a link to its FAQ
        return "it holds no private key in a format OpenSSH reads (OpenSSH, PEM or PKCS#8)"
    return text


def encrypted_key_file(path: str) -> bool:
    """Whether `path` holds an encrypted private key (one that needs a passphrase)."""
    try:
        read_private(path, None)
    except EncryptedKey:
        return True
    except (ValueError, TypeError, OSError, paramiko.SSHException, UnsupportedAlgorithm):
        return False
    return False


class EncryptedKey(Exception):
    """The key file is encrypted and no passphrase was given."""


def read_key(path: str, passphrase: str | None) -> paramiko.PKey:
    """The private key in `path`, decrypted with `passphrase` only if it is encrypted;
    EncryptedKey when it is and there is none, ValueError/TypeError/OSError otherwise."""
    try:
        return read_private(path, None)
    except EncryptedKey:
        if passphrase is None:
            raise
    return read_private(path, passphrase)


def read_key_bytes(path: str) -> bytes:
    """The bytes of key file `path`, at most MAX_KEY_BYTES and one more (then no key reads
    from them); a FIFO nobody writes reads as empty, never a hang. OSError when unreadable."""
    with open_no_wait(path) as f:
        return f.read(MAX_KEY_BYTES + 1)


def read_private(path: str, passphrase: str | None) -> paramiko.PKey:
    """The private key in `path` (any format OpenSSH reads) as a paramiko key."""
    data = read_key_bytes(path)
    secret = passphrase.encode() if passphrase is not None else None
    loaded: object
    try:
        if _OPENSSH_BEGIN in data:
            loaded = serialization.load_ssh_private_key(data, secret)
        else:
            loaded = serialization.load_pem_private_key(data, secret)
    except TypeError as exc:  # cryptography: "Password was not given but ... is encrypted",
        # "Key is password-protected, but password was not provided."
        if secret is None and ("not given" in str(exc) or "not provided" in str(exc)):
            raise EncryptedKey(path) from None
        raise
    if isinstance(loaded, rsa.RSAPrivateKey):
        return paramiko.RSAKey(key=loaded)
    if isinstance(loaded, ec.EllipticCurvePrivateKey):
        return paramiko.ECDSAKey(vals=(loaded, loaded.public_key()))
    if isinstance(loaded, ed25519.Ed25519PrivateKey):
        return paramiko.Ed25519Key(filename=path, password=passphrase)
    raise ValueError(f"{type(loaded).__name__} keys are not supported")


def public_line(path: str) -> tuple[str, bytes] | None:
    """(type, blob) of a one-line public key or certificate file, None if it is not one."""
    try:
        text = read_key_bytes(path).decode(errors="replace")
    except OSError:
        return None
    words = text.split()
    if len(words) < 2 or "\n" in text.strip():
        return None
    try:
        blob = base64.b64decode(words[1], validate=True)
    except ValueError:
        return None
    kind = _string(blob, 0)[0]
    return (words[0], blob) if kind == words[0].encode() else None


def load_public(path: str) -> bytes | None:
    """The public key ssh offers for identity `path`, as sshkey_load_public finds it: the
    file itself when it is a public key, else `path.pub`, else the public section of an
    OpenSSH-format private key (readable without its passphrase)."""
    for candidate in (path, path + ".pub"):
        found = public_line(candidate)
        if found is not None and not found[0].endswith(CERT_SUFFIX):
            return found[1]
    try:
        data = read_key_bytes(path)
    except OSError:
        return None
    if _OPENSSH_BEGIN not in data:
        return None
    try:
        body = data.split(_OPENSSH_BEGIN, 1)[1].split(b"-----END", 1)[0]
        raw = base64.b64decode(b"".join(body.split()))
        if not raw.startswith(_OPENSSH_MAGIC):
            return None
        at = len(_OPENSSH_MAGIC)
        for _ in range(3):  # cipher, kdf name, kdf options
            at = _string(raw, at)[1]
        at += 4  # the number of keys
        return _string(raw, at)[0]
    except (ValueError, IndexError, struct.error):
        return None


def load_certificate(path: str) -> bytes | None:
    """The user certificate blob in `path`, None when it holds none."""
    found = public_line(path)
    return found[1] if found is not None and found[0].endswith(CERT_SUFFIX) else None


def blob_type(blob: bytes) -> str:
    """The type a key or certificate blob names."""
    return _string(blob, 0)[0].decode(errors="replace")


def plain_blob(blob: bytes) -> bytes:
    """The public key a certificate certifies (a plain key's blob as it is)."""
    kind = blob_type(blob)
    if not kind.endswith(CERT_SUFFIX):
        return blob
    plain = kind.removesuffix(CERT_SUFFIX)
    at = _string(blob, _string(blob, 0)[1])[1]  # skip the type and the nonce
    fields = {"ssh-ed25519": 1, "ssh-rsa": 2, "ssh-dss": 4}.get(plain, 2)  # ecdsa: curve, Q
    start = at
    for _ in range(fields):
        at = _string(blob, at)[1]
    return _pack(plain.encode()) + blob[start:at]


def same_key(a: bytes, b: bytes) -> bool:
    """OpenSSH's sshkey_equal: two certificates must be the same certificate; otherwise
    (keys, or a key and a certificate) the public keys must be the same."""
    if blob_type(a).endswith(CERT_SUFFIX) and blob_type(b).endswith(CERT_SUFFIX):
        return a == b
    return plain_blob(a) == plain_blob(b)


def with_certificate(key: paramiko.PKey, cert: bytes) -> paramiko.PKey:
    """A copy of `key` that offers `cert` (the key itself is left as it is)."""
    out = copy.copy(key)
    out.public_blob = PublicBlob(blob_type(cert), cert)
    return out


def _string(data: bytes, at: int) -> tuple[bytes, int]:
    (size,) = struct.unpack(">I", data[at:at + 4])
    if at + 4 + size > len(data):
        raise ValueError("truncated key blob")
    return data[at + 4:at + 4 + size], at + 4 + size


def _pack(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value
