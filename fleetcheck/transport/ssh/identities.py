"""Which public keys to offer, in which order, signed by what: OpenSSH's pubkey_prepare.

ssh's order: the certificates of CertificateFile; then the agent's keys, in the agent's
order — a key that an IdentityFile also names counts as that file's (and is the only kind
offered with IdentitiesOnly); then the IdentityFiles the agent does not hold, each
followed by its `-cert.pub` when no CertificateFile is configured. The order matters:
sshd counts every refused key against its MaxAuthTries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field

from fleetcheck.sshlib import paramiko

from paramiko.pkey import PublicBlob

from fleetcheck.frozen import frozen, replace
from fleetcheck.transport.ssh.keys import (
    CERT_SUFFIX,
    KeyStore,
    blob_type,
    same_key,
    with_certificate,
)


@frozen(slots=False)
class Identity:
    """One key to offer: from a file (`path`), the agent (`agent`), or a certificate."""

    label: str
    path: str | None = None  # the private key file (a certificate's own key, if beside it)
    public: bytes | None = None  # what is offered (None: known once the file is read)
    agent: paramiko.PKey | None = field(default=None, repr=False)
    named: bool = True  # named by the user (a missing file is reported), not a default

    @property
    def certificate(self) -> bool:
        """Whether it offers a certificate."""
        return self.public is not None and blob_type(self.public).endswith(CERT_SUFFIX)

    def key_type(self) -> str | None:
        """The type offered, when known before reading the private key."""
        return blob_type(self.public) if self.public is not None else None


def prepare(identity_files: Sequence[str], certificate_files: Sequence[str],
            agent_keys: Sequence[paramiko.PKey], identities_only: bool,
            defaults: bool, keys: KeyStore) -> list[Identity]:
    """The identities in the order ssh offers them (public files read through `keys`)."""
    files: list[Identity] = []
    for path in identity_files:
        if path.lower() == "none":  # ssh's way of saying no file
            continue
        files.append(Identity(f"key {path}", path, keys.public(path), named=not defaults))
        cert = None if certificate_files else keys.certificate(f"{path}-cert.pub")
        if cert is not None:
            files.append(Identity(f"certificate {path}-cert.pub", path, cert, named=not defaults))
    preferred: list[Identity] = []
    for path in certificate_files:
        cert = keys.certificate(path)
        if cert is not None:
            preferred.append(Identity(f"certificate {path}", None, cert))
    others: list[Identity] = []
    for key in agent_keys:
        blob = agent_blob(key)
        match = next((i for i in files if i.public is not None and same_key(blob, i.public)),
                     None)
        if match is not None:
            files.remove(match)
            preferred.append(replace(match, agent=key, label=f"agent key for {match.label}"))
        elif not identities_only:
            others.append(Identity(f"agent key {key.get_name()} {key.fingerprint}", None, blob,
                                   agent=key))
    return preferred + others + files


def agent_blob(key: paramiko.PKey) -> bytes:
    """The blob an agent listed a key (or certificate) under."""
    blob = getattr(key, "blob", None)
    return blob if isinstance(blob, bytes) else key.asbytes()


def signer(identity: Identity, every: Sequence[Identity], keys: KeyStore,
           problems: list[str]) -> paramiko.PKey | None:
    """The key that signs for `identity` (a certificate carried on a copy of its private
    key, found beside it, among the files or in the agent); None when there is none,
    with the reason added to `problems` where ssh would say one."""
    if identity.agent is not None:
        return _agent_signer(identity.agent, identity.public)
    if not identity.certificate:
        assert identity.path is not None
        key = _file_key(identity.path, keys, problems, identity.named)
        if key is None:
            return None
        if identity.public is not None and not same_key(identity.public, key.asbytes()):
            problems.append(f"{identity.path}.pub does not match {identity.path}")
            return None
        return key
    assert identity.public is not None
    candidates = [identity.path] if identity.path else []
    candidates += [i.path for i in every if i.path and i.path not in candidates
                   and i.agent is None and i.public is not None
                   and same_key(i.public, identity.public)]
    for other in every:
        if other.agent is not None and not other.certificate and \
                same_key(agent_blob(other.agent), identity.public):
            return _agent_signer(other.agent, identity.public)
    for path in candidates:
        loaded = keys.get(path)
        if isinstance(loaded, paramiko.PKey) and same_key(loaded.asbytes(), identity.public):
            return with_certificate(loaded, identity.public)
        if isinstance(loaded, str) and loaded not in problems:
            problems.append(loaded)
    return None


def _file_key(path: str, keys: KeyStore, problems: list[str],
              named: bool) -> paramiko.PKey | None:
    found = keys.get(path)
    if isinstance(found, str):
        if found not in problems:
            problems.append(found)
        return None
    key = found
    if key is None and named:  # OpenSSH names an explicit one, skips a default silently
        problems.append(f"IdentityFile {path} does not exist")
    return key


def _agent_signer(key: paramiko.PKey, offered: bytes | None) -> paramiko.PKey:
    """The agent's key, set to offer `offered` (its certificate, when that is what is
    offered). paramiko reads `public_blob` from every key it signs with, and an agent's key
    has one only when paramiko could parse it (never a certificate). The agent connection,
    and so the key object, serves one host's authentication, one attempt at a time."""
    if offered is not None and blob_type(offered).endswith(CERT_SUFFIX):
        key.public_blob = PublicBlob(blob_type(offered), offered)
    else:
        key.public_blob = None
    return key
