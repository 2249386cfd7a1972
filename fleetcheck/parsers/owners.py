"""Owner tables that name the processes behind another tool's listeners.

They list no listeners themselves: OpenBSD `fstat` (which process holds which
socket), AIX `rmsock` (which process holds a socket found by `netstat -Aan`);
Windows `tasklist` lives with the Windows netstat parser.
"""

from __future__ import annotations

from fleetcheck.frozen import frozen
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import ParseError, lines, tokens
from fleetcheck.parsers.inet import resolve_host, split_colon


@frozen
class Owner:
    """A process holding a socket."""

    pid: int
    process: str | None
    user: str | None = None


# OpenBSD: USER(8) CMD(10, may overflow) PID FD[*] internet[6] TYPE PROTO [pcb] ADDR[ arrow PEER]
_FSTAT_FD = ("text", "wd", "root", "tr", "jail", "mmap")
_INTERNET = ("internet", "internet6")
# A command fstat prints is short (OpenBSD keeps 24 characters of it): a line broken by
# a name that holds a newline is read with the next one while the command stays this short.
_FSTAT_CMD_MAX = 64
_HELD_BY = "held by proc"

SocketKey = tuple[str, int, str, int]  # proto, family, address, port


@frozen
class _FstatSocket:
    """One socket of fstat's table: its owner and whether it is IPv6."""

    user: str
    cmd: str
    pid: int
    six: bool
    proto: str
    rest: list[str]  # the words after the protocol: [pcb] address [arrow peer]


def _fd_like(word: str, words: tuple[str, ...] = ("text", "wd", "root", "tr")) -> bool:
    fd = word.removesuffix("*")
    return is_number(fd) or fd in words


def _fstat_line(line: str) -> _FstatSocket | bool:
    """One fstat line: a socket, True for another file, False if it is no fstat line.

    Read by words: the last 'internet' word is the file type (the address and peer
    after it hold none), so a command name holding the word changes nothing.
    """
    toks = tokens(line)
    for k in range(len(toks) - 3, 2, -1):
        if toks[k].text in _INTERNET and _fd_like(toks[k - 1].text) \
                and is_number(toks[k - 2].text):
            cmd = line[toks[0].end:toks[k - 2].start].strip(" ")
            if not cmd.strip() or len(cmd) > _FSTAT_CMD_MAX:
                return False
            return _FstatSocket(toks[0].text, cmd, int(toks[k - 2].text),
                                toks[k].text.endswith("6"), toks[k + 2].text,
                                [t.text for t in toks[k + 3:]])
    for i in range(2, len(toks) - 1):
        if is_number(toks[i].text) \
                and _fd_like(toks[i + 1].text, _FSTAT_FD):
            return True
    return False


def parse_fstat(text: str) -> dict[SocketKey, list[Owner]]:
    """(proto, family, address, port) -> holders, for unconnected tcp/udp sockets in fstat."""
    owners: dict[SocketKey, list[Owner]] = {}
    header = False
    held: tuple[int, str] | None = None  # a line a name broke: its number and first part
    for no, line in enumerate(lines(text), 1):
        if not line.strip():
            continue
        if held is None and line.split()[:3] == ["USER", "CMD", "PID"]:
            header = True
            continue
        first_no, line_of = (held[0], f"{held[1]}\n{line}") if held else (no, line)
        found = _fstat_line(line_of)
        if found is False:
            if held is None:
                held = (no, line)
                continue
            raise ParseError("not an fstat line", first_no, line_of)
        held = None
        if found is True:
            continue  # files, pipes, UNIX sockets...
        words = found.rest
        if found.proto not in ("tcp", "udp"):
            continue
        if words and words[0].startswith("0x"):
            words = words[1:]  # the TCP control block address
        if not words or any(w in ("-->", "<--", "<->") for w in words[1:2]):
            continue  # connected: not a listener
        try:
            ep = split_colon(words[0], found.proto)
        except ValueError as exc:
            raise ParseError(f"not an fstat socket address ({exc})", first_no, line_of) from None
        if ep.port is None:
            continue
        address, family, _ = resolve_host(ep.address, 6 if found.six else 4, False)
        owners.setdefault((found.proto, family, address, ep.port), []).append(
            Owner(found.pid, found.cmd, found.user))
    if held is not None:
        raise ParseError("not an fstat line", held[0], held[1])
    if not header and not owners:
        raise ParseError("no fstat header and no socket lines")
    return owners


def _rmsock_holder(record: str) -> Owner | None:
    """The holder an rmsock message names ('... held by proccess 123 (name).'), or None.

    The name runs to the record's last ')': it may hold parentheses and newlines.
    """
    at = record.find(_HELD_BY)
    if at < 0:
        return None
    rest = record[at + len(_HELD_BY):].lstrip("c")  # AIX spells it 'proccess'
    if not rest.startswith("ess"):
        return None
    rest = rest[3:].lstrip()
    pid = rest[:len(rest) - len(rest.lstrip("0123456789"))]
    opening, closing = rest.find("("), rest.rfind(")")
    if not pid or opening < 0 or closing < opening or rest[len(pid):opening].strip():
        return None
    return Owner(int(pid), rest[opening + 1:closing] or None)


def parse_rmsock(text: str) -> dict[str, Owner]:
    """netstat -A kernel address -> holder, from the probe's 'ADDR <rmsock message>' lines.

    A record starts with a kernel address; a line that does not is the rest of a name
    holding a newline. An address named twice (a name can mimic a record) names nobody.
    """
    records: list[list[str]] = []
    for line in lines(text):
        first = line.split(None, 1)[:1]
        if (first and len(first[0]) >= 8 and _is_hex(first[0])) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    owners: dict[str, Owner] = {}
    seen: set[str] = set()
    for record in records:
        text_of = "\n".join(record).strip()
        addr = text_of.split(None, 1)[:1]
        holder = _rmsock_holder(text_of) if addr else None
        if not addr or holder is None:
            continue  # sockets nobody holds, or rmsock errors, name nobody
        if addr[0] in seen:
            owners.pop(addr[0], None)
            continue
        seen.add(addr[0])
        owners[addr[0]] = holder
    return owners


def _is_hex(word: str) -> bool:
    return word.isascii() and all(c in "0123456789abcdefABCDEF" for c in word.removeprefix("0x"))


def parse_passwd(text: str) -> dict[int, str]:
    """uid -> user name from passwd(5) lines (`getent passwd` or /etc/passwd); the first wins.

    Lines that are not passwd entries (NIS '+' escapes, comments, blanks) are skipped:
    names only enrich listeners, so an odd line costs a name, never the host.
    """
    names: dict[int, str] = {}
    for line in lines(text):
        fields = line.split(":")
        if len(fields) >= 7 and fields[0] and is_number(fields[2]) \
                and not fields[0].startswith(("+", "-", "#")):
            names.setdefault(int(fields[2]), fields[0])
    return names
