"""OpenSSH signatures (SSHSIG, as `ssh-keygen -Y sign` makes them): sign with a key file or an
ssh-agent key, read and check the armored signature. See OpenSSH's PROTOCOL.sshsig.

The armor is checked strictly (canonical base64 between the exact header and footer lines),
so that changing any byte of a signature file is caught, not only the bytes that carry bits.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

from fleetcheck.sshlib import paramiko

from cryptography.exceptions import UnsupportedAlgorithm
from paramiko.message import Message
from paramiko.pkey import UnknownKeyType

# One ssh-agent connection over a socket path: the SSH transport's own, reused for signing.
from fleetcheck.evidence import sshcert
from fleetcheck.frozen import frozen
from fleetcheck.transport.ssh.auth import _Agent
from fleetcheck.transport.ssh.keys import (
    EncryptedKey,
    encrypted_key_file,
    key_problem,
    read_key,
    read_key_bytes,
)

MAGIC = b"SSHSIG"
VERSION = 1
NAMESPACE = "fleetcheck"
HASH = "sha512"
HEADER = "-----BEGIN SSH SIGNATURE-----"
FOOTER = "-----END SSH SIGNATURE-----"
LINE = 70  # ssh-keygen's line length
_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


class SignatureError(Exception):
    """A signature that is malformed, or that does not verify; the message says which."""


class KeyProblem(Exception):
    """A signing key that cannot be used (missing, encrypted without passphrase, not in the
    agent); the message says why."""


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def signed_data(message: bytes, namespace: str = NAMESPACE, hash_alg: str = HASH) -> bytes:
    """What the key actually signs: the preamble, namespace, hash algorithm and H(message)."""
    digest = _HASHES[hash_alg](message).digest()
    return (MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_alg.encode())
            + _string(digest))


def armor(blob: bytes) -> str:
    """The armored text of a signature blob, wrapped as ssh-keygen wraps it."""
    b64 = base64.b64encode(blob).decode()
    lines = [b64[i:i + LINE] for i in range(0, len(b64), LINE)]
    return "\n".join([HEADER, *lines, FOOTER]) + "\n"


def _algorithm(key: paramiko.PKey) -> str | None:
    # RSA must sign with SHA-2 (PROTOCOL.sshsig); other key types have one algorithm.
    return "rsa-sha2-512" if key.get_name() == "ssh-rsa" else None


def sign(message: bytes, key: paramiko.PKey, namespace: str = NAMESPACE) -> str:
    """An armored SSHSIG signature of `message` by `key` (a key file's or an agent's)."""
    raw = key.sign_ssh_data(signed_data(message, namespace), _algorithm(key))
    signature = raw.asbytes() if isinstance(raw, Message) else bytes(raw)
    blob = (MAGIC + struct.pack(">I", VERSION) + _string(key.asbytes())
            + _string(namespace.encode()) + _string(b"") + _string(HASH.encode())
            + _string(signature))
    return armor(blob)


@frozen
class Signature:
    """A parsed SSHSIG signature."""

    public_key: bytes  # the signer's key, SSH wire encoding
    namespace: str
    hash_alg: str
    signature: bytes

    @property
    def certificate(self) -> sshcert.Certificate | None:
        """The signer's certificate, when it signed with one; SignatureError if malformed."""
        if not sshcert.is_certificate(key_type(self.public_key)):
            return None
        try:
            return sshcert.parse(self.public_key)
        except sshcert.CertificateError as exc:
            raise SignatureError(f"the signer's certificate: {exc}") from None

    @property
    def key(self) -> paramiko.PKey:
        """The key that made the signature (a certificate's certified key); SignatureError
        for a key type fleetcheck cannot check."""
        cert = self.certificate
        return public_key(cert.key if cert is not None else self.public_key)

    def verifies(self, message: bytes) -> bool:
        """True when the signature is valid for `message` (under its own namespace)."""
        return verifies(self.key, signed_data(message, self.namespace, self.hash_alg),
                        self.signature)


