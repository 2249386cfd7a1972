"""Text input files as every reader here takes them: bounded, UTF-8, refused at file:line.

Editors and tools hand over files in other encodings: a Latin-1 byte in a value, a
file saved as UTF-16. Such a file is one located InputError (exit 2) naming the line
of the first byte that is not UTF-8, never a decoder's traceback text. Formats whose
own tools skip comment lines as bytes (OpenSSH's files, Ansible's INI) take `comment`
to tolerate any byte there, as those tools do.
"""

from __future__ import annotations

from collections.abc import Callable

from fleetcheck.bounded import read_bounded
from fleetcheck.errors import InputError

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"


def where_not_utf8(raw: bytes, start: int) -> tuple[int, int]:
    """The 1-based line and column (in characters) of byte `start` of `raw`."""
    line_start = raw.rfind(b"\n", 0, start) + 1
    return (raw.count(b"\n", 0, start) + 1,
            len(raw[line_start:start].decode("utf-8", "replace")) + 1)


def _refusal(raw: bytes, start: int) -> tuple[str, int]:
    """The message and 1-based line for `raw`, not UTF-8 from byte `start` on."""
    if raw.startswith(UTF16_BOMS):  # what Windows tools call "Unicode": worth naming
        return "file is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8", 1
    line, column = where_not_utf8(raw, start)
    return f"file is not UTF-8 text (byte 0x{raw[start]:02X} at column {column})", line


def utf8_text(raw: bytes, path: str) -> str:
    """`raw`, the bytes of `path`, as text; InputError at the line of the first non-UTF-8 byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message, line = _refusal(raw, exc.start)
        raise InputError(message, path, line) from None


def utf8_lines(raw: bytes, path: str, comment: Callable[[bytes], bool]) -> list[str]:
    """`raw`'s lines (as str.splitlines splits them) as text, a line for which
    `comment(line)` holds read as empty whatever its bytes; InputError at the first other
    line that is not UTF-8."""
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        pass
    if raw.startswith(UTF16_BOMS):
        raise InputError(_refusal(raw, 0)[0], path, 1)
    lines: list[str] = []
    # Split as str.splitlines would split the text (\r, \n, \r\n; \x0b, \x0c, \x1c-\x1e are
    # ASCII too), so line numbers agree with a file that decodes.
    for line in raw.splitlines():
        if comment(line):
            lines.append("")
            continue
        try:
            lines.extend(line.decode("utf-8").splitlines() or [""])
        except UnicodeDecodeError as exc:
            message, _ = _refusal(line, exc.start)
            raise InputError(message, path, len(lines) + 1) from None
    return lines


def read_text(path: str, limit: int, what: str, shown: str | None = None) -> str:
    """The text of `path` (a file, a FIFO, /dev/stdin), at most `limit` bytes, as UTF-8;
    InputError naming it (as `shown`, if given) when unreadable, too large or not UTF-8."""
    shown = shown or path
    return utf8_text(read_bounded(path, limit, what, shown), shown)
