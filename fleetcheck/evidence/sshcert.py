"""OpenSSH user certificates (PROTOCOL.certkeys) as `ssh-keygen -Y verify` takes them for a
signature: the certified key made the signature; a `cert-authority` line of allowed_signers
names the CA, whose signature over the certificate must verify; the certificate must be a
user certificate valid at the time of checking, and name the principal (exactly: no
patterns in a certificate). Critical options are not judged, as OpenSSH does not for
signatures."""

from __future__ import annotations

import datetime as dt
import struct

from fleetcheck.frozen import frozen

SUFFIX = "-cert-v01@openssh.com"
# How many SSH strings (or mpints) hold the certified key after the nonce, by its type.
_KEY_FIELDS = {"ssh-ed25519": 1, "ssh-rsa": 2, "ecdsa-sha2-nistp256": 2,
               "ecdsa-sha2-nistp384": 2, "ecdsa-sha2-nistp521": 2}
USER = 1
FOREVER = (1 << 64) - 1


class CertificateError(Exception):
    """A certificate that is malformed or of a kind fleetcheck does not check."""


def _string(blob: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 4 > len(blob):
        raise CertificateError("the certificate is truncated")
    (n,) = struct.unpack(">I", blob[pos:pos + 4])
    if pos + 4 + n > len(blob):
        raise CertificateError("the certificate is truncated")
    return blob[pos + 4:pos + 4 + n], pos + 4 + n


def _uint(blob: bytes, pos: int, size: int) -> tuple[int, int]:
    if pos + size > len(blob):
        raise CertificateError("the certificate is truncated")
    return int.from_bytes(blob[pos:pos + size], "big"), pos + size


@frozen
class Certificate:
    """The parts of a certificate a signature check needs."""

    key: bytes  # the certified key, plain SSH wire encoding
    kind: int  # 1 user, 2 host
    key_id: str
    principals: tuple[str, ...]
    valid_after: int  # seconds since the epoch, UTC
    valid_before: int
    ca_key: bytes  # the CA's key, SSH wire encoding
    signed: bytes  # what the CA signed
    signature: bytes  # the CA's signature blob

    def refusal(self, now: dt.datetime, identity: str | None) -> str | None:
        """Why this certificate does not let its key sign now (as `identity`), or None."""
        when = int(now.timestamp())
        if self.kind != USER:
            return f"certificate {self.key_id!r} is not a user certificate"
        if when < self.valid_after:
            return f"certificate {self.key_id!r} is not valid yet"
        if self.valid_before != FOREVER and when >= self.valid_before:
            return f"certificate {self.key_id!r} has expired"
        if not self.principals:
            return f"certificate {self.key_id!r} names no principal"
        if identity is not None and identity not in self.principals:
            return f"certificate {self.key_id!r} does not name {identity!r}"
        return None


def is_certificate(key_type: str) -> bool:
    """True for an OpenSSH certificate key type."""
    return key_type.endswith(SUFFIX)


def parse(blob: bytes) -> Certificate:
    """Read a certificate blob; CertificateError when malformed or of another kind."""
    kind_name, pos = _string(blob, 0)
    try:
        base = kind_name.decode("ascii").removesuffix(SUFFIX)
    except UnicodeDecodeError:
        raise CertificateError("the certificate's type is not text") from None
    if base not in _KEY_FIELDS or not kind_name.endswith(SUFFIX.encode()):
        raise CertificateError(f"{kind_name!r} certificates are not supported")
    _nonce, pos = _string(blob, pos)
    start = pos
    for _ in range(_KEY_FIELDS[base]):
        _, pos = _string(blob, pos)
    key = struct.pack(">I", len(base)) + base.encode() + blob[start:pos]
    _serial, pos = _uint(blob, pos, 8)
    kind, pos = _uint(blob, pos, 4)
    key_id, pos = _string(blob, pos)
    packed, pos = _string(blob, pos)
    names, at = [], 0
    while at < len(packed):
        name, at = _string(packed, at)
        names.append(name.decode("utf-8", "replace"))
    after, pos = _uint(blob, pos, 8)
    before, pos = _uint(blob, pos, 8)
    for _ in range(3):  # critical options, extensions, reserved
        _, pos = _string(blob, pos)
    ca_key, pos = _string(blob, pos)
    signed = blob[:pos]
    signature, pos = _string(blob, pos)
    if pos != len(blob):
        raise CertificateError("the certificate has trailing bytes")
    return Certificate(key, kind, key_id.decode("utf-8", "replace"), tuple(names), after,
                       before, ca_key, signed, signature)