def public_key(blob: bytes) -> paramiko.PKey:
    """The public key of an SSH key blob; SignatureError for a type fleetcheck cannot check."""
    kind = key_type(blob)
    try:
        key = paramiko.PKey.from_type_string(kind, blob)
    except (paramiko.SSHException, UnknownKeyType, ValueError, TypeError,
            IndexError, struct.error) as exc:
        raise SignatureError(f"signed with a {kind} key, which fleetcheck cannot check "
                             f"({exc}); check it with ssh-keygen -Y verify") from None
    # paramiko reads key blobs leniently (short fields padded): only the exact encoding
    # of the key it read is that key.
    if key.asbytes() != blob:
        raise SignatureError("the signer's public key is not in canonical SSH encoding")
    return key


def verifies(key: paramiko.PKey, data: bytes, signature: bytes) -> bool:
    """True when `signature` (an SSH signature blob) by `key` is valid for `data`."""
    if not _canonical_signature(signature, key.get_name()):
        return False
    try:
        return bool(key.verify_ssh_sig(data, Message(signature)))
    except (paramiko.SSHException, ValueError, TypeError, IndexError, struct.error):
        return False


def _mpint(value: int) -> bytes:
    """An SSH mpint's bytes: big-endian, minimal, a leading zero when the top bit is set."""
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return b"\0" + raw if raw and raw[0] & 0x80 else raw


# The signature algorithms each key type may sign with (PROTOCOL.sshsig: never ssh-rsa/SHA-1).
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}


def _canonical_signature(signature: bytes, key_name: str) -> bool:
    """True when the signature blob is exactly `string alg, string sig` with the algorithm
    the key type signs with, and (ECDSA) its r and s are minimal mpints: paramiko reads
    blobs leniently, and an edited length must not slip through."""
    try:
        alg, pos = _read_string(signature, 0)
        raw, pos = _read_string(signature, pos)
        if pos != len(signature):
            return False
        if alg.decode("ascii") not in _ALGORITHMS.get(key_name, (key_name,)):
            return False
        if key_name.startswith("ecdsa-"):
            r, pos = _read_string(raw, 0)
            s, pos = _read_string(raw, pos)
            return pos == len(raw) and all(
                m == _mpint(int.from_bytes(m, "big")) and m[:1] != b"" for m in (r, s))
        return True
    except (SignatureError, UnicodeDecodeError):
        return False


