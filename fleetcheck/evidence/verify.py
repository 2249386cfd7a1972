"""Checking an evidence bundle: every file against SHA256SUMS, nothing missing or added, and the
signature over SHA256SUMS by a key the auditor's allowed_signers lets sign for fleetcheck.

Every problem names the file it concerns (or the signing key). The outcome:
verified (0), failed (1: a file differs, is missing or unexpected, the signature is bad,
or its key is not allowed), or intact but not proven (3: unsigned, or no allowed_signers
given to judge the signer). Bad input (not a zip, unreadable allowed_signers) is exit 2.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fleetcheck.evidence import sshcert, sshsig, zipread
from fleetcheck.evidence.bundle import MANIFEST, SIGNATURE
from fleetcheck.evidence.signers import AllowedSigner, matches
from fleetcheck.evidence.sums import read as read_manifest
from fleetcheck.frozen import frozen


class Outcome(enum.IntEnum):
    """The exit status of `fleetcheck verify`."""

    VERIFIED = 0
    FAILED = 1
    NOT_PROVEN = 3


@frozen
class Verification:
    """What a check of a bundle found."""

    files: int  # files the manifest lists
    digest: str | None  # SHA-256 of SHA256SUMS, when there is one
    signed_by: str | None  # the signing key, when the signature parsed
    principals: str | None  # the allowed_signers principals that let it sign
    problems: tuple[str, ...] = ()  # each names its file or key
    notes: tuple[str, ...] = ()  # why the bundle is not proven, when it is not

    @property
    def outcome(self) -> Outcome:
        """Failed when anything is wrong; not proven when nothing says who made it."""
        if self.problems:
            return Outcome.FAILED
        return Outcome.NOT_PROVEN if self.notes else Outcome.VERIFIED


@dataclass
class _Found:
    """What checking a bundle found: problems and notes."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _manifest(data: bytes, found: _Found) -> dict[str, str]:
    read = read_manifest(data, MANIFEST, (MANIFEST, SIGNATURE))
    found.problems.extend(read.problems)
    return read.listed


def _check_files(digests: Mapping[str, str], listed: Mapping[str, str], found: _Found,
                 refused: Collection[str] = ()) -> None:
    for name, digest in sorted(listed.items()):
        if name in refused:
            continue  # already named for what it is
        if name not in digests:
            found.problems.append(f"{name}: listed in {MANIFEST} but missing from the bundle")
            continue
        actual = digests[name]
        if actual != digest:
            found.problems.append(f"{name}: differs from {MANIFEST} (sha256 {actual}, "
                                  f"listed {digest}): changed after the bundle was made")
    for name in sorted(set(digests) - set(listed) - {MANIFEST, SIGNATURE}):
        found.problems.append(f"{name}: in the bundle but not listed in {MANIFEST} (added?)")


def _check_signature(sums: bytes, sig_text: bytes, allowed: Sequence[AllowedSigner] | None,
                     identity: str | None, now: dt.datetime, found: _Found,
                     ) -> tuple[str | None, str | None]:
    try:
        sig = sshsig.parse(sig_text)
    except sshsig.SignatureError as exc:
        found.problems.append(f"{SIGNATURE}: {exc}")
        return None, None
    signer = sshsig.describe(sig.public_key)
    if sig.namespace != sshsig.NAMESPACE:
        found.problems.append(f"{SIGNATURE}: signed for namespace {sig.namespace!r}, not "
                              f"{sshsig.NAMESPACE!r}")
        return signer, None
    try:
        good = sig.verifies(sums)
    except sshsig.SignatureError as exc:
        found.problems.append(f"{SIGNATURE}: {exc}")
        return signer, None
    if not good:
        found.problems.append(f"{MANIFEST} or {SIGNATURE}: the signature by {signer} does "
                              "not match the manifest (one of the two was changed)")
        return signer, None
    if allowed is None:
        found.notes.append(f"signed by {signer}, but no --allowed-signers was given to say "
                           "whether that key may sign")
        return signer, None
    cert = sig.certificate
    if cert is not None:
        return _check_certificate(cert, allowed, identity, now, found)
    lines = [a for a in allowed if a.key == sig.public_key and not a.cert_authority]
    if not lines:
        found.problems.append(f"{SIGNATURE}: signed by {signer}, a key the allowed signers "
                              "file does not list")
        return signer, None
    return signer, _allowed_by(lines, signer, now, identity, found, lambda a: None)


