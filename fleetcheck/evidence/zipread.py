"""Reading a bundle zip as an auditor's `unzip` would see it, in bounded memory.

Every entry is a member that must be a plain file under one name: a directory, a link, a
name given twice, a second (Info-ZIP Unicode) name, a compression method or flag unzip and
Python do not both read is a problem naming the entry, not something skipped. Every byte of
the zip must belong to an entry or to the central directory, so that no tool finds content
(a prepended zip, overlapping entries, a name that runs past its record) fleetcheck did not
hash; when any does not, no entry is inflated (overlapping entries are how a small zip
inflates without end). Entries are hashed as they inflate: only SHA256SUMS and its
signature are kept.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib
from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.words import plural

MAX_ENTRY = 1 << 30  # refuse to inflate an entry past 1 GiB (a zip bomb is bad input)
MAX_TOTAL = 2 << 30  # nor the whole bundle past 2 GiB
MAX_KEPT = 16 << 20  # SHA256SUMS and its signature are read into memory up to 16 MiB
_CHUNK = 1 << 20
# Methods both Info-ZIP unzip 6.0 and Python's zipfile read (fleetcheck writes deflate).
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
            zipfile.ZIP_BZIP2: "bzip2"}
# Flag bits that change how an entry must be read: encrypted (0), compressed patched data
# (5), strong encryption (6). Bit 3 (sizes in a trailing descriptor) and 11 (UTF-8) are fine.
_REFUSED_FLAGS = {0x1: "encrypted", 0x20: "patched data", 0x40: "strongly encrypted"}
_UNICODE_PATH = 0x7075  # Info-ZIP's second name for an entry, which unzip extracts it as
_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_ENDS = (b"PK\x05\x06", b"PK\x06\x06")  # end of central directory (zip64 too)


@frozen
class Contents:
    """What a bundle zip holds: each plain file's SHA-256, the kept files' bytes, and a
    problem for each entry (or stretch of bytes) that is not as a bundle should be."""

    digests: dict[str, str]
    kept: dict[str, bytes]
    problems: tuple[str, ...]
    refused: frozenset[str]  # entry names already named by a problem


def _extra_names(extra: bytes) -> list[str]:
    """The Info-ZIP Unicode path names an extra field holds."""
    names = []
    while len(extra) >= 4:
        tag, size = struct.unpack("<HH", extra[:4])
        body = extra[4:4 + size]
        if tag == _UNICODE_PATH and len(body) >= 5:
            names.append(body[5:].decode("utf-8", "replace"))
        extra = extra[4 + size:]
    return names


def _has_zip64(extra: bytes) -> bool:
    """True when an extra field holds a zip64 record."""
    while len(extra) >= 4:
        tag, size = struct.unpack("<HH", extra[:4])
        if tag == 0x0001:
            return True
        extra = extra[4 + size:]
    return False


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry is not a plain file both unzip and Python read the same way, or None."""
    mode = info.external_attr >> 16
    if info.is_dir():
        return "a directory entry, which SHA256SUMS does not list (added?)"
    if mode and (mode & 0o170000) not in (0, 0o100000):
        return f"not a regular file in the zip (mode {mode:o}: a link or special file?)"
    if info.compress_type not in _METHODS:
        return (f"compressed with method {info.compress_type}, which unzip or Python cannot "
                f"read (a bundle uses {', '.join(_METHODS.values())})")
    for bit, what in _REFUSED_FLAGS.items():
        if info.flag_bits & bit:
            return f"{what} in the zip: it cannot be checked"
    for other in _extra_names(info.extra):
        if other != info.filename:
            return f"the zip also names it {other!r}, and unzip extracts it under that name"
    return None


def _layout(f: BinaryIO, z: zipfile.ZipFile) -> list[str]:
    """Problems with bytes the entries and central directory do not account for."""
    problems: list[str] = []
    infos = sorted(z.infolist(), key=lambda i: i.header_offset)
    at = 0
    for info in infos:
        if info.header_offset > at:
            problems.append(f"{info.filename}: {plural(info.header_offset - at, 'byte')} before it "
                            "belong to no entry (another zip inside?)")
        elif info.header_offset < at:
            inside = plural(at - info.header_offset, "byte")
            problems.append(f"{info.filename}: starts {inside} inside "
                            "the entry before it (overlapping entries: a zip bomb, or a "
                            "damaged zip)")
        f.seek(info.header_offset)
        head = f.read(30)
        if len(head) < 30 or head[:4] != _LOCAL:
            problems.append(f"{info.filename}: its local header is missing")
            return problems
        n, m = struct.unpack("<HH", head[26:30])
        f.seek(info.header_offset + 30 + n)
        extra = f.read(m)
        for other in _extra_names(extra):
            if other != info.filename:
                problems.append(f"{info.filename}: the zip also names it {other!r}, and unzip "
                                "extracts it under that name")
        at = info.header_offset + 30 + n + m + info.compress_size
        if info.flag_bits & 0x8:  # a data descriptor: [signature] crc, then 4- or 8-byte sizes
            f.seek(at)
            tail = f.read(24)
            skip = 4 if tail[:4] == b"PK\x07\x08" else 0
            # sizes are 8 bytes each when the local header carries a zip64 field (APPNOTE)
            at += skip + (20 if _has_zip64(extra) else 12)
    if at != z.start_dir:
        problems.append(f"{plural(z.start_dir - at, 'byte')} between the last entry and "
                        "the central directory belong to no entry")
    # Walk the central directory by its own lengths: a name or extra field running past its
    # record reads one way to Python (cut at the directory's end) and another to unzip.
    f.seek(z.start_dir)
    pos = z.start_dir
    for _ in infos:
        record = f.read(46)
        if len(record) < 46 or record[:4] != _CENTRAL:
            problems.append("the zip's central directory does not hold its entries")
            return problems
        n, m, k = struct.unpack("<HHH", record[28:34])
        pos += 46 + n + m + k
        f.seek(pos)
    problems += _end_records(f, pos)
    return problems