def _read_string(blob: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 4 > len(blob):
        raise SignatureError("the signature blob is truncated")
    (n,) = struct.unpack(">I", blob[pos:pos + 4])
    end = pos + 4 + n
    if end > len(blob):
        raise SignatureError("the signature blob is truncated")
    return blob[pos + 4:end], end


def dearmor(text: bytes) -> bytes:
    """The blob of an armored signature; SignatureError for anything but the exact armor."""
    try:
        lines = text.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise SignatureError("not an SSH signature (not ASCII text)") from None
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 3 or lines[0] != HEADER or lines[-1] != FOOTER:
        raise SignatureError(f"not an SSH signature (it must start with {HEADER} and end "
                             f"with {FOOTER})")
    b64 = "".join(lines[1:-1])
    if not b64 or not set(b64.encode()) <= _B64:
        raise SignatureError("the signature's base64 holds other characters")
    try:
        blob = base64.b64decode(b64, validate=True)
    except ValueError:
        raise SignatureError("the signature's base64 does not decode") from None
    if base64.b64encode(blob).decode() != b64:
        raise SignatureError("the signature's base64 is not in canonical form (edited?)")
    return blob


def parse(text: bytes) -> Signature:
    """Read an armored signature; SignatureError for anything but the exact format."""
    blob = dearmor(text)
    if not blob.startswith(MAGIC) or len(blob) < 10:
        raise SignatureError("not an SSHSIG signature (no SSHSIG preamble)")
    (version,) = struct.unpack(">I", blob[6:10])
    if version != VERSION:
        raise SignatureError(f"SSHSIG version {version} is not supported (only {VERSION})")
    fields = []
    pos = 10
    for _ in range(5):
        value, pos = _read_string(blob, pos)
        fields.append(value)
    if pos != len(blob):
        raise SignatureError("the signature blob has trailing bytes")
    public_key, namespace, _reserved, hash_alg, signature = fields
    alg = hash_alg.decode("ascii", "replace")
    if alg not in _HASHES:
        raise SignatureError(f"unsupported hash algorithm {alg!r}")
    key_type(public_key)
    return Signature(public_key, namespace.decode("utf-8", "replace"), alg, signature)


def key_type(public_key: bytes) -> str:
    """The type name a public key blob starts with; SignatureError when it has none."""
    try:
        kind = Message(public_key).get_text()
    except (paramiko.SSHException, struct.error, IndexError, UnicodeDecodeError):
        raise SignatureError("the signer's public key is malformed") from None
    if not kind:
        raise SignatureError("the signer's public key is malformed")
    return kind


def fingerprint(public_key: bytes) -> str:
    """'SHA256:…' as ssh-keygen -l prints it."""
    digest = base64.b64encode(hashlib.sha256(public_key).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def describe(public_key: bytes) -> str:
    """'ssh-ed25519 SHA256:…': the key type and fingerprint, how reports name a signer."""
    try:
        kind = key_type(public_key)
    except SignatureError:
        kind = "malformed-key"
    return f"{kind} {fingerprint(public_key)}"


# Loading a signing key: a private key file, or a public key whose private half the agent holds.

def _public_blob(text: str) -> bytes | None:
    """The key blob of an OpenSSH public key line ('ssh-ed25519 AAAA… comment'), else None."""
    parts = text.split()
    if len(parts) < 2:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
        return blob if Message(blob).get_text() == parts[0] else None
    except (ValueError, struct.error, IndexError, UnicodeDecodeError, paramiko.SSHException):
        return None


@dataclass
class SigningKey:
    """A key to sign with and, for an agent key, the agent connection to close afterwards."""

    key: paramiko.PKey
    agent: _Agent | None = None

    def close(self) -> None:
        """Release the agent connection, if any."""
        if self.agent is not None:
            self.agent.close()
            self.agent = None


def load_signing_key(path: Path, *, passphrase: str | None = None,
                     agent_socket: str | None = None) -> SigningKey:
    """As `ssh-keygen -Y sign -f PATH`: a private key file, or a public key file (`.pub`) whose
    private key the ssh-agent at `agent_socket` holds (also tried for an encrypted private
    key with no passphrase, through its `.pub`). KeyProblem says why a key cannot sign."""
    try:
        text = read_key_bytes(str(path))  # a FIFO nobody writes: empty, not a hang
    except OSError as exc:
        raise KeyProblem(f"cannot read the signing key: {exc.strerror}") from None
    blob = _public_blob(text.decode("utf-8", "replace"))
    if blob is None:
        try:
            # read as ssh reads keys (PKCS#8 too; paramiko's own reader misreads some)
            return SigningKey(read_key(str(path), passphrase))
        except EncryptedKey:
            pub = Path(f"{path}.pub")
            blob = (_public_blob(read_key_bytes(str(pub)).decode("utf-8", "replace"))
                    if pub.is_file() else None)
            if blob is None or not agent_socket:
                raise KeyProblem("the signing key is encrypted: set FLEETCHECK_KEY_PASSPHRASE, "
                                "or load it into ssh-agent") from None
        except (paramiko.SSHException, ValueError, TypeError, OSError,
                UnsupportedAlgorithm) as exc:
            if passphrase is not None and encrypted_key_file(str(path)):
                # a wrong passphrase reads as a corrupt key; say which it is
                raise KeyProblem("cannot decrypt the signing key with the passphrase given "
                                 "(FLEETCHECK_KEY_PASSPHRASE)") from None
            raise KeyProblem(f"not a usable SSH private or public key: {key_problem(exc)}") \
                from None
    if not agent_socket:
        raise KeyProblem("a public key signs through ssh-agent, but SSH_AUTH_SOCK is not set")
    try:
        agent = _Agent(agent_socket, 10.0)
    except (OSError, paramiko.SSHException) as exc:
        raise KeyProblem(f"cannot reach ssh-agent at SSH_AUTH_SOCK: {exc}") from None
    for key in agent.get_keys():
        if key.asbytes() == blob:
            return SigningKey(key, agent)
    agent.close()
    raise KeyProblem(f"ssh-agent does not hold the key {describe(blob)}")