def _allowed_by(lines: Sequence[AllowedSigner], signer: str, now: dt.datetime,
                identity: str | None, found: _Found,
                extra: Callable[[AllowedSigner], str | None]) -> str | None:
    """The principals of the first line that lets the signer sign now, or None (a problem
    saying why no line does)."""
    refusals = [(a, a.refusal(sshsig.NAMESPACE, now, identity) or extra(a)) for a in lines]
    ok = [a for a, why in refusals if why is None]
    if not ok:
        why = "; ".join(f"line {a.line}: {r}" for a, r in refusals)
        found.problems.append(f"{SIGNATURE}: signed by {signer}, which the allowed signers "
                              f"file does not allow here ({why})")
        return None
    return ok[0].principals


def _check_certificate(cert: sshcert.Certificate, allowed: Sequence[AllowedSigner],
                       identity: str | None, now: dt.datetime, found: _Found,
                       ) -> tuple[str | None, str | None]:
    """A signature by a certified key: as ssh-keygen, a cert-authority line must name the
    CA, the CA's signature must hold, and the certificate must be valid and name the
    principal (without -I: a principal the line's patterns match)."""
    ca = sshsig.describe(cert.ca_key)
    signer = (f"{sshsig.describe(cert.key)} (certificate {cert.key_id!r} by CA {ca})")
    try:
        genuine = sshsig.verifies(sshsig.public_key(cert.ca_key), cert.signed, cert.signature)
    except sshsig.SignatureError as exc:
        genuine, signer = False, f"{signer}: {exc}"
    if not genuine:
        found.problems.append(f"{SIGNATURE}: signed by {signer}, whose certificate the CA's "
                              "signature does not cover (forged?)")
        return signer, None
    lines = [a for a in allowed if a.cert_authority and a.key == cert.ca_key]
    if not lines:
        found.problems.append(f"{SIGNATURE}: signed by {signer}, a CA the allowed signers "
                              "file does not list as cert-authority")
        return signer, None

    def certified(line: AllowedSigner) -> str | None:
        if (why := cert.refusal(now, identity)) is not None:
            return why
        if identity is None and not any(matches(line.principals, p) for p in cert.principals):
            return f"its principals {line.principals!r} match none the certificate names"
        return None

    principals = _allowed_by(lines, signer, now, identity, found, certified)
    if principals is not None and identity is None:
        principals = ",".join(p for p in cert.principals if matches(principals, p))
    return signer, principals


def verify_files(files: Mapping[str, bytes], allowed: Sequence[AllowedSigner] | None, *,
                 identity: str | None = None, now: dt.datetime | None = None) -> Verification:
    """Check a bundle's files (name -> bytes) against its manifest and signature."""
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    kept = {name: files[name] for name in (MANIFEST, SIGNATURE) if name in files}
    return _verify(digests, kept, allowed, identity=identity, now=now)


def _verify(digests: Mapping[str, str], kept: Mapping[str, bytes],
            allowed: Sequence[AllowedSigner] | None, *, identity: str | None,
            now: dt.datetime | None, damaged: Sequence[str] = (),
            refused: Collection[str] = ()) -> Verification:
    found = _Found(problems=list(damaged))
    sums = kept.get(MANIFEST)
    if sums is None:
        if MANIFEST not in refused:
            found.problems.append(f"{MANIFEST}: missing, so nothing in the bundle can be "
                                  "checked")
        return Verification(0, None, None, None, tuple(found.problems))
    listed = _manifest(sums, found)
    _check_files(digests, listed, found, refused)
    signed_by = principals = None
    if SIGNATURE in kept:
        signed_by, principals = _check_signature(
            sums, kept[SIGNATURE], allowed, identity,
            now or dt.datetime.now(dt.UTC), found)
    elif SIGNATURE not in refused:
        found.notes.append(f"the bundle is not signed (no {SIGNATURE}): {MANIFEST} shows it "
                           "is intact, not who made it")
    return Verification(len(listed), hashlib.sha256(sums).hexdigest(), signed_by, principals,
                        tuple(found.problems), tuple(found.notes))


def verify_zip(path: Path, allowed: Sequence[AllowedSigner] | None, *,
               identity: str | None = None, shown: str | None = None) -> Verification:
    """Check the bundle zip at `path` (InputError when it is not a readable zip or inflates
    past the limits)."""
    read = zipread.read(path, shown or str(path), keep=(MANIFEST, SIGNATURE))
    return _verify(read.digests, read.kept, allowed, identity=identity, now=None,
                   damaged=read.problems, refused=read.refused)
