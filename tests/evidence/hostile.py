"""Hostile bundle zips for the verify tests: real zip files written entry by entry (names,
modes, methods, extra fields as given), then patched byte by byte where zipfile cannot
write what an attacker can (a flag, a method, a name length)."""

from __future__ import annotations

import io
import struct
import subprocess
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

WHEN = (2030, 6, 1, 2, 0, 0)
LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"


@dataclass(frozen=True)
class Entry:
    """One zip entry as written."""

    name: str
    data: bytes
    mode: int = 0o100644
    method: int = zipfile.ZIP_DEFLATED
    extra: bytes = b""
    system: int = 3  # made by: 3 Unix, 0 MS-DOS


def entries(files: Mapping[str, bytes]) -> list[Entry]:
    """The files as plain entries, in order."""
    return [Entry(n, d) for n, d in files.items()]


def build(items: Iterable[Entry], comment: bytes = b"") -> bytes:
    """The zip of `items`, duplicates and all."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": on purpose here
        for e in items:
            info = zipfile.ZipInfo(e.name, date_time=WHEN)
            info.external_attr = e.mode << 16
            info.compress_type = e.method
            info.create_system = e.system
            info.extra = e.extra
            z.writestr(info, e.data)
        z.comment = comment
    return buf.getvalue()


def unicode_path(name: str, other: str) -> bytes:
    """An Info-ZIP Unicode path extra field naming the entry `name` as `other`."""
    body = b"\x01" + struct.pack("<I", zlib.crc32(name.encode())) + other.encode()
    return struct.pack("<HH", 0x7075, len(body)) + body


def patch_headers(zip_bytes: bytes, name: str, offset_local: int, offset_central: int,
                  value: int) -> bytes:
    """Set a 16-bit field of `name`'s local header and central record (flags: 6 and 8,
    method: 8 and 10)."""
    b = bytearray(zip_bytes)
    raw = name.encode()
    local = b.index(LOCAL)
    while b[local + 30:local + 30 + len(raw)] != raw:
        local = b.index(LOCAL, local + 4)
    central = b.index(CENTRAL)
    while b[central + 46:central + 46 + len(raw)] != raw:
        central = b.index(CENTRAL, central + 4)
    struct.pack_into("<H", b, local + offset_local, value)
    struct.pack_into("<H", b, central + offset_central, value)
    return bytes(b)


def auditor_check(script: str, zip_bytes: bytes, allowed: Path, where: Path) -> int:
    """docs/evidence.md's plain-tools check, run by bash as written against `zip_bytes`
    (unzip answering every question, as a fresh directory asks none): 0 when it passes, its
    exit status (or 1 when the zip's file list differs from the manifest's) when not."""
    where.mkdir(parents=True)
    (where / "evidence.zip").write_bytes(zip_bytes)
    (where / "allowed_signers").write_bytes(allowed.read_bytes())
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c",
                           script.replace("unzip -q", "unzip -o -q")],
                          cwd=where, capture_output=True, stdin=subprocess.DEVNULL,
                          timeout=60, check=False)
    if done.returncode == 0 and b"no file added or missing" not in done.stdout:
        return 1  # the diff printed what differs (its `&&` is not caught by -e)
    return done.returncode


def overlap_bomb(copies: int, size: int) -> bytes:
    """A zip whose central directory names one deflated entry of `size` zero bytes `copies`
    times over (each record under its own name): a reader that trusts the records inflates
    copies x size bytes."""
    one = build([Entry("f0000", b"\0" * size)])
    cd = one.index(CENTRAL)
    end = one.index(b"PK\x05\x06")
    record = one[cd:end]
    records = b"".join(record.replace(b"f0000", f"f{i:04d}".encode()) for i in range(copies))
    eocd = bytearray(one[end:])
    struct.pack_into("<HHII", eocd, 8, copies, copies, len(records), cd)
    return one[:cd] + records + bytes(eocd)
