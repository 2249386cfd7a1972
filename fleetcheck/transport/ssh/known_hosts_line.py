"""One known_hosts line read as OpenSSH reads it (hostfile.c, sshkey_read).

Fields are separated by space and tab only (no other whitespace), a marker must be
followed by a space (`@revoked<TAB>host` is no marker: the line is ignored), the key
type must be a name OpenSSH knows and match the key inside the base64 (`rsa-sha2-256`
and `rsa-sha2-512` name an RSA key too), and the key must decode completely: a key
ssh skips is skipped here, or it would count as a remembered key that ssh ignores.
"""

from __future__ import annotations

import base64
import binascii
import struct

from cryptography.hazmat.primitives.asymmetric import ec

from fleetcheck.frozen import frozen

_CURVES: dict[str, ec.EllipticCurve] = {"nistp256": ec.SECP256R1(),
                                        "nistp384": ec.SECP384R1(),
                                        "nistp521": ec.SECP521R1()}
_SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com"
_SK_ED25519 = "sk-ssh-ed25519@openssh.com"
_PLAIN = ("ssh-ed25519", "ssh-rsa", "ssh-dss", _SK_ED25519, _SK_ECDSA,
          *(f"ecdsa-sha2-{c}" for c in _CURVES))
_CERTS = {f"{t.removesuffix('@openssh.com')}-cert-v01@openssh.com": t for t in _PLAIN}
# The type names sshkey_read takes (exact, case-sensitive) and the key type each stands for.
KEY_TYPES: dict[str, str] = {
    **{t: t for t in _PLAIN}, **{c: c for c in _CERTS},
    "rsa-sha2-256": "ssh-rsa", "rsa-sha2-512": "ssh-rsa",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com": _SK_ECDSA,
    "rsa-sha2-256-cert-v01@openssh.com": "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com": "ssh-rsa-cert-v01@openssh.com",
}
_C_SPACE = " \t\n\v\f\r"  # what OpenSSH's base64 decoder skips anywhere
_NO_SPACE = str.maketrans("", "", _C_SPACE)
_MIN_RSA_BITS = 1024  # sshkey_check_rsa_length: smaller RSA keys are not read at all


@frozen
class KeyLine:
    """A readable line: marker (None, 'revoked', 'cert-authority'), host field, key."""

    marker: str | None
    hosts: str
    key_type: str  # the type inside the key ('ssh-rsa' for a line saying rsa-sha2-256)
    blob: bytes  # the key in its canonical encoding


def _split(text: str) -> tuple[str, str]:
    """The first field (up to a space or tab) and what follows that one separator."""
    ends = [i for i in (text.find(" "), text.find("\t")) if i >= 0]
    if not ends:
        return text, ""
    return text[:min(ends)], text[min(ends) + 1:]


def _marker(text: str) -> tuple[str | None, str] | None:
    """check_markers: (marker, rest), or None for a line ssh refuses for its marker."""
    marker = None
    while text.startswith("@"):
        if marker is not None:
            return None  # one marker only
        # ssh looks for a space first and a tab only when the line has no space at all.
        end = text.find(" ")
        end = text.find("\t") if end < 0 else end
        if end <= 1 or end >= 32:
            return None
        word = text[:end]
        if word not in ("@revoked", "@cert-authority"):
            return None
        marker = word[1:]
        text = text[end:].lstrip(" \t")
    return marker, text


def parse_line(line: str) -> KeyLine | str | None:
    """The line's entry, None for a comment or blank line, or why ssh would not read it."""
    line = line.split("\0", 1)[0]  # C strings end there
    text = line.lstrip(" \t")
    if not text or text.startswith("#"):
        return None
    marked = _marker(text)
    if marked is None:
        return "invalid marker"
    marker, text = marked
    hosts, rest = _split(text)
    rest = rest.lstrip(" \t")
    if not rest or rest.startswith("#"):
        return "no key type after the host names"
    name, after = _split(rest)
    after = after.lstrip(" \t")
    if name == rest or not after:  # sshkey_read: a separator, then the key, must follow
        return "no key after the key type"
    key_type = KEY_TYPES.get(name)
    if key_type is None:
        return f"unknown key type {name!r}"
    b64, _ = _split(after)
    blob = _b64(b64)
    if blob is None:
        return "key is not base64"
    canonical = canonical_key(blob)
    if canonical is None or canonical[0] != key_type:
        return f"not a valid {name} key"
    return KeyLine(marker, hosts, key_type, canonical[1])


def _b64(text: str) -> bytes | None:
    """OpenSSH's b64_pton: whitespace skipped, padding required, no stray bits."""
    text = text.translate(_NO_SPACE)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if base64.b64encode(data).decode() == text else None


class _Reader:
    """SSH wire format (RFC 4251): strings and mpints, raising ValueError when short."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def string(self) -> bytes:
        if self.pos + 4 > len(self.data):
            raise ValueError("short")
        (n,) = struct.unpack(">I", self.data[self.pos:self.pos + 4])
        if self.pos + 4 + n > len(self.data):
            raise ValueError("short")
        self.pos += 4 + n
        return self.data[self.pos - n:self.pos]

    def mpint(self) -> int:
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise ValueError("negative")
        return int.from_bytes(raw, "big")

    def done(self) -> bool:
        return self.pos == len(self.data)


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(n: int) -> bytes:
    raw = n.to_bytes(n.bit_length() // 8 + 1, "big") if n else b""
    return _string(raw)


def canonical_key(blob: bytes) -> tuple[str, bytes] | None:
    """(key type, blob re-encoded) for a public key OpenSSH would decode, else None."""
    r = _Reader(blob)
    try:
        kind = r.string().decode("ascii")
        if kind in _CERTS:  # certificates are compared whole; never a plain host key
            return kind, blob
        if kind == "ssh-rsa":
            e, n = r.mpint(), r.mpint()
            if n.bit_length() < _MIN_RSA_BITS or not r.done():
                return None
            return kind, _string(b"ssh-rsa") + _mpint(e) + _mpint(n)
        if kind == "ssh-dss":
            nums = [r.mpint() for _ in range(4)]
            return (kind, _string(b"ssh-dss") + b"".join(map(_mpint, nums))) \
                if r.done() else None
        if kind in ("ssh-ed25519", _SK_ED25519):
            public = r.string()
            if kind == _SK_ED25519:
                r.string()  # the application
            return (kind, blob) if len(public) == 32 and r.done() else None
        if kind.startswith("ecdsa-sha2-") or kind == _SK_ECDSA:
            curve = r.string().decode("ascii")
            wanted = "nistp256" if kind == _SK_ECDSA else kind.removeprefix("ecdsa-sha2-")
            point = r.string()
            if kind == _SK_ECDSA:
                r.string()  # the application
            if curve != wanted or wanted not in _CURVES or not point.startswith(b"\x04") \
                    or not r.done():
                return None
            ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[wanted], point)
            return kind, blob
    except (ValueError, UnicodeDecodeError):
        return None
    return None