def _end_records(f: BinaryIO, pos: int) -> list[str]:
    """Problems with the end records after the central directory: they must follow it and
    number their disk 0 (unzip reads any other number as a part of a split archive, which
    Python reads as whole; both ignore the entry counts)."""
    f.seek(pos)
    head = f.read(56)
    disks: tuple[int, ...] = ()
    if head[:4] == _ENDS[1]:  # zip64: end record, locator, then the classic end record
        (size,) = struct.unpack("<Q", head[4:12])
        disks = struct.unpack("<II", head[16:24])
        f.seek(pos + 12 + size)
        locator = f.read(20)
        if locator[:4] != b"PK\x06\x07":
            return ["the zip's central directory records do not add up to it"]
        disks += struct.unpack("<I", locator[4:8])
        head = f.read(22)
    if head[:4] != _ENDS[0]:
        return ["the zip's central directory records do not add up to it"]
    classic = struct.unpack("<HH", head[4:8])
    if any(disks) or any(d not in (0, 0xFFFF if disks else 0) for d in classic):
        return ["the zip says it is one part of a split archive (unzip reads it so, Python "
                "does not)"]
    return []


def _stream(z: zipfile.ZipFile, info: zipfile.ZipInfo, keep: bool, budget: int,
            shown: str) -> tuple[str, bytes | None, int]:
    """The entry's SHA-256, its bytes when kept, and how many bytes it inflated to."""
    digest = hashlib.sha256()
    kept = bytearray() if keep else None
    size = 0
    with z.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > MAX_ENTRY or size > budget:
                limit = "1 GiB" if size > MAX_ENTRY else "the bundle's 2 GiB"
                raise InputError(f"{info.filename!r} inflates past {limit} (a zip bomb?)",
                                 shown)
            digest.update(chunk)
            if kept is not None:
                if len(kept) + len(chunk) > MAX_KEPT:
                    raise InputError(f"{info.filename!r} is larger than 16 MiB", shown)
                kept += chunk
    return digest.hexdigest(), None if kept is None else bytes(kept), size


def read(path: Path, shown: str, keep: Collection[str]) -> Contents:
    """Read the bundle zip at `path`, keeping the bytes of the entries named in `keep`;
    InputError when it is no zip at all or inflates past the limits."""
    digests: dict[str, str] = {}
    kept: dict[str, bytes] = {}
    problems: list[str] = []
    refused: set[str] = set()
    try:
        with path.open("rb") as f, zipfile.ZipFile(f) as z:
            infos = z.infolist()
            problems += _layout(f, z)
            if problems:  # entries sharing bytes can inflate without end: read none of them
                names = frozenset(i.filename for i in infos)
                return Contents({}, {}, tuple(dict.fromkeys(problems)), names)
            # Python inflates no entry past its declared size: refuse on those at once
            for info in infos:
                if info.file_size > MAX_ENTRY:
                    raise InputError(f"{info.filename!r} inflates past 1 GiB (a zip bomb?)",
                                     shown)
            if sum(i.file_size for i in infos) > MAX_TOTAL:
                raise InputError("the zip inflates past 2 GiB in all (a zip bomb?)", shown)
            counts: dict[str, int] = {}
            for info in infos:
                counts[info.filename] = counts.get(info.filename, 0) + 1
            budget = MAX_TOTAL
            for info in infos:
                name = info.filename
                if counts[name] > 1:
                    if name not in refused:
                        problems.append(f"{name}: in the zip {counts[name]} times (tools differ "
                                        "on which copy they extract)")
                    refused.add(name)
                    continue
                why = _entry_problem(info)
                if why is not None:
                    problems.append(f"{name}: {why}")
                    refused.add(name)
                    continue
                try:
                    digest, data, size = _stream(z, info, name in keep, budget, shown)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                        NotImplementedError, ValueError) as exc:
                    problems.append(f"{name}: damaged in the zip ({exc})")
                    refused.add(name)
                    continue
                budget -= size
                digests[name] = digest
                if data is not None:
                    kept[name] = data
    except (zipfile.BadZipFile, OSError, ValueError, struct.error) as exc:
        raise InputError(f"not a readable zip: {getattr(exc, 'strerror', None) or exc}",
                         shown) from None
    # an entry's local and central records can both give it a second name: say it once
    return Contents(digests, kept, tuple(dict.fromkeys(problems)), frozenset(refused))
