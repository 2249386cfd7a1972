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
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fleetcheck.errors import InputError
from fleetcheck.evidence import sshsig
from fleetcheck.evidence.bundle import MANIFEST, SIGNATURE
from fleetcheck.evidence.signers import AllowedSigner

_LINE = re.compile(r"([0-9a-f]{64}) [ *]([A-Za-z0-9._/-]+)")
MAX_ENTRY = 1 << 30  # refuse to inflate an entry past 1 GiB (a zip bomb is bad input)


class Outcome(enum.IntEnum):
    """The exit status of `fleetcheck verify`."""

    VERIFIED = 0
    FAILED = 1
    NOT_PROVEN = 3


@dataclass(frozen=True, slots=True)
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
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_zip(path: Path, shown: str) -> tuple[dict[str, bytes], list[str]]:
    """The files of a bundle zip, and a problem for each entry that is damaged or not a plain
    file; InputError when it is no zip at all or names an entry twice."""
    files: dict[str, bytes] = {}
    problems: list[str] = []
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                name = info.filename
                if info.is_dir():
                    continue
                if name in files:
                    raise InputError(f"the zip holds {name!r} twice", shown)
                mode = info.external_attr >> 16
                if mode and (mode & 0o170000) not in (0, 0o100000):
                    problems.append(f"{name}: not a regular file in the zip (a link?)")
                    continue
                if info.file_size > MAX_ENTRY:
                    raise InputError(f"{name!r} inflates to {info.file_size} bytes", shown)
                try:
                    files[name] = z.read(info)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                    problems.append(f"{name}: damaged in the zip ({exc})")
                    files[name] = b""
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable zip: {getattr(exc, 'strerror', None) or exc}",
                         shown) from None
    return files, problems


def _manifest(data: bytes, found: _Found) -> dict[str, str] | None:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        found.problems.append(f"{MANIFEST}: not a sha256sum manifest (not ASCII)")
        return None
    if not text.endswith("\n"):
        found.problems.append(f"{MANIFEST}: its last line is cut short")
    listed: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _LINE.fullmatch(line)
        if m is None:
            found.problems.append(f"{MANIFEST}: line {n} is not 'SHA256  FILE'")
            continue
        digest, name = m.groups()
        if name in listed or name in (MANIFEST, SIGNATURE) or ".." in name.split("/"):
            found.problems.append(f"{MANIFEST}: line {n} lists {name!r} again or wrongly")
            continue
        listed[name] = digest
    return listed


def _check_files(files: Mapping[str, bytes], listed: Mapping[str, str], found: _Found) -> None:
    for name, digest in sorted(listed.items()):
        if name not in files:
            found.problems.append(f"{name}: listed in {MANIFEST} but missing from the bundle")
            continue
        actual = hashlib.sha256(files[name]).hexdigest()
        if actual != digest:
            found.problems.append(f"{name}: differs from {MANIFEST} (sha256 {actual}, "
                                  f"listed {digest}): changed after the bundle was made")
    for name in sorted(set(files) - set(listed) - {MANIFEST, SIGNATURE}):
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
    lines = [a for a in allowed if a.key == sig.public_key]
    if not lines:
        found.problems.append(f"{SIGNATURE}: signed by {signer}, a key the allowed signers "
                              "file does not list")
        return signer, None
    refusals = [(a, a.refusal(sshsig.NAMESPACE, now, identity)) for a in lines]
    ok = [a for a, why in refusals if why is None]
    if not ok:
        why = "; ".join(f"line {a.line}: {r}" for a, r in refusals)
        found.problems.append(f"{SIGNATURE}: signed by {signer}, which the allowed signers "
                              f"file does not allow here ({why})")
        return signer, None
    return signer, ok[0].principals


def verify_files(files: Mapping[str, bytes], allowed: Sequence[AllowedSigner] | None, *,
                 identity: str | None = None, now: dt.datetime | None = None,
                 damaged: Sequence[str] = ()) -> Verification:
    """Check a bundle's files (name -> bytes) against its manifest and signature."""
    found = _Found(problems=list(damaged))
    sums = files.get(MANIFEST)
    if sums is None:
        found.problems.append(f"{MANIFEST}: missing, so nothing in the bundle can be checked")
        return Verification(0, None, None, None, tuple(found.problems))
    listed = _manifest(sums, found) or {}
    _check_files(files, listed, found)
    signed_by = principals = None
    if SIGNATURE in files:
        signed_by, principals = _check_signature(
            sums, files[SIGNATURE], allowed, identity,
            now or dt.datetime.now(dt.UTC), found)
    else:
        found.notes.append(f"the bundle is not signed (no {SIGNATURE}): {MANIFEST} shows it "
                           "is intact, not who made it")
    return Verification(len(listed), hashlib.sha256(sums).hexdigest(), signed_by, principals,
                        tuple(found.problems), tuple(found.notes))


def verify_zip(path: Path, allowed: Sequence[AllowedSigner] | None, *,
               identity: str | None = None, shown: str | None = None) -> Verification:
    """Check the bundle zip at `path` (InputError when it is not a readable zip)."""
    files, damaged = read_zip(path, shown or str(path))
    return verify_files(files, allowed, identity=identity, damaged=damaged)
