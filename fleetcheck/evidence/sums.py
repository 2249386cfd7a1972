"""Reading SHA256SUMS so that fleetcheck and an auditor's plain tools (docs/evidence.md:
`sha256sum --strict -c SHA256SUMS`, and `cut -c67- SHA256SUMS` for the names the zip must
hold) take every line to mean the same file and hash, or both refuse it.

A line is 64 hex digits (either case, as sha256sum compares them), a blank (space or tab),
` ` (text) or `*` (binary), and the name, ending at LF. Anything else (CRLF, an empty line, a
BOM, leading blanks, one blank only, sha256sum's escaped or BSD forms) is refused: the name
column would read differently to `cut`, or sha256sum would read it otherwise. A name must
be a file of the bundle: relative, with no empty, `.` or `..` part, listed once.
"""

from __future__ import annotations

import re

from fleetcheck.frozen import frozen

_LINE = re.compile(r"([0-9A-Fa-f]{64})[ \t][ *]([^\r\n\0]+)")


@frozen
class Manifest:
    """The files a manifest lists (name -> lowercase hex SHA-256) and what is wrong in it."""

    listed: dict[str, str]
    problems: tuple[str, ...]


def _bad_name(name: str, reserved: tuple[str, ...]) -> str | None:
    if name in reserved:
        return f"lists {name!r}, which the manifest cannot cover"
    if name.startswith("/") or any(p in ("", ".", "..") for p in name.split("/")):
        return f"lists {name!r}, not a plain path inside the bundle"
    return None


def read(data: bytes, manifest: str, reserved: tuple[str, ...]) -> Manifest:
    """The lines of a manifest (`manifest` is its name, used in problems); a problem naming
    the line for each one that is not in the form above or names no file of the bundle."""
    listed: dict[str, str] = {}
    problems: list[str] = []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the last line's LF (sha256sum also reads a last line without one)
    for n, raw in enumerate(lines, 1):
        try:
            match = _LINE.fullmatch(raw.decode("utf-8"))
        except UnicodeDecodeError:
            match = None
        if match is None:
            problems.append(f"{manifest}: line {n} is not 'SHA256  FILE' as sha256sum "
                            "writes it")
            continue
        digest, name = match.groups()
        if (why := _bad_name(name, reserved)) is not None:
            problems.append(f"{manifest}: line {n} {why}")
        elif name in listed:
            problems.append(f"{manifest}: line {n} lists {name!r} again")
        else:
            listed[name] = digest.lower()
    return Manifest(listed, tuple(problems))
