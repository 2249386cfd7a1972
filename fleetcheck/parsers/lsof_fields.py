"""`lsof -F` field output (e.g. `lsof -nP +c0 -iTCP -sTCP:LISTEN -F pcuLtPnTd`), any OS.

Each line is one field: a letter then its value (lsof escapes a newline in a command
name as \\n, so a name cannot start a field of its own). 'p' starts a process; its
command (c), uid (u) and login (L) follow. A file starts at 'f', or (when fd was
not requested) when a file field repeats. TCP state comes in 'TST=...'; without
it a TCP name with no '->' is taken as listening. Several lsof runs may simply be
concatenated (the probe lists TCP and UDP separately). With -F0 fields end in NULs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import ParseError, is_ip, lines
from fleetcheck.parsers.inet import listener_at, split_colon
from fleetcheck.parsers.lsof import messages, unescape

_PROCESS_FIELDS = set("pcuLgRK")  # K: a task (thread) set, kept with its process
_FILE_FIELDS = set("fatdDsoiklnPSTNMGZ")


@dataclass
class _File:
    """One file set of `lsof -F` output, its fields by letter."""

    fields: dict[str, str] = field(default_factory=dict)
    tcp_info: dict[str, str] = field(default_factory=dict)
    no: int = 0
    line: str = ""


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound, unconnected UDP files; one per (process, socket)."""
    return [li for _, li in parse_rows(text)]


def parse_rows(text: str) -> list[tuple[str, Listener]]:
    """`parse`'s listeners, each with its socket's device (d: the kernel's address of the
    socket, "" when not listed), which tells the processes holding one socket."""
    out: list[tuple[str, Listener]] = []
    seen: set[tuple[object, ...]] = set()
    process: dict[str, str] = {}
    current: _File | None = None

    def flush() -> None:
        if current is None:
            return
        listener = _listener(process, current)
        if listener is None:
            return
        key = (listener.pid, current.fields.get("d") or current.fields.get("f"),
               listener.proto, listener.family, listener.address, listener.port)
        if key not in seen:  # the same socket repeated per thread or per duplicated fd
            seen.add(key)
            out.append((current.fields.get("d", ""), listener))

    has_protocol = False  # a P field anywhere: lsof was asked for protocols
    socket_name: tuple[int, str] | None = None  # the first name that is a socket address
    text_lines = field_lines(text)
    if not any(line.strip() for line in text_lines):
        # lsof prints nothing both when no file matched and when it failed: an empty
        # text cannot say 'nothing listens' (the probe adds `-p $$` so that it never is).
        raise ParseError("empty output: no lsof -F fields (lsof prints nothing when it "
                         "matched no file or failed)")
    skip = messages(text_lines)  # lsof's warnings, captured with 2>&1
    for no, line in enumerate(text_lines, 1):
        if not line.strip() or no - 1 in skip:
            continue
        tag, value = line[0], line[1:]
        has_protocol = has_protocol or tag == "P"
        if tag == "n" and socket_name is None and _socket_address(value):
            socket_name = (no, line)
        if tag == "p":
            flush()
            current = None
            if not is_number(value):
                raise ParseError("pid field is not a number", no, line)
            process = {"p": value}
        elif tag in _PROCESS_FIELDS and current is None:
            if not process:
                raise ParseError("process field before any 'p' field", no, line)
            process[tag] = value
        elif tag in _FILE_FIELDS or tag in _PROCESS_FIELDS:
            if not process:
                raise ParseError("file field before any 'p' field", no, line)
            if current is None or tag == "f" or (tag in current.fields and tag != "T"):
                flush()
                current = _File(no=no, line=line)
            if tag == "T":
                key, _, val = value.partition("=")
                current.tcp_info[key] = val
            else:
                current.fields[tag] = value
        else:
            raise ParseError("not an lsof -F field line", no, line)
    flush()
    if not has_protocol and socket_name is not None:
        # Without P nothing tells TCP from UDP: reading no listener would pass an output
        # that cannot show them as 'nothing listens'.
        raise ParseError("a socket but no P (protocol) field: TCP cannot be told from UDP; "
                         "capture with -F pcnPtT", *socket_name)
    return out


def field_lines(text: str) -> list[str]:
    """One field a line. With -F0 lsof ends each field with a NUL instead of a newline, and
    each process's and file's set of fields with a newline; no field holds either (lsof
    escapes them in names), so both are field ends."""
    if "\0" in text:
        text = text.replace("\0\n", "\n").replace("\0", "\n")
    return lines(text)


def _socket_address(name: str) -> bool:
    """Whether an n field is an Internet socket's ('*:22', '[::1]:53', 'a:1->b:2'), not a
    path or another file's name."""
    try:
        ep = split_colon(name.split("->", 1)[0], "tcp")
    except ValueError:
        return False
    return ep.address == "*" or is_ip(ep.address)


def _listener(process: dict[str, str], f: _File) -> Listener | None:
    proto = f.fields.get("P", "").lower()
    name = f.fields.get("n", "")
    if proto not in ("tcp", "udp") or not name or "->" in name:
        return None
    state = f.tcp_info.get("ST")
    if proto == "tcp" and state is not None and state != "LISTEN":
        return None
    try:
        ep = split_colon(name.split(" ", 1)[0], proto)
    except ValueError as exc:
        raise ParseError(f"not a socket address ({exc})", f.no, f.line) from None
    kind = f.fields.get("t", "")
    family = 6 if kind == "IPv6" else 4 if kind == "IPv4" else None
    if family is None and ep.address == "*":
        # lsof prints '*' for both families' any-address: only t tells them apart.
        raise ParseError(f"{name!r} with no t (type) field: IPv4 cannot be told from IPv6; "
                         "capture with -F pcnPtT", f.no, f.line)
    # '*:*' (no port) is an unbound socket: listener_at gives None
    command = process.get("c")
    # lsof does not show IPV6_V6ONLY: an IPv6 wildcard may take IPv4 too (dual None)
    return listener_at(proto, ep, family, dual=None, pid=int(process["p"]),
                       process=unescape(command) if command is not None else None,
                       user=process.get("L") or process.get("u"))
